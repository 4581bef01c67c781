"""The publisher lock: what is pinned, what changes it, and that a change of publisher is always a finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import ConfigError
from pipeline.findings import StageResult
from pipeline.provenance.check import ProvenanceOptions, _judge, _Outcome
from pipeline.provenance.identity import Publisher
from pipeline.provenance.lock import Lock
from pipeline.provenance.sources import Component

NAMES = st.sampled_from(["acme/a", "acme/b", "Other/a"])
WORKFLOWS = st.sampled_from(["release.yml", "publish.yml"])
PUBLISHERS = st.builds(Publisher, kind=st.just("GitHub"), repository=NAMES, workflow=WORKFLOWS)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pinned=st.one_of(st.none(), PUBLISHERS), proven=PUBLISHERS, update=st.booleans(), exists=st.booleans())
def test_a_publisher_change_is_a_finding_unless_reviewed(
    tmp_path: Path, pinned: Publisher | None, proven: Publisher, update: bool, exists: bool
) -> None:
    lock = Lock(tmp_path / "lock.json", {"pkg": pinned} if pinned else {}, exists or pinned is not None)
    outcome = _Outcome(Component("pkg", "1.0", "pkg:pypi/pkg@1.0", ()), "attested", [proven])
    result = StageResult(stage="provenance")
    changed = _judge([outcome], lock, ProvenanceOptions(lock=lock.path, update_lock=update), result)
    rules = [f.rule_id for f in result.findings]
    if pinned is not None and pinned != proven and not update:
        assert rules == ["MH-PROV-PUBLISHER-CHANGED"] and lock.publishers["pkg"] == pinned and not changed
    elif pinned is None and lock.exists and not update:
        assert rules == ["MH-PROV-UNPINNED"] and "pkg" not in lock.publishers
    else:
        assert rules == [] and lock.publishers["pkg"] == proven
        assert changed == (pinned != proven)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), PUBLISHERS, max_size=8))
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_lock_round_trip(tmp_path: Path, pins: dict[str, Publisher]) -> None:
    path = tmp_path / "lock.json"
    Lock(path, dict(pins)).save()
    assert Lock.load(path).publishers == pins


@pytest.mark.parametrize(
    "text",
    ['{"version": 2, "publishers": {}}', '{"version": 1}', '{"version": 1, "publishers": []}', "[]", "{"],
)
def test_damaged_lock_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "lock.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="invalid provenance lock"):
        Lock.load(path)


def test_lock_is_sorted_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "lock.json"
    a = Publisher("GitHub", "acme/a", "release.yml")
    Lock(path, {"zeta": a, "alpha": a}).save()
    assert list(json.loads(path.read_text())["publishers"]) == ["alpha", "zeta"]
