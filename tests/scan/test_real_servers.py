"""Real servers nobody here wrote, as benign cases: each is captured live over stdio (the manifest stage's
capture, the real `mcp` client) and scanned; nothing may reach high. Their text is never copied here.

.ci/run installs them at pinned versions: the reference server into .tools/npm, the other npm servers into
.tools/servers/npm, the PyPI servers into their own venv .tools/servers/venv (never mcp-harden's). A missing
server fails its test: it never skips.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.findings import Severity
from pipeline.manifest import StdioTarget, capture_targets
from pipeline.manifest.record import build_set
from pipeline.scan import scan_record
from pipeline.scan.rules import SPECS

ROOT = Path(__file__).resolve().parents[2]
NPM_BIN = ROOT / ".tools" / "servers" / "npm" / "node_modules" / ".bin"
VENV_BIN = ROOT / ".tools" / "servers" / "venv" / "bin"
EVERYTHING = ROOT / ".tools" / "npm" / "node_modules" / ".bin" / "mcp-server-everything"
INSTALL = "see .ci/run (npm install --prefix .tools/servers/npm ...; .tools/servers/venv/bin/pip install ...)"

# name -> (executable, arguments, environment); {tmp} is a scratch directory. Tokens are dummies: listing tools
# never calls the services.
SERVERS: dict[str, tuple[Path, list[str], dict[str, str]]] = {
    "everything": (EVERYTHING, ["stdio"], {}),
    "filesystem": (NPM_BIN / "mcp-server-filesystem", ["{tmp}"], {}),
    "memory": (NPM_BIN / "mcp-server-memory", [], {"MEMORY_FILE_PATH": "{tmp}/memory.json"}),
    "sequential-thinking": (NPM_BIN / "mcp-server-sequential-thinking", [], {}),
    "github": (NPM_BIN / "mcp-server-github", [], {"GITHUB_PERSONAL_ACCESS_TOKEN": "placeholder"}),
    "slack": (
        NPM_BIN / "mcp-server-slack",
        [],
        {"SLACK_BOT_TOKEN": "xoxb-placeholder", "SLACK_TEAM_ID": "T0"},
    ),
    "playwright": (NPM_BIN / "playwright-mcp", ["--headless"], {}),
    "fetch": (VENV_BIN / "mcp-server-fetch", [], {}),
    "git": (VENV_BIN / "mcp-server-git", ["--repository", "{tmp}/repo"], {}),
    "time": (VENV_BIN / "mcp-server-time", ["--local-timezone", "UTC"], {}),
}


def _capture(name: str, tmp: Path) -> dict[str, object]:
    executable, args, env = SERVERS[name]
    if not executable.exists():
        pytest.fail(f"{executable} is missing: {INSTALL}")
    if name == "git":
        subprocess.run(["git", "init", "-q", str(tmp / "repo")], check=True)
    fill = {"tmp": str(tmp)}
    target = StdioTarget(
        str(executable),
        [a.format(**fill) for a in args],
        env={k: v.format(**fill) for k, v in env.items()},
    )
    record, errors = capture_targets({name: target}, timeout=60)
    assert not errors, errors
    return record


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """Every server captured once for this module (a missing one fails the tests that use it)."""
    return {name: _capture(name, tmp_path_factory.mktemp(name)) for name in SERVERS}


@pytest.mark.parametrize("name", list(SERVERS))
@pytest.mark.slow
def test_real_server_scans_without_high_findings(name: str, captured: dict[str, dict[str, object]]) -> None:
    stage = scan_record(captured[name])
    assert stage.summary["tools"] >= 1
    high = [
        f"{f.rule_id} {f.location.logical}: {f.evidence}"
        for f in stage.findings
        if f.severity >= Severity.HIGH
    ]
    assert not high, "\n".join(high)
    for finding in stage.findings:  # whatever is reported explains itself and says what to do
        assert finding.evidence and finding.fix == SPECS[finding.rule_id].fix


@pytest.mark.slow
def test_all_real_servers_as_one_client_configuration(captured: dict[str, dict[str, object]]) -> None:
    """As --client-config scans them: each server's text is also read against the others' real tool names
    (shadowing, duplicate names); still nothing at high."""
    stage = scan_record(build_set(dict(captured)))
    assert stage.summary["servers"] == len(SERVERS) and stage.summary["tools"] >= 100
    high = [
        f"{f.rule_id} {f.location.logical}: {f.evidence}"
        for f in stage.findings
        if f.severity >= Severity.HIGH
    ]
    assert not high, "\n".join(high)


def test_refusal_override_framing_is_medium_and_explained(captured: dict[str, dict[str, object]]) -> None:
    """mcp-server-fetch tells the model that an earlier restriction no longer holds: benign intent, but the
    framing an attacker uses to lift a refusal. Medium, with an explanation; never high."""
    stage = scan_record(captured["fetch"])
    framing = [f for f in stage.findings if f.rule_id == "MH-TOOL-INSTRUCTION-BLOCK"]
    assert framing and all(f.severity is Severity.MEDIUM for f in framing)
    assert "refusal-override" in framing[0].title and "no longer applies" in framing[0].evidence


def test_a_missing_server_fails_rather_than_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SERVERS, "time", (tmp_path / "absent" / "mcp-server-time", [], {}))
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        _capture("time", tmp_path)
