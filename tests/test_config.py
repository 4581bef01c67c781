from __future__ import annotations

import datetime as dt

import pytest

from pipeline.config import STARTER, Policy, parse_policy
from pipeline.errors import ConfigError
from pipeline.findings import Severity
from tests.conftest import assert_one_line_error, run_cli, run_cli_process


def test_starter_file_loads_to_the_defaults():
    policy = parse_policy(STARTER)
    policy.source = None
    assert policy == Policy()


def test_empty_file_is_all_defaults():
    assert parse_policy("").fail_on is Severity.HIGH


def test_values_are_typed():
    policy = parse_policy(
        "fail_on: medium\naudit:\n  ignore:\n    - id: GHSA-1\n      reason: not reachable\n      expires: 2030-01-02\n"
    )
    assert policy.fail_on is Severity.MEDIUM
    assert policy.audit.ignore[0].expires == dt.date(2030, 1, 2)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("fail_on: high\nauditt: {}\n", 2, "unknown key 'auditt'"),
        ("audit:\n  timeout: soon\n", 2, "audit.timeout: expected a number"),
        ("audit:\n  ignore:\n    - id: X\n      reason: r\n      expires: 2026-13-45\n", 5, "not a date"),
        ("audit:\n  ignore:\n    - id: X\n", 3, "missing required key 'reason'"),
        ("audit:\n  ignore:\n    - id: X\n      reason: '  '\n", 3, "non-empty 'reason'"),
        ("fail_on: severe\n", 1, "not a severity"),
        ("audit: [1, 2\n", 2, "malformed YAML"),
        ("sign:\n  instance: public\n", 2, "not one of"),
        ("- a list\n", None, "must be a mapping"),
    ],
)
def test_bad_policy_names_key_and_line(text, line, words):
    with pytest.raises(ConfigError) as info:
        parse_policy(text, source="p.yaml")
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    if line is not None:
        assert message.startswith(f"p.yaml:{line}:")


def test_cli_broken_policy_is_exit_2_with_one_line(tmp_path):
    policy = tmp_path / "mcp-harden.yaml"
    policy.write_text("audit:\n  ignore:\n    - id: GHSA-x\n")
    req = tmp_path / "r.txt"
    req.write_text("six==1.16.0\n")
    result = run_cli_process("audit", "-r", str(req), "--policy", str(policy))  # a real process's stderr
    assert result.code == 2
    line = assert_one_line_error(result)
    assert "mcp-harden.yaml:3" in line and "reason" in line


def test_init_writes_starter_and_keeps_existing(tmp_path):
    assert run_cli("init", cwd=tmp_path).code == 0
    written = (tmp_path / "mcp-harden.yaml").read_text()
    assert written == STARTER
    (tmp_path / "mcp-harden.yaml").write_text("mine\n")
    again = run_cli("init", cwd=tmp_path)
    assert again.code == 2
    assert_one_line_error(again)
    assert (tmp_path / "mcp-harden.yaml").read_text() == "mine\n"
