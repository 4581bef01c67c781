"""The corpus: every hostile definition is flagged at high or above, no benign one is."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.findings import Severity
from pipeline.scan import scan_record
from tests.scan.corpus_util import load_corpus, record_for

HOSTILE = load_corpus("hostile")
BENIGN = load_corpus("benign")


def _top(item: dict[str, Any]) -> tuple[Severity | None, list[str]]:
    stage = scan_record(record_for(item))
    shown = [f"{f.severity.value} {f.rule_id} {f.location.logical}: {f.evidence}" for f in stage.findings]
    top = max((f.severity for f in stage.findings), key=lambda s: s.rank, default=None)
    return top, shown


def test_corpus_sizes_and_ids() -> None:
    assert len(HOSTILE) >= 40 and len(BENIGN) >= 40
    ids = [item["id"] for item in HOSTILE + BENIGN]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("item", HOSTILE, ids=[i["id"] for i in HOSTILE])
def test_hostile_is_flagged_high(item: dict[str, Any]) -> None:
    top, shown = _top(item)
    assert top is not None and top >= Severity.HIGH, "\n".join(shown) or "no findings"


@pytest.mark.parametrize("item", BENIGN, ids=[i["id"] for i in BENIGN])
def test_benign_stays_below_high(item: dict[str, Any]) -> None:
    top, shown = _top(item)
    assert top is None or top < Severity.HIGH, "\n".join(shown)


def test_whole_corpus_as_one_set_record() -> None:
    """All hostile items as servers of one set: each server still has its finding at high or above."""
    from pipeline.manifest.record import build_set

    records = {item["id"]: record_for(item) for item in HOSTILE}
    stage = scan_record(build_set(records))
    flagged = {f.properties["server"] for f in stage.findings if f.severity >= Severity.HIGH}
    assert flagged == set(records)
    assert stage.summary["servers"] == len(HOSTILE)
