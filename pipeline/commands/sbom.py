from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.bounds import seconds
from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

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
INPUTS = ("requirements", "pip_report")
OUTPUTS = (("sbom_output", "-o/--sbom-output"),)


def implied_inputs(args: argparse.Namespace) -> list[Path]:
    """The built distributions in --dist (hashed into the SBOM) and the project's pyproject.toml."""
    found = [Path(args.project_dir or ".") / "pyproject.toml"]
    if args.dist is not None and args.dist.is_dir():
        found += sorted(p for p in args.dist.iterdir() if p.is_file())
    return found


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
    parser.add_argument("--timeout", type=seconds, default=600.0, help="seconds pip may take to resolve")
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show where it is on stderr even off a terminal (on a terminal it always does)",
    )


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    from pipeline.fileio import read_bounded
    from pipeline.findings import Report
    from pipeline.progress import Progress, wanted
    from pipeline.sbom import run_sbom

    if args.requirements is not None:  # pip reads it: refuse a FIFO or a device here, named
        read_bounded(args.requirements, what="requirements file", limit=8 << 20)

    progress = Progress(1, enabled=wanted(args.progress))
    progress.begin("sbom")
    stage = run_sbom(
        policy=policy,
        output=args.sbom_output,
        project_dir=args.project_dir,
        requirements=args.requirements,
        pip_report=args.pip_report,
        dist=args.dist,
        root=args.root,
        timeout=args.timeout,
        progress=progress,
    )
    progress.end(stage.status(policy.fail_on).value)
    return Report(stages=[stage])


SPEC = CommandSpec(
    name=NAME,
    summary=SUMMARY,
    examples=EXAMPLES,
    own_output=OWN_OUTPUT,
    inputs=INPUTS,
    outputs=OUTPUTS,
    implied_inputs=implied_inputs,
)
