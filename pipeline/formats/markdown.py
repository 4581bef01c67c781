"""Markdown for `$GITHUB_STEP_SUMMARY`: a table of stages, then the findings at or above the threshold."""

from __future__ import annotations

from pipeline.findings import Report, Status

_ICON = {
    Status.PASSED: "✅ passed",
    Status.FAILED: "❌ failed",
    Status.ERROR: "⚠️ could not check",
    Status.SKIPPED: "⏭️ not run",
}


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_markdown(report: Report) -> str:
    code = int(report.exit_code())
    lines = [
        f"## mcp-harden {report.tool_version}: exit {code}",
        "",
        f"Failure threshold: **{report.threshold.value}**.",
        "",
        "| stage | result | details |",
        "|---|---|---|",
    ]
    for stage in report.stages:
        status = stage.status(report.threshold)
        details = (
            stage.error
            or stage.skipped
            or ", ".join(
                f"{k.replace('_', ' ')}: {v}"
                for k, v in stage.summary.items()
                if not isinstance(v, (dict, list))
            )
        )
        lines.append(f"| {_cell(stage.stage)} | {_ICON[status]} | {_cell(details)} |")
    shown = [f for s in report.stages for f in s.findings if f.suppressed is None]
    if shown:
        shown.sort(key=lambda f: -f.severity.rank)
        lines += ["", "| severity | rule | finding | where | fix |", "|---|---|---|---|---|"]
        for f in shown[:200]:
            lines.append(
                f"| {f.severity.value} | `{f.rule_id}` | {_cell(f.title)} | {_cell(f.location)} | {_cell(f.fix)} |"
            )
        if len(shown) > 200:
            lines.append(f"\n{len(shown) - 200} more finding(s) in the JSON or SARIF report.")
    suppressed = [f for s in report.stages for f in s.findings if f.suppressed is not None]
    if suppressed:
        lines += ["", f"<details><summary>{len(suppressed)} suppressed finding(s)</summary>", ""]
        lines += [f"- `{f.rule_id}` {_cell(f.title)}: {_cell(f.suppressed)}" for f in suppressed]
        lines += ["", "</details>"]
    notes = [(s.stage, n) for s in report.stages for n in s.notes]
    if notes:
        lines += ["", "**Notes**", ""] + [f"- {stage}: {_cell(n)}" for stage, n in notes]
    return "\n".join(lines) + "\n"
