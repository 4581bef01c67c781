from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

NAME = "verify"
SUMMARY = (
    "Verify Sigstore signatures and attestations offline against a pinned trusted root and a signer policy."
)
EXAMPLES = """\
  mcp-harden verify dist/x.whl --repository owner/repo --workflow release.yml --ref 'refs/tags/v*'
  mcp-harden verify --record release/release.json --trusted-root .mcp-harden/sandbox/trusted_root.json --repository o/r
  mcp-harden verify release/sbom.cdx.json --bundle release/sbom.cdx.json.sigstore.json --repository o/r
  mcp-harden verify a.txt --bundle a.txt.sigstore.json --identity you@example.com --issuer https://accounts.google.com
  mcp-harden verify dist/* --attestation release/sbom.intoto.sigstore.json --require-attestation sbom --format json
"""
INPUTS = ("artifacts", "record", "bundle", "attestation", "trusted_root")


def implied_inputs(args: argparse.Namespace) -> list[str]:
    """The bundles read beside each artifact (or the record) when --bundle is not given."""
    named = [*args.artifacts, *([args.record] if args.record else [])]
    return [f"{path}.sigstore.json" for path in named]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "artifacts",
        nargs="*",
        type=Path,
        metavar="ARTIFACT",
        help="files to verify, each against its own bundle; one *.json file alone is a release record",
    )
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="a signed release record (release.json): verify it and every artifact it lists",
    )
    parser.add_argument(
        "--bundle", action="append", type=Path, metavar="FILE", help="bundle (one per artifact)"
    )
    parser.add_argument(
        "--attestation",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="DSSE attestation bundle",
    )
    who = parser.add_argument_group("who may sign (else the policy's verify.signers)")
    who.add_argument("--identity", metavar="ID", help="exact certificate identity (SAN)")
    who.add_argument("--identity-pattern", metavar="REGEX", help="identity regex, anchored at both ends")
    who.add_argument(
        "--issuer", metavar="URL", help="OIDC issuer (default with --repository: GitHub Actions)"
    )
    who.add_argument(
        "--repository", metavar="OWNER/NAME", help="GitHub repository that ran the signing workflow"
    )
    who.add_argument("--workflow", metavar="PATH", help="workflow path, e.g. .github/workflows/release.yml")
    who.add_argument("--ref", metavar="GLOB", help="git ref glob, e.g. refs/tags/v*")
    who.add_argument(
        "--signer-workflow",
        metavar="O/R/PATH[@REF]",
        help="attestations: the reusable workflow that signed (Build Signer URI)",
    )
    who.add_argument("--trigger", metavar="EVENT", help="workflow trigger, e.g. release, push")
    who.add_argument("--sha", metavar="SHA", help="commit the workflow ran on")
    trust = parser.add_argument_group("trust")
    trust.add_argument(
        "--trusted-root", metavar="FILE", help="pinned trusted_root.json (default: verify.trusted_root)"
    )
    trust.add_argument(
        "--instance", choices=("production", "staging", "sandbox"), help="default: verify.instance"
    )
    mode = trust.add_mutually_exclusive_group()
    mode.add_argument(
        "--offline", dest="online", action="store_false", default=None, help="no network (default)"
    )
    mode.add_argument("--online", dest="online", action="store_true", help="refresh the trusted root via TUF")
    trust.add_argument(
        "--require-attestation",
        action="append",
        default=[],
        choices=("slsa-provenance", "sbom", "tool-manifest"),
        help="require this attestation over every artifact (adds to verify.require_attestations)",
    )
    trust.add_argument(
        "--proof",
        choices=("signature", "attestation", "both"),
        help="what proves origin: a signature, a GitHub provenance attestation (--attestation FILE, or "
        "gh's sha256:DIGEST.jsonl beside the artifact), or both (default: verify.proof)",
    )
    trust.add_argument(
        "--sandbox-dir", metavar="DIR", help="sandbox folder (default: policy sign.sandbox_dir)"
    )


