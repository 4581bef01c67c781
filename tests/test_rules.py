"""The rule registry: every id that the code can emit is declared, every declared rule is tested and
documented, the documentation page is current, and suppressions behave the same in every stage."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import Suppression
from pipeline.findings import Location, Report, Severity, StageResult
from pipeline.rules import DOCS_URL, STAGES, all_rules, declare, lookup
from pipeline.rules.docs import render_page, rule_docs
from pipeline.rules.suppress import SUPPRESSION_EXPIRED, SUPPRESSION_UNUSED, apply_policy_suppressions

ROOT = Path(__file__).resolve().parent.parent
LITERAL = re.compile(r"[\"'](MH-[A-Z0-9]+(?:-[A-Z0-9]+)+)[\"']")


def _sources(folder: str, suffixes: tuple[str, ...]) -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8", errors="replace")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and path.suffix in suffixes
    }


def test_every_id_in_the_code_is_declared() -> None:
    declared = {rule.id for rule in all_rules()}
    for path, text in _sources("pipeline", (".py",)).items():
        for match in LITERAL.finditer(text):
            assert match.group(1) in declared, f"{path.relative_to(ROOT)}: {match.group(1)} is not declared"


# Rules that no test names yet, being covered by the stages' own rework; this list may only shrink.
NOT_YET_TESTED: set[str] = set()


def test_every_declared_rule_is_tested() -> None:
    """A rule no test names is a rule nobody has seen fire."""
    sources = _sources("tests", (".py", ".json", ".yml", ".yaml"))
    this = sources.pop(Path(__file__).resolve())
    head, _, rest = this.partition("NOT_YET_TESTED = {")
    named = "\n".join([head, rest.partition("}")[2], *sources.values()])
    untested = {rule.id for rule in all_rules() if rule.id not in named}
    assert untested <= NOT_YET_TESTED, (
        f"declared but never named by a test: {sorted(untested - NOT_YET_TESTED)}"
    )
    assert untested >= NOT_YET_TESTED, (
        f"tested now, drop from NOT_YET_TESTED: {sorted(NOT_YET_TESTED - untested)}"
    )


def test_rules_are_well_formed() -> None:
    rules = all_rules()
    assert len(rules) >= 100
    names = [(r.stage, r.name) for r in rules]
    assert len(set(names)) == len(names), "two rules of one stage share a short name"
    for rule in rules:
        assert rule.summary and rule.fix, rule.id
        assert rule.help_uri == f"{DOCS_URL}#{rule.id.lower()}"
        assert lookup(rule.id) is rule


def test_a_second_declaration_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        declare("MH-WF-YAML", name="x", summary="x", severity=Severity.LOW, stage="lint-workflows")
    with pytest.raises(ValueError, match="form"):
        declare("mh-lower", name="x", summary="x", severity=Severity.LOW, stage="sbom")


def test_documented_rules_exist() -> None:
    declared = {rule.id for rule in all_rules()}
    stray = sorted(set(rule_docs()) - declared)
    assert not stray, f"documented but not declared: {stray}"
    for rule_id, texts in rule_docs().items():
        assert set(texts) <= {"why", "bad", "good"}, rule_id


def test_the_rules_page_is_current() -> None:
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert page == render_page(), (
        "docs/rules.md is stale: mcp-harden explain --all --markdown > docs/rules.md"
    )
    for rule in all_rules():
        assert f"\n### {rule.id}\n" in page


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "MH-WF-UNPINNED"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# MH-WF-UNPINNED") and "ignore[MH-WF-UNPINNED]" in out and DOCS_URL in out
    assert main(["explain", "mh-policy-*", "--list"]) == 0
    assert capsys.readouterr().out.count("MH-POLICY-") == 2
    assert main(["explain", "MH-NO-SUCH"]) == 2
    assert "no rule matches" in capsys.readouterr().err


def _report() -> Report:
    rule = lookup("MH-TLS-CIPHER-CBC")
    assert rule is not None
    stage = StageResult(stage="endpoint", rules=[rule])
    stage.add(rule.finding(location=Location(url="https://a.example/mcp")))
    stage.add(rule.finding(location=Location(url="https://b.example/mcp")))
    return Report(stages=[stage], threshold=Severity.LOW)


def test_suppression_by_rule_glob_and_where() -> None:
    report = _report()
    entries = [Suppression(rule="MH-TLS-*", where="https://a.example/*", reason="legacy balancer")]
    apply_policy_suppressions(report, entries, source="p.yaml")
    a, b = report.stages[0].findings
    assert a.suppressed == "legacy balancer" and b.suppressed is None
    assert len(report.stages) == 1  # used, not expired: nothing to report
    assert int(report.exit_code()) == 1  # b still fails


def test_expired_and_unused_suppressions_are_findings() -> None:
    report = _report()
    past = dt.date(2020, 1, 1)
    entries = [
        Suppression(rule="MH-TLS-CIPHER-CBC", reason="old", expires=past),
        Suppression(rule="MH-TLS-CIPHER-CBC", where="https://nowhere/*", reason="stale"),
        Suppression(rule="MH-TOOL-*", reason="not checked in this run"),
    ]
    apply_policy_suppressions(report, entries, source="p.yaml")
    assert all(f.suppressed is None for f in report.stages[0].findings)  # the expired one applies no more
    policy = report.stages[-1]
    assert policy.stage == "policy"
    assert [f.rule_id for f in policy.findings] == [SUPPRESSION_EXPIRED.id, SUPPRESSION_UNUSED.id]
    assert SUPPRESSION_EXPIRED.id == "MH-POLICY-SUPPRESSION-EXPIRED"
    assert SUPPRESSION_UNUSED.id == "MH-POLICY-SUPPRESSION-UNUSED"
    assert "suppress[1]" in str(policy.findings[1].location)  # MH-TOOL-* was not checked: not "unused"


def test_policy_suppress_applies_through_the_cli(tmp_path: Path) -> None:
    """The top-level `suppress:` of the policy reaches a stage's findings (here lint-workflows, no zizmor)."""
    workflow = tmp_path / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: push\npermissions: {}\nconcurrency: {group: ci}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo hi\n",
        encoding="utf-8",
    )
    report = tmp_path / "r.json"
    assert (
        main(["lint-workflows", str(tmp_path), "--no-zizmor", "--json", str(report), "--fail-on", "info"])
        == 0
    )
    policy = tmp_path / "mcp-harden.yaml"
    policy.write_text('suppress:\n  - rule: MH-WF-UNPINNED\n    reason: "none here"\n', encoding="utf-8")
    code = main(["lint-workflows", str(tmp_path), "--no-zizmor", "--policy", str(policy), "--fail-on", "low"])
    assert code == 1  # the unused suppression is a low finding of its own


