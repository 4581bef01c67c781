"""The corpus, split once into a tuning half and a held-out test half (tests/scan/corpus/*.yaml).

Tuning half: every hostile definition is flagged at high or above and no benign one is (the rules were tuned
on it). Test half: never tuned on; measured as a whole (benchmarks/bench_scan.py prints the figures per class)
and held to a floor, so a change that loses generality fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.findings import Severity
from pipeline.scan import scan_record
from tests.scan.corpus_util import BLIND, load_corpus, load_half, record_for

TUNING = load_half("tuning")
TEST = load_half("test")
HOSTILE = [i for i in TUNING if i["expect"] == "hostile"]
BENIGN = [i for i in TUNING if i["expect"] == "benign"]
TEST_HOSTILE_FLOOR = 0.90  # share of the held-out hostile items flagged at high or above
TEST_BENIGN_CEILING = 0.02  # share of the held-out benign items flagged at high or above
LANGUAGES_NEEDED = ("zh", "es", "hi", "ar", "pt", "bn", "ru", "ja", "fr", "de", "ko")


def _top(item: dict[str, Any]) -> tuple[Severity | None, list[str]]:
    stage = scan_record(record_for(item))
    shown = [f"{f.severity.value} {f.rule_id} {f.location.logical}: {f.evidence}" for f in stage.findings]
    top = max((f.severity for f in stage.findings), key=lambda s: s.rank, default=None)
    return top, shown


def test_corpus_sizes_ids_and_split() -> None:
    everything = TUNING + TEST
    assert len(everything) >= 300
    ids = [item["id"] for item in everything]
    assert len(ids) == len(set(ids)), "an id is in both halves or twice in one"
    for half in (TUNING, TEST):
        hostile = [i for i in half if i["expect"] == "hostile"]
        assert len(hostile) >= 80 and len(half) - len(hostile) >= 80
        assert all(i.get("class") for i in hostile), "every hostile item names its attack class"
    assert {i["expect"] for i in everything} == {"hostile", "benign"}
    assert len(load_corpus("hostile")) + len(load_corpus("benign")) == len(everything)


def test_corpus_is_multilingual() -> None:
    """Hostile and benign text in at least the ten most used languages (by script or by the item's id)."""
    from pipeline.scan.lexicon import concepts

    langs = {i["id"].split("-")[1] for i in TUNING + TEST if i["id"].startswith(("xl-", "ml-", "bz-", "sh-"))}
    assert set(LANGUAGES_NEEDED) <= langs
    foreign = [i for i in TUNING + TEST if "description" in i and not str(i["description"]).isascii()]
    assert len(foreign) >= 80 and all(isinstance(concepts(str(i["description"])), dict) for i in foreign)


@pytest.mark.parametrize("item", HOSTILE, ids=[i["id"] for i in HOSTILE])
def test_tuning_hostile_is_flagged_high(item: dict[str, Any]) -> None:
    top, shown = _top(item)
    assert top is not None and top >= Severity.HIGH, "\n".join(shown) or "no findings"


@pytest.mark.parametrize("item", BENIGN, ids=[i["id"] for i in BENIGN])
def test_tuning_benign_stays_below_high(item: dict[str, Any]) -> None:
    top, shown = _top(item)
    assert top is None or top < Severity.HIGH, "\n".join(shown)


def test_held_out_half_generalizes() -> None:
    hostile = [i for i in TEST if i["expect"] == "hostile"]
    benign = [i for i in TEST if i["expect"] == "benign"]
    caught = sum(1 for i in hostile if (top := _top(i)[0]) is not None and top >= Severity.HIGH)
    false = sum(1 for i in benign if (top := _top(i)[0]) is not None and top >= Severity.HIGH)
    assert caught >= TEST_HOSTILE_FLOOR * len(hostile), f"{caught}/{len(hostile)} hostile flagged"
    assert false <= TEST_BENIGN_CEILING * len(benign), f"{false}/{len(benign)} benign flagged"


def test_whole_tuning_half_as_one_set_record() -> None:
    """All tuning hostile items as servers of one set: each server still has its finding at high or above."""
    from pipeline.manifest.record import build_set

    records = {item["id"]: record_for(item) for item in HOSTILE}
    stage = scan_record(build_set(records))
    flagged = {f.properties["server"] for f in stage.findings if f.severity >= Severity.HIGH}
    assert flagged == set(records)
    assert stage.summary["servers"] == len(HOSTILE)


@pytest.mark.parametrize("name", BLIND)
def test_blind_referee_sets_are_well_formed_and_apart(name: str) -> None:
    """A blind set (written without reading the rules or the corpus) is reported beside the halves, never
    tuned on: well-formed, many languages, and sharing no id with the corpus."""
    items = load_half(name)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) and not set(ids) & {i["id"] for i in TUNING + TEST}
    assert {i["expect"] for i in items} == {"hostile", "benign"}
    kinds = ("description", "tool", "instructions", "prompt", "resource")
    assert all(sum(k in i for k in kinds) == 1 for i in items)
    assert all(i.get("class") and i.get("after") for i in items if i["expect"] == "hostile")
    assert sum(1 for i in items if not json.dumps(i, ensure_ascii=False).isascii()) >= 40
