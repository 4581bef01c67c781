from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

NAME = "audit"
SUMMARY = "Audit the resolved dependencies with pip-audit under the policy (online OSV/PyPI, or offline)."
EXAMPLES = """\
  mcp-harden audit --sbom sbom.cdx.json                              # OSV online (policy: audit.service)
  mcp-harden audit --sbom sbom.cdx.json --offline-db osv-pypi.zip    # air-gapped: a local OSV database
  mcp-harden audit --requirements requirements.lock --format sarif -o audit.sarif
  mcp-harden audit --sbom sbom.cdx.json --vex sbom.vex.cdx.json      # SBOM + vulnerabilities + analysis
"""
INPUTS = ("sbom", "requirements", "offline_db")
OUTPUTS = (("vex", "--vex"),)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sbom", type=Path, metavar="FILE", help="a CycloneDX JSON SBOM (mcp-harden sbom)")
    source.add_argument("--requirements", "-r", type=Path, metavar="FILE", help="fully pinned requirements")
    parser.add_argument(
        "--offline-db",
        type=Path,
        metavar="PATH",
        help="folder or zip of OSV records (JSON or YAML): no network is used. Older than audit.max_db_age_days "
        "(counted from its newest record's 'modified', not file times) is could-not-check (exit 3)",
    )
    parser.add_argument(
        "--osv-url", metavar="URL", help="an OSV-compatible query API (overrides audit.osv_url)"
    )
    parser.add_argument(
        "--vex",
        type=Path,
        metavar="FILE",
        help="write the SBOM with its vulnerabilities and their analysis (CycloneDX VEX)",
    )


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    from pipeline.audit import run_audit
    from pipeline.findings import Report

    stage = run_audit(
        policy=policy,
        sbom=args.sbom,
        requirements=args.requirements,
        offline_db=args.offline_db,
        osv_url=args.osv_url,
        vex_output=args.vex,
    )
    return Report(stages=[stage])


SPEC = CommandSpec(name=NAME, summary=SUMMARY, examples=EXAMPLES, inputs=INPUTS, outputs=OUTPUTS)