def test_inline_ignore_in_a_workflow_needs_a_reason(tmp_path: Path) -> None:
    from pipeline.workflows import run_lint

    def lint(comment: str) -> list[tuple[str, str | None]]:
        path = tmp_path / f"w{len(comment)}.yml"
        path.write_text(
            "on: push\npermissions: {}\nconcurrency: {group: ci}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
            f"    steps:\n      - uses: some/action@v1 {comment}\n",
            encoding="utf-8",
        )
        return [(f.rule_id, f.suppressed) for f in run_lint([path], zizmor=False).findings]

    assert lint("") == [("MH-WF-UNPINNED", None)]
    assert lint("# mcp-harden: ignore[MH-WF-UNPINNED]") == [("MH-WF-UNPINNED", None)]  # no reason
    assert lint("# mcp-harden: ignore[MH-WF-PIN-COMMENT] other rule") == [("MH-WF-UNPINNED", None)]
    assert lint("# mcp-harden: ignore[MH-WF-*] vendored, pinned by the mirror") == [
        ("MH-WF-UNPINNED", "inline ignore: vendored, pinned by the mirror")
    ]


# The stages whose rules this page documents in full (the others are documented with their own rework).
DOCUMENTED_STAGES = {"policy", "sbom", "audit", "manifest", "verify", "lint-workflows"}
DOCUMENTED_PREFIXES = ("MH-TLS-", "MH-HTTP-")


def _documented() -> list[str]:
    return [
        rule.id
        for rule in all_rules()
        if rule.stage in DOCUMENTED_STAGES or rule.id.startswith(DOCUMENTED_PREFIXES)
    ]


