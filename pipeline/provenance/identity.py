"""Who built an artifact, read only from a Fulcio certificate, and the policies that pin it.

Two kinds of pin share these facts:

- `AttestationPolicy` (GitHub artifact attestations, `gh attestation verify` style): a `Signer` for the
  caller's identity (issuer, SAN, source repository, ref, ...), plus the *top-level* workflow (Build Config
  URI, OID 1.18) and, for reusable workflows, the workflow that held the signing identity (Build Signer URI,
  OID 1.9).
- `Publisher` (PEP 740 trusted publishers): kind, repository and workflow as PyPI names them. A publisher is
  only ever derived from the certificate (`publisher_of`); the `publisher` PyPI serves next to an
  attestation is unsigned and is never trusted by itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sigstore.errors import VerificationError

from pipeline.config import Signer
from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
GOOGLE_ISSUER = "https://accounts.google.com"
_OID = "1.3.6.1.4.1.57264.1."


def fulcio_claim(cert: Certificate, number: int) -> str | None:
    """A Fulcio claim extension 1.3.6.1.4.1.57264.1.`number` (8 and up: a DER UTF8String), or None."""
    from cryptography.hazmat import asn1
    from cryptography.x509 import ExtensionNotFound, ObjectIdentifier

    try:
        value = cert.extensions.get_extension_for_oid(ObjectIdentifier(f"{_OID}{number}")).value
    except ExtensionNotFound:
        return None
    try:
        text = asn1.decode_der(str, value.value)  # type: ignore[attr-defined]
    except Exception:
        return None
    return text if isinstance(text, str) else None


@dataclass(frozen=True)
class BuildFacts:
    """The claims a build certificate carries about the workflow run (GitHub or GitLab CI)."""

    issuer: str | None
    source_repository_uri: str | None  # https://github.com/OWNER/NAME
    source_repository_owner_uri: str | None
    source_ref: str | None
    source_digest: str | None
    build_config_uri: str | None  # top-level workflow: https://github.com/O/R/.github/workflows/W@REF
    build_signer_uri: str | None  # the workflow that held the identity (a reusable one, or the same)
    sans: tuple[str, ...]


def build_facts(cert: Certificate) -> BuildFacts:
    from pipeline.verify.certificate import san_values, signer_facts

    legacy = signer_facts(cert)
    return BuildFacts(
        issuer=fulcio_claim(cert, 8) or legacy.issuer,
        source_repository_uri=fulcio_claim(cert, 12),
        source_repository_owner_uri=fulcio_claim(cert, 16),
        source_ref=fulcio_claim(cert, 14) or legacy.ref,
        source_digest=fulcio_claim(cert, 13) or legacy.sha,
        build_config_uri=fulcio_claim(cert, 18),
        build_signer_uri=fulcio_claim(cert, 9),
        sans=tuple(san_values(cert)),
    )


def _workflow_url(value: str, host: str = "github.com") -> str:
    """`o/r/.github/workflows/x.yml`, `github.com/o/r/...` or `https://github.com/o/r/...` as a URL."""
    value = value.strip()
    if value.startswith("https://"):
        return value
    value = value.removeprefix(f"{host}/")
    return f"https://{host}/{value}"


def _uri_matches(actual: str | None, expected: str) -> bool:
    """`expected` names a workflow, with or without `@REF`: without one, any ref of that workflow."""
    if actual is None:
        return False
    if "@" in expected:
        return actual == expected
    return actual.split("@", 1)[0] == expected


class Mismatch(VerificationError):
    """The certificate is well formed but names another builder than the policy allows."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class AttestationPolicy:
    """Who may have produced a GitHub artifact attestation. `signer.workflow` is the top-level workflow
    (Build Config URI), not the reusable one: `signer_workflow` names that."""

    signer: Signer
    signer_workflow: str | None = None
    owner: str | None = None

    def check(self) -> None:
        """Refuse a policy that would accept anyone (an owner alone is a pin, as for `gh --owner`)."""
        from pipeline.verify.policy import check_signers

        s = self.signer
        if s.identity or s.identity_pattern or s.repository or not self.owner:
            check_signers([s], where="policy")
        elif not s.issuer:
            raise ConfigError(
                "a signer needs an issuer (else any identity provider would do)", where="policy"
            )
        if self.signer.workflow and not self.signer.repository:
            raise ConfigError("--workflow needs --repository (the workflow's own repository)", where="policy")

    def mismatches(self, cert: Certificate) -> list[str]:
        from pipeline.verify.policy import SignerPolicy, normalize_workflow

        facts = build_facts(cert)
        problems: list[str] = []
        base = dataclasses.replace(self.signer, workflow=None)
        try:
            SignerPolicy(base).verify(cert)
        except VerificationError as exc:
            problems += getattr(exc, "problems", None) or [str(exc)]
        s = self.signer
        if s.workflow and s.repository:
            expected = f"https://github.com/{s.repository}/{normalize_workflow(s.workflow)}"
            if not _uri_matches(facts.build_config_uri, expected):
                problems.append(f"workflow is {facts.build_config_uri}, policy allows {expected}")
        if self.signer_workflow:
            expected = _workflow_url(self.signer_workflow)
            if not _uri_matches(facts.build_signer_uri, expected):
                problems.append(f"signer workflow is {facts.build_signer_uri}, policy allows {expected}")
        if self.owner:
            expected = f"https://github.com/{self.owner}"
            if facts.source_repository_owner_uri != expected:
                problems.append(f"owner is {facts.source_repository_owner_uri}, policy allows {expected}")
        return problems

    def verify(self, cert: Certificate) -> None:
        """sigstore's VerificationPolicy protocol."""
        problems = self.mismatches(cert)
        if problems:
            raise Mismatch(problems)