def run(args: argparse.Namespace, policy: Policy) -> Report:
    from pipeline.config import Signer
    from pipeline.errors import UsageError
    from pipeline.findings import Report

    section = policy.verify
    instance = args.instance or section.instance
    trusted_root = args.trusted_root or (
        policy.resolve_path(section.trusted_root) if section.trusted_root else None
    )
    offline = section.offline if args.online is None else not args.online
    sandbox_dir = args.sandbox_dir or policy.resolve_path(policy.sign.sandbox_dir)
    flags = [
        args.identity,
        args.identity_pattern,
        args.issuer,
        args.repository,
        args.workflow,
        args.ref,
        args.trigger,
        args.sha,
    ]
    if any(flags):
        if (args.identity or args.identity_pattern) and not args.issuer:
            raise UsageError("--identity and --identity-pattern need --issuer")
        issuer = args.issuer
        if issuer is None and args.repository:
            from pipeline.sign.github import GITHUB_ISSUER
            from pipeline.sign.sandbox import SANDBOX_ISSUER
            from pipeline.verify.trust import is_sandbox_root_file

            sandbox = instance == "sandbox" if trusted_root is None else is_sandbox_root_file(trusted_root)
            issuer = SANDBOX_ISSUER if sandbox else GITHUB_ISSUER
        signers = [
            Signer(
                issuer=issuer,
                identity=args.identity,
                identity_pattern=args.identity_pattern,
                repository=args.repository,
                workflow=args.workflow,
                ref=args.ref,
                trigger=args.trigger,
                sha=args.sha,
            )
        ]
    else:
        signers = list(section.signers)
    require = list(dict.fromkeys([*section.require_attestations, *args.require_attestation]))
    common: dict[str, Any] = {
        "signers": signers,
        "trusted_root": trusted_root,
        "instance": instance,
        "offline": offline,
        "require_signed": section.require_signed,
        "require_attestations": require,
        "sandbox_dir": sandbox_dir,
    }
    record = _record_to_verify(args)
    if record is not None:
        from pipeline.verify import verify_record

        return Report(stages=[verify_record(record, **common)])
    from pipeline.provenance.server_json import mcpb_stage

    proof = args.proof or section.proof
    if proof != "signature":
        from pipeline.provenance.origin import origin_for_verify

        origin = origin_for_verify(
            args.artifacts,
            args.attestation,
            signers,
            signer_workflow=args.signer_workflow,
            **{k: common[k] for k in ("trusted_root", "instance", "offline", "sandbox_dir")},
        )
        if proof == "attestation":
            return Report(stages=[origin, *mcpb_stage(args.artifacts)])
    from pipeline.verify import verify_artifacts

    stage = verify_artifacts(args.artifacts, bundles=args.bundle, attestations=args.attestation, **common)
    return Report(stages=[stage, *([] if proof == "signature" else [origin]), *mcpb_stage(args.artifacts)])


def _record_to_verify(args: argparse.Namespace) -> Path | None:
    """The release record, when the command line says it was handed one: `--record FILE`, or (the older
    form) a single `*.json` file with no --bundle or --attestation. What the file holds decides nothing
    here; the record's own signed bytes are checked to be a record after its signature verifies."""
    from pipeline.errors import UsageError

    if args.record is not None:
        if args.artifacts or args.bundle or args.attestation:
            raise UsageError(
                "--record verifies the record and every file it lists: name no other file, --bundle or --attestation"
            )
        return Path(args.record)
    if not args.artifacts:
        raise UsageError("nothing to verify: name the files, or --record release.json")
    if len(args.artifacts) == 1 and not args.bundle and not args.attestation:
        only = Path(args.artifacts[0])
        if only.name.lower().endswith(".json"):
            return only
    return None


SPEC = CommandSpec(
    name=NAME, summary=SUMMARY, examples=EXAMPLES, inputs=INPUTS, implied_inputs=implied_inputs
)
