from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

NAME = "sign"
SUMMARY = "Sign release files with Sigstore (keyless), attest provenance/SBOM/tool manifest, write a release record."
EXAMPLES = """\
  mcp-harden sign dist/*.whl dist/*.tar.gz                       # in GitHub Actions: ambient OIDC, production
  mcp-harden sign --instance sandbox dist/* release/sbom.cdx.json --sbom release/sbom.cdx.json \\
      --manifest release/mcp-manifest.json --provenance --record release/release.json
  mcp-harden sign --identity-token "$TOKEN" --instance staging dist/server.mcpb
"""
INPUTS = ("files", "sbom", "manifest")
OUTPUTS = (("record", "--record"),)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="files to sign (<file>.sigstore.json beside each)"
    )
    parser.add_argument(
        "--instance",
        choices=("production", "staging", "sandbox"),
        help="Sigstore instance (default: policy sign.instance, production); sandbox = local, for tests only",
    )
    parser.add_argument(
        "--identity-token",
        metavar="JWT",
        help="an OIDC identity token (default: ambient GitHub Actions OIDC)",
    )
    parser.add_argument(
        "--sbom", type=Path, metavar="FILE", help="attest this CycloneDX SBOM over the artifacts"
    )
    parser.add_argument(
        "--manifest", type=Path, metavar="FILE", help="attest this tool manifest over the artifacts"
    )
    parser.add_argument(
        "--provenance",
        action="store_true",
        help="attest SLSA provenance v1 of each file, one subject each (<file>.provenance.sigstore.json; a wheel "
        "or sdist also gets the PEP 740 <file>.slsa.attestation and .publish.attestation); reads GITHUB_*",
    )
    parser.add_argument(
        "--record", type=Path, metavar="FILE", help="write (and sign) the release record, e.g. release.json"
    )
    parser.add_argument(
        "--sandbox-dir", metavar="DIR", help="sandbox keys folder (default: policy sign.sandbox_dir)"
    )


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    from pipeline.findings import Report
    from pipeline.sign import sign_files

    sandbox_dir = args.sandbox_dir or policy.resolve_path(policy.sign.sandbox_dir)
    stage = sign_files(
        args.files,
        instance=args.instance or policy.sign.instance,
        identity_token=args.identity_token,
        sandbox_dir=sandbox_dir,
        sbom=args.sbom,
        manifest=args.manifest,
        provenance=args.provenance,
        record=args.record,
    )
    return Report(stages=[stage])


SPEC = CommandSpec(name=NAME, summary=SUMMARY, examples=EXAMPLES, inputs=INPUTS, outputs=OUTPUTS)
