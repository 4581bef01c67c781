from __future__ import annotations

import argparse
from pathlib import Path

NAME = "sbom"
SUMMARY = "Write a CycloneDX 1.6 SBOM of a project's distribution and the exact packages it resolves to."
OWN_OUTPUT = True  # -o is the SBOM; the report goes to stdout or --report
EXAMPLES = """\
  mcp-harden sbom . -o sbom.cdx.json                       # resolve the project with pip (no install)
  mcp-harden sbom --requirements requirements.txt --root my-server==1.0.0 -o sbom.cdx.json
  pip install --report report.json dist/*.whl && \\
    mcp-harden sbom --pip-report report.json --dist dist -o sbom.cdx.json   # what was really installed
  SOURCE_DATE_EPOCH=1700000000 mcp-harden sbom . -o sbom.cdx.json         # byte-reproducible
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("project_dir", nargs="?", type=Path, help="project folder (default: .)")
    source.add_argument("--requirements", "-r", type=Path, metavar="FILE", help="a requirements file")
    source.add_argument(
        "--pip-report",
        type=Path,
        metavar="FILE",
        help="pip's installation report (pip install --report FILE ...)",
    )
    parser.add_argument(
        "--dist",
        type=Path,
        metavar="DIR",
        help="folder of built distributions: their sha256 go on the root component",
    )
    parser.add_argument(
        "--root",
        metavar="NAME[==VERSION]",
        help="the SBOM's subject: a resolved package, or NAME==VERSION of the application the packages are "
        "for (required with --requirements)",
    )
    parser.add_argument(
        "-o",
        "--sbom-output",
        dest="sbom_output",
        type=Path,
        metavar="FILE",
        default=Path("sbom.cdx.json"),
        help="where to write the SBOM (default: sbom.cdx.json)",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds pip may take to resolve")


def run(args: argparse.Namespace, policy):
    from pipeline.findings import Report
    from pipeline.sbom import run_sbom

    stage = run_sbom(
        policy=policy,
        output=args.sbom_output,
        project_dir=args.project_dir,
        requirements=args.requirements,
        pip_report=args.pip_report,
        dist=args.dist,
        root=args.root,
        timeout=args.timeout,
    )
    return Report(stages=[stage])
