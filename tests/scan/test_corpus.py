"""The corpus, split once into a tuning half and a held-out test half (tests/scan/corpus/*.yaml).

Tuning half: every hostile definition is flagged at high or above and no benign one is (the rules were tuned
on it). Test half: never tuned on; measured as a whole (benchmarks/bench_scan.py prints the figures per class)
and held to a floor, so a change that loses generality fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.findings import Severity
from pipeline.scan import scan_record
from tests.scan.corpus_util import CORPUS, REFEREES, load_corpus, load_half, record_for

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


def test_every_referee_file_is_listed() -> None:
    """Each tests/scan/corpus/blind-*.yaml is in REFEREES (one list: blind or seen), so bench_scan and the test
    below report it."""
    files = {p.stem for p in CORPUS.glob("blind-*.yaml")}
    assert files == set(REFEREES), f"listed {sorted(REFEREES)}, on disk {sorted(files)}"
    assert set(REFEREES.values()) <= {"blind", "seen"}


@pytest.mark.parametrize("name", list(REFEREES))
def test_referee_sets_are_well_formed_and_apart(name: str) -> None:
    """A referee set (written without reading the rules or the corpus) is reported beside the halves:
    well-formed, many languages, and sharing no id with the corpus or another referee set."""
    items = load_half(name)
    ids = [i["id"] for i in items]
    others = {i["id"] for other in REFEREES if other != name for i in load_half(other)}
    assert len(ids) == len(set(ids)) and not set(ids) & ({i["id"] for i in TUNING + TEST} | others)
    assert {i["expect"] for i in items} == {"hostile", "benign"}
    kinds = ("description", "tool", "instructions", "prompt", "resource")
    assert all(sum(k in i for k in kinds) == 1 for i in items)
    assert all(i.get("class") and i.get("after") for i in items if i["expect"] == "hostile")
    assert sum(1 for i in items if not json.dumps(i, ensure_ascii=False).isascii()) >= 40


def _figures(items: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    """(hostile flagged at high+, hostile, benign flagged at high+, benign)."""
    flagged = [(i["expect"], (top := _top(i)[0]) is not None and top >= Severity.HIGH) for i in items]
    hostile = [high for expect, high in flagged if expect == "hostile"]
    benign = [high for expect, high in flagged if expect == "benign"]
    return sum(hostile), len(hostile), sum(benign), len(benign)


# A seen set was tuned on: it is held where the tuning left it (hostile flagged, benign flagged at high+), less a
# margin of 5% of its hostile items and 2% of its benign ones. A set marked seen gets its entry here.
SEEN_LEFT = {
    "blind-2026-12-02": (60, 0),
    "blind-2026-12-02b": (67, 0),
    "blind-2026-12-02c": (69, 0),
    "blind-2026-12-02d": (68, 1),
    "blind-2026-12-02e": (62, 3),
}
SEEN_HOSTILE_MARGIN = 0.05
SEEN_BENIGN_MARGIN = 0.02


@pytest.mark.parametrize("name", list(REFEREES))
def test_referee_set_figures(name: str, record_property: Any) -> None:
    """Each referee set is scanned and its figures reported (`-rA` or the junit XML shows them). A blind one is
    measured, never held to a number (that would be tuning on it); a seen one is held to where the tuning left it."""
    caught, hostile, false, benign = _figures(load_half(name))
    record_property("figures", f"{name}: hostile {caught}/{hostile}, benign {false}/{benign} at high+")
    print(f"{name} ({REFEREES[name]}): hostile {caught}/{hostile}, benign {false}/{benign} at high or above")
    assert hostile and benign
    if REFEREES[name] == "seen":
        hostile_left, benign_left = SEEN_LEFT[name]
        assert caught >= hostile_left - SEEN_HOSTILE_MARGIN * hostile, f"{caught}/{hostile} hostile flagged"
        assert false <= benign_left + SEEN_BENIGN_MARGIN * benign, f"{false}/{benign} benign flagged"


def _sentences(value: Any) -> list[str]:
    if isinstance(value, str):
        return [s.strip().lower() for s in re.split(r"(?<=[.!?。！？\n])", value) if len(s.strip()) >= 30]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _sentences(v)]
    if isinstance(value, list):
        return [s for v in value for s in _sentences(v)]
    return []


def test_no_rule_quotes_a_corpus_entry() -> None:
    """A rule that matches a corpus entry word for word is no rule: no sentence of 30 characters or more from
    the corpus halves or a referee set appears in the scanner's code or data."""
    root = Path(__file__).resolve().parents[2]
    sources = [*(root / "pipeline" / "scan").rglob("*.py"), *(root / "pipeline" / "data" / "scan").glob("*")]
    sources.append(root / "pipeline" / "data" / "rules" / "scan-tools.yaml")
    text = "\n".join(p.read_text(encoding="utf-8").lower() for p in sources)
    assert len(text) > 50_000  # the rules were read
    everything = TUNING + TEST + [i for name in REFEREES for i in load_half(name)]
    sentences = {s for item in everything for s in _sentences(item)}
    assert len(sentences) > 300
    quoted = sorted(s for s in sentences if s in text)
    assert not quoted, quoted[:5]
