"""A readable terminal summary: one line per stage, then the findings, then the verdict."""

from __future__ import annotations

from pipeline.findings import Report, Status
from pipeline.rules.registry import help_uri_for

_MARK = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.ERROR: "ERROR", Status.SKIPPED: "SKIP"}
_COLOR = {Status.PASSED: "32", Status.FAILED: "31", Status.ERROR: "35", Status.SKIPPED: "33"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def _summary_line(summary: dict) -> str:
    """Scalars and short lists of scalars; nested detail stays in the JSON report."""
    parts = []
    for key, value in summary.items():
        if (
            isinstance(value, list)
            and len(value) <= 8
            and all(isinstance(v, (str, int, float)) for v in value)
        ):
            value = " ".join(str(v) for v in value) or "none"
        elif isinstance(value, (dict, list)):
            continue
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return ", ".join(parts)


def render_text(report: Report, *, color: bool = False) -> str:
    out = [f"mcp-harden {report.tool_version} (fail on {report.threshold.value} and above)", ""]
    for stage in report.stages:
        status = stage.status(report.threshold)
        mark = _paint(f"[{_MARK[status]:5}]", _COLOR[status], color)
        detail = stage.error or stage.skipped or _summary_line(stage.summary)
        if status is Status.ERROR:
            detail = f"could not check: {detail}"
        elif status is Status.SKIPPED:
            detail = f"not run: {detail}"
        out.append(f"{mark} {stage.stage:16} {detail}".rstrip())
        for note in stage.notes:
            out.append(f"{'':8} {'':16} note: {note}")
        for path in stage.outputs:
            out.append(f"{'':8} {'':16} wrote {path}")
    for stage in report.stages:
        if not stage.findings:
            continue
        out += ["", f"{stage.stage}: {len(stage.findings)} finding(s)"]
        ordered = sorted(stage.findings, key=lambda f: (-f.severity.rank, f.rule_id, str(f.location)))
        for f in ordered:
            sev = f.severity.value.upper()
            tag = f" (suppressed: {f.suppressed})" if f.suppressed is not None else ""
            out.append(f"  {sev:8} {f.rule_id}  {f.title}{tag}")
            out.append(f"  {'':8} at {f.location}")
            if f.evidence:
                out.append(f"  {'':8} evidence: {_one_line(f.evidence)}")
            if f.fix:
                out.append(f"  {'':8} fix: {_one_line(f.fix)}")
            more = help_uri_for(f.rule_id)
            if more:
                out.append(f"  {'':8} more: {more} (mcp-harden explain {f.rule_id})")
    code = report.exit_code()
    failing = sum(len(s.failing(report.threshold)) for s in report.stages)
    errors = [s.stage for s in report.stages if s.status(report.threshold) is Status.ERROR]
    skipped = [s.stage for s in report.stages if s.status(report.threshold) is Status.SKIPPED]
    verdict = {0: "PASSED", 1: "FAILED", 3: "INCOMPLETE"}.get(int(code), "FAILED")
    parts = [f"{failing} finding(s) at or above {report.threshold.value}"]
    if errors:
        parts.append(f"could not check: {', '.join(errors)}")
    if skipped:
        parts.append(f"not run: {', '.join(skipped)}")
    out += ["", f"Result: {verdict} (exit {int(code)}): " + "; ".join(parts)]
    return "\n".join(out) + "\n"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
