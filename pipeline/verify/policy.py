"""Who may sign: `Signer` entries mapped onto sigstore's verification policies, with diagnostics people can act on.

Exact fields use sigstore's own policies (Identity, OIDCIssuer/V2, GitHubWorkflowRepository/Trigger/SHA and
their OIDC* successors); identity patterns, ref globs and workflow paths use the small classes below, which read
the certificate themselves. A policy that would accept anyone is a `ConfigError` (exit 2).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sigstore.errors import VerificationError

from pipeline._compat import regex_parser
from pipeline.config import Signer
from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

# A pattern pins a signer when every identity it can match starts with https://HOST/OWNER/REPO/ (a GitHub
# Actions identity is the workflow's URI inside its repository), or is one exact identity (an e-mail address).
_PINNED_PREFIX = re.compile(r"https?://[^/]+/[^/]+/[^/]+/")
_MAX_ALTERNATIVES = 64


class _Open(Exception):
    """The pattern has more literal alternatives than the guard will enumerate."""


def _literal_prefixes(items: Any, start: list[str], closed: list[str]) -> list[str]:
    """Walk a parsed regex: extend every literal prefix in `start`; a prefix that reaches anything other than
    literal text goes to `closed`. Returns the prefixes that reached the end (exact identities)."""
    _, c = regex_parser()
    repeats = tuple(
        getattr(c, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(c, name)
    )
    current = list(start)
    for op, arg in items:
        if not current:
            break
        if op is c.LITERAL:
            current = [p + chr(arg) for p in current]
        elif op is c.IN and arg and all(o is c.LITERAL for o, _ in arg):
            current = [p + chr(v) for p in current for _, v in arg]
        elif op is c.SUBPATTERN:
            current = _literal_prefixes(arg[-1], current, closed)
        elif op is c.BRANCH:
            current = [q for branch in arg[1] for q in _literal_prefixes(branch, current, closed)]
        elif op in repeats and arg[0] == arg[1] == 1:
            current = _literal_prefixes(arg[2], current, closed)
        elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue  # zero-width: matches no more than without it
        else:
            closed.extend(current)
            current = []
        if len(current) + len(closed) > _MAX_ALTERNATIVES:
            raise _Open
    return current


def pattern_pins_identity(pattern: str) -> str | None:
    """None when every identity `pattern` can fully match is pinned to an owner/repository or spelled out
    exactly; otherwise what it leaves open (the start an attacker's identity would need)."""
    parser, _ = regex_parser()
    try:
        closed: list[str] = []
        _literal_prefixes(parser.parse(pattern), [""], closed)
    except _Open:
        return f"more than {_MAX_ALTERNATIVES} literal alternatives, too many to check"
    loose = [prefix for prefix in closed if not _PINNED_PREFIX.match(prefix.lower())]
    return f"any identity that starts with {min(loose, key=len)!r}" if loose else None


def check_signers(signers: Sequence[Signer], *, where: str = "verify.signers") -> None:
    """Refuse a policy that would accept anyone (no signer, no issuer, or nothing that pins an identity)."""
    if not signers:
        raise ConfigError(
            "no allowed signer: a policy without one would accept anyone; pass --identity and --issuer, "
            "or --repository, or set verify.signers in the policy",
            where=where,
        )
    for index, signer in enumerate(signers):
        here = f"{where}[{index}]" if len(signers) > 1 or where == "verify.signers" else where
        if not signer.issuer:
            raise ConfigError("a signer needs an issuer (else any identity provider would do)", where=here)
        if not (signer.identity or signer.identity_pattern or signer.repository):
            raise ConfigError(
                f"this signer would accept anyone with a token from {signer.issuer}: "
                "name an identity, an identity_pattern or a repository",
                where=here,
            )
        if signer.identity_pattern:
            try:
                re.compile(signer.identity_pattern)
            except re.error as exc:
                raise ConfigError(
                    f"identity_pattern is not a valid regular expression: {exc}", where=here
                ) from None
        if signer.identity_pattern and not signer.identity and not signer.repository:
            loose = pattern_pins_identity(signer.identity_pattern)
            if loose is not None:
                raise ConfigError(
                    f"identity_pattern {signer.identity_pattern!r} would accept anyone ({loose}): it must pin "
                    "an owner and repository "
                    "(https://github\\.com/OWNER/REPO/...) or spell each identity out exactly",
                    where=here,
                )
        if signer.repository and not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", signer.repository):
            raise ConfigError(f"repository {signer.repository!r} is not OWNER/NAME", where=here)


def _policy_error(message: str) -> Exception:
    return VerificationError(message)


class IdentityPattern:
    """The certificate's SAN matches a regular expression, anchored at both ends."""

    def __init__(self, pattern: str) -> None:
        self._pattern = re.compile(pattern)

    def verify(self, cert: Certificate) -> None:
        from pipeline.verify.certificate import san_values

        if not any(self._pattern.fullmatch(v) for v in san_values(cert)):
            raise _policy_error(f"no identity matches {self._pattern.pattern}")


class RefGlob:
    """The GitHub ref (1.6, or 1.14) matches a glob such as `refs/tags/v*`."""

    def __init__(self, glob: str) -> None:
        self._glob = glob

    def verify(self, cert: Certificate) -> None:
        from pipeline.verify.certificate import signer_facts

        ref = signer_facts(cert).ref
        if ref is None or not fnmatch.fnmatchcase(ref, self._glob):
            raise _policy_error(f"ref {ref} does not match {self._glob}")


class WorkflowPath:
    """The signing workflow's path inside its repository, e.g. `.github/workflows/release.yml`."""

    def __init__(self, path: str) -> None:
        self._path = normalize_workflow(path)

    def verify(self, cert: Certificate) -> None:
        from pipeline.verify.certificate import signer_facts

        if signer_facts(cert).workflow != self._path:
            raise _policy_error(f"workflow is not {self._path}")


def normalize_workflow(path: str) -> str:
    path = path.strip().removeprefix("./")
    return path if "/" in path else f".github/workflows/{path}"


class SignerPolicy:
    """One allowed signer: every field it names must match (sigstore's AllOf), else a precise diagnostic."""

    def __init__(self, signer: Signer) -> None:
        from sigstore.verify import policy as sp

        self.signer = signer
        children: list[Any] = []
        if signer.issuer:
            children.append(sp.AnyOf([sp.OIDCIssuer(signer.issuer), sp.OIDCIssuerV2(signer.issuer)]))
        if signer.identity:
            children.append(sp.Identity(identity=signer.identity))
        if signer.identity_pattern:
            children.append(IdentityPattern(signer.identity_pattern))
        if signer.repository:
            children.append(
                sp.AnyOf(
                    [
                        sp.GitHubWorkflowRepository(signer.repository),
                        sp.OIDCSourceRepositoryURI(f"https://github.com/{signer.repository}"),
                    ]
                )
            )
        if signer.workflow:
            children.append(WorkflowPath(signer.workflow))
        if signer.ref:
            children.append(RefGlob(signer.ref))
        if signer.trigger:
            children.append(
                sp.AnyOf([sp.GitHubWorkflowTrigger(signer.trigger), sp.OIDCBuildTrigger(signer.trigger)])
            )
        if signer.sha:
            children.append(
                sp.AnyOf([sp.GitHubWorkflowSHA(signer.sha), sp.OIDCSourceRepositoryDigest(signer.sha)])
            )
        self._policy = sp.AllOf(children)

    def mismatches(self, cert: Certificate) -> list[str]:
        from pipeline.verify.certificate import san_values, signer_facts

        facts = signer_facts(cert)
        s = self.signer
        out: list[str] = []
        if s.issuer and facts.issuer != s.issuer:
            out.append(f"issuer is {facts.issuer}, policy allows {s.issuer}")
        sans = san_values(cert)
        if s.identity and s.identity not in sans:
            out.append(f"identity is {facts.identity}, policy allows {s.identity}")
        if s.identity_pattern and not any(re.fullmatch(s.identity_pattern, v) for v in sans):
            out.append(f"identity is {facts.identity}, policy allows pattern {s.identity_pattern}")
        if s.repository and facts.repository != s.repository:
            out.append(f"repository is {facts.repository}, policy allows {s.repository}")
        if s.workflow and facts.workflow != normalize_workflow(s.workflow):
            out.append(f"workflow is {facts.workflow}, policy allows {normalize_workflow(s.workflow)}")
        if s.ref and (facts.ref is None or not fnmatch.fnmatchcase(facts.ref, s.ref)):
            out.append(f"ref is {facts.ref}, policy allows {s.ref}")
        if s.trigger and facts.trigger != s.trigger:
            out.append(f"trigger is {facts.trigger}, policy allows {s.trigger}")
        if s.sha and facts.sha != s.sha:
            out.append(f"commit is {facts.sha}, policy allows {s.sha}")
        return out

    def verify(self, cert: Certificate) -> None:
        problems = self.mismatches(cert)
        try:
            self._policy.verify(cert)
        except VerificationError as exc:
            problems = problems or [str(exc)]
        if problems:
            raise PolicyMismatch(problems, cert)


class PolicyMismatch(VerificationError):
    """Raised through sigstore's Verifier when the certificate is valid but its signer is not allowed."""

    def __init__(self, problems: list[str], cert: Certificate) -> None:
        from pipeline.verify.certificate import signer_facts

        self.problems = problems
        self.facts = signer_facts(cert)
        super().__init__(f"signed by {self.facts.identity}: " + "; ".join(problems))


class AnySigner:
    """Accept the certificate when one allowed signer matches; otherwise say why each one did not."""

    def __init__(self, signers: Sequence[Signer]) -> None:
        check_signers(signers, where="policy")
        self._children = [SignerPolicy(s) for s in signers]

    def verify(self, cert: Certificate) -> None:
        failures: list[PolicyMismatch] = []
        for child in self._children:
            try:
                child.verify(cert)
                return
            except PolicyMismatch as exc:
                failures.append(exc)
        if len(failures) == 1:
            raise failures[0]
        joined = " | ".join(f"signer {i + 1}: " + "; ".join(f.problems) for i, f in enumerate(failures))
        mismatch = PolicyMismatch([joined], cert)
        raise mismatch
