"""Hit rate of the scanner on a file of fresh probe sentences (benchmarks/probes/*.yaml; a plain script, not a
test): hostile ones flagged at high or above, and benign ones flagged at high or above, per class.

    python benchmarks/probe_scan.py                                      # every file in benchmarks/probes/
    python benchmarks/probe_scan.py benchmarks/probes/round4-before.yaml -v   # one file, with its misses

A probe file has `hostile: [[class, language, text-or-tool], ...]` and `benign: [[language, text], ...]`. Written
before a round's fixes, its figures are the honest estimate of how the scanner does on text it was never tuned on;
once looked at, it is tuned on like any seen set.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _high(body: Any) -> tuple[bool, list[str]]:
    from pipeline.findings import Severity
    from pipeline.scan import scan_record
    from tests.scan.corpus_util import record_for

    item = {"id": "probe", "tool": body} if isinstance(body, dict) else {"id": "probe", "description": body}
    findings = scan_record(record_for(item)).findings
    return any(f.severity >= Severity.HIGH for f in findings), [
        f"{f.severity.value} {f.rule_id}" for f in findings
    ]


PROBES = Path(__file__).resolve().parent / "probes"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "files", nargs="*", type=Path, help="probe files (default: all in benchmarks/probes/)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print each miss and false alarm")
    args = parser.parse_args()
    for path in args.files or sorted(PROBES.glob("*.yaml")):
        try:
            report(path, args.verbose)
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            sys.exit(f"probe_scan: {path}: not a probe file ({type(exc).__name__}: {str(exc)[:160]})")


def report(path: Path, verbose: bool) -> None:
    """Scan one probe file and print its figures."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    total: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    for cls, lang, body in data["hostile"]:
        high, shown = _high(body)
        total[cls] += 1
        caught[cls] += high
        if verbose and not high:
            print(f"miss {cls} {lang}: {shown} {str(body)[:80]}")
    flagged = 0
    for lang, text in data["benign"]:
        high, shown = _high(text)
        flagged += high
        if verbose and high:
            print(f"benign at high {lang}: {shown} {str(text)[:80]}")
    print(
        f"{path.name}: hostile {sum(caught.values())}/{sum(total.values())} at high+, "
        f"benign {flagged}/{len(data['benign'])} at high+"
    )
    print("  per class: " + ", ".join(f"{k} {caught[k]}/{v}" for k, v in sorted(total.items())))


if __name__ == "__main__":
    main()