def test_documented_stages_explain_every_rule() -> None:
    """Every rule of these stages says why it matters and shows a bad and a good example."""
    ids = _documented()
    assert len(ids) >= 70
    docs = rule_docs()
    for rule_id in ids:
        texts = docs.get(rule_id, {})
        missing = [key for key in ("why", "bad", "good") if not texts.get(key, "").strip()]
        assert not missing, f"{rule_id}: no {', '.join(missing)} in pipeline/data/rules/*.yaml"
        assert texts["bad"] != texts["good"], rule_id
        why = lookup(rule_id)
        assert why is not None and texts["why"] != why.summary, f"{rule_id}: 'why' repeats the summary"


@pytest.mark.parametrize("rule_id", sorted(r.id for r in all_rules() if r.stage == "lint-workflows"))
def test_workflow_examples_are_exact(tmp_path: Path, rule_id: str) -> None:
    """The documented bad workflow fires the rule; the good one passes every mcp-harden workflow rule."""
    from pipeline.workflows import run_lint

    texts = rule_docs()[rule_id]
    found = {}
    for kind in ("bad", "good"):
        path = tmp_path / f"{kind}.yml"
        path.write_text(texts[kind] + "\n", encoding="utf-8")
        found[kind] = {f.rule_id for f in run_lint([path], zizmor=False).findings}
    assert rule_id in found["bad"], found["bad"]
    assert found["good"] == set(), found["good"]


def test_sarif_links_every_rule_to_its_documentation() -> None:
    """A SARIF report of several stages (real lint-workflows with zizmor, and a finding of one rule of every
    other stage): each rule object links to its section of docs/rules.md and carries the text; zizmor's
    audits link to zizmor's page."""
    import json

    from pipeline.formats import render
    from pipeline.formats.sarif import ZIZMOR_AUDITS
    from pipeline.workflows import run_lint

    fixtures = ROOT / "tests" / "workflows_fixtures"
    lint = run_lint([fixtures / "bad-unpinned.yml", fixtures / "bad-concurrency.yml"], zizmor=True)
    stages = [lint]
    for name in STAGES:
        rule = next((r for r in all_rules() if r.stage == name), None)
        if rule is None or name == "lint-workflows":  # a stage with no rules of its own (sign)
            continue
        stages.append(StageResult(stage=name, rules=[rule], findings=[rule.finding(location=Location())]))
    report = Report(stages=stages, threshold=Severity.LOW)
    sarif = json.loads(render(report, "sarif"))
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    docs = rule_docs()
    assert len(run["results"]) == len(report.findings)
    seen_zizmor = 0
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        if rule["id"].startswith("zizmor/"):
            seen_zizmor += 1
            assert rule["helpUri"] == ZIZMOR_AUDITS + "#" + rule["id"].removeprefix("zizmor/")
            continue
        declared = lookup(rule["id"])
        assert declared is not None, rule["id"]
        anchor = rule["id"].lower()
        assert rule["helpUri"] == f"{DOCS_URL}#{anchor}"
        assert f"\n### {rule['id']}\n" in page  # GitHub derives the anchor `anchor` from this heading
        text = rule["help"]["text"]
        assert text.startswith(f"# {rule['id']}\n") and declared.summary in text
        assert rule["helpUri"] in text
        if rule["id"] in docs and docs[rule["id"]].get("why"):
            assert docs[rule["id"]]["why"] in text
    assert seen_zizmor >= 1, "zizmor reported nothing on the fixtures"
    assert len({result["properties"]["stage"] for result in run["results"]}) >= 8
    assert {r["id"] for r in rules} >= {"MH-WF-UNPINNED", "MH-WF-CONCURRENCY", "MH-SBOM-INCOMPLETE"}


def test_the_starter_policys_suppress_example_is_valid() -> None:
    """Uncommented, the starter policy's `suppress:` example is a policy the loader accepts."""
    import itertools

    from pipeline.config import STARTER, parse_policy

    lines = STARTER.splitlines()
    start = lines.index("suppress: []") + 1
    example = [line[2:] for line in itertools.takewhile(lambda x: x.startswith("# "), lines[start:])]
    assert example, "no commented example after `suppress: []`"
    policy = parse_policy("\n".join(["suppress:", *example]) + "\n")
    (entry,) = policy.suppress
    assert (entry.rule, entry.where, entry.expires) == (
        "MH-TLS-CIPHER-CBC",
        "https://legacy.example.com/*",
        dt.date(2027, 3, 31),
    )
    assert entry.reason.strip()