@dataclass(frozen=True)
class Publisher:
    """A PEP 740 trusted publisher as a lock pins it: GitHub/GitLab (repository, workflow) or Google (email)."""

    kind: str
    repository: str | None = None
    workflow: str | None = None  # GitHub: file name in .github/workflows; GitLab: the CI file path
    email: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Any) -> Publisher:
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise ValueError("a publisher is a mapping with a 'kind'")
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: str(v) for k, v in data.items() if k in fields and v is not None}
        publisher = cls(**values)
        if publisher.kind in ("GitHub", "GitLab") and not (publisher.repository and publisher.workflow):
            raise ValueError(f"a {publisher.kind} publisher needs 'repository' and 'workflow'")
        if publisher.kind == "Google" and not publisher.email:
            raise ValueError("a Google publisher needs 'email'")
        if publisher.kind not in ("GitHub", "GitLab", "Google"):
            raise ValueError(f"unknown publisher kind {publisher.kind!r} (GitHub, GitLab, Google)")
        return publisher

    def __str__(self) -> str:
        if self.kind == "Google":
            return f"Google {self.email}"
        return f"{self.kind} {self.repository} ({self.workflow})"

    def mismatches(self, cert: Certificate) -> list[str]:
        actual = publisher_of(cert)
        if actual is None:
            facts = build_facts(cert)
            return [
                f"the certificate names no trusted publisher (issuer {facts.issuer}, SAN {list(facts.sans)})"
            ]
        if actual != self:
            return [f"published by {actual}, expected {self}"]
        return []

    def verify(self, cert: Certificate) -> None:
        problems = self.mismatches(cert)
        if problems:
            raise Mismatch(problems)


def publisher_of(cert: Certificate) -> Publisher | None:
    """The trusted publisher a certificate proves, or None when it proves none (a person, another CI).

    GitHub and GitLab: the issuer, the source repository, and the top-level workflow whose Build Config URI
    is exactly `<repository URL>/<workflow path>@<the run's ref or commit>`, so the workflow file lives in the
    published repository at the commit that was built."""
    facts = build_facts(cert)
    suffixes = [s for s in (facts.source_ref, facts.source_digest) if s]
    if facts.issuer in (GITHUB_ISSUER, GITLAB_ISSUER):
        host = "https://github.com/" if facts.issuer == GITHUB_ISSUER else "https://gitlab.com/"
        repo_uri = facts.source_repository_uri
        config = facts.build_config_uri
        if not repo_uri or not repo_uri.startswith(host) or not config or not suffixes:
            return None
        repository = repo_uri[len(host) :]
        prefix = f"{repo_uri}/.github/workflows/" if facts.issuer == GITHUB_ISSUER else f"{repo_uri}//"
        for suffix in suffixes:
            if config.startswith(prefix) and config.endswith(f"@{suffix}"):
                workflow = config[len(prefix) : -len(suffix) - 1]
                if workflow and (facts.issuer != GITHUB_ISSUER or "/" not in workflow):
                    kind = "GitHub" if facts.issuer == GITHUB_ISSUER else "GitLab"
                    return Publisher(kind=kind, repository=repository, workflow=workflow)
        return None
    if facts.issuer == GOOGLE_ISSUER and facts.sans:
        return Publisher(kind="Google", email=facts.sans[0])
    return None
