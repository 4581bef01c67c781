"""Renderings of a `Report`: text for terminals, JSON for machines, SARIF 2.1.0 for code scanning,
Markdown for `$GITHUB_STEP_SUMMARY`."""

from __future__ import annotations

from pipeline.findings import Report


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    if fmt == "text":
        from pipeline.formats.text import render_text

        return render_text(report, color=color)
    if fmt == "json":
        import json

        return json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n"
    if fmt == "sarif":
        from pipeline.formats.sarif import render_sarif

        return render_sarif(report)
    if fmt == "markdown":
        from pipeline.formats.markdown import render_markdown

        return render_markdown(report)
    raise ValueError(f"unknown format {fmt!r}")
