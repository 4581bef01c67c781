"""Cross-check with the official conformance suite (@modelcontextprotocol/conformance, installed by .ci/run
with the Node it needs into .tools/conformance): run its scenarios and mcp-harden against the same right and
faulty SDK servers on 127.0.0.1, and fail wherever the two disagree on a check both make."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.endpoint import EndpointOptions, check_endpoint
from pipeline.endpoint.rules_mcp import DISCOVER, HEADER_MISMATCH, META, PROTOCOL_VERSION, UNKNOWN_METHOD
from pipeline.rules import Rule
from tests.endpoint.mcp_servers import McpDeployment

ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(os.environ.get("MCP_HARDEN_CONFORMANCE_DIR") or ROOT / ".tools" / "conformance")

# (mcp-harden rule, conformance scenario, the suite's check ids for the same requirement)
SHARED_CHECKS: list[tuple[Rule, str, tuple[str, ...]]] = [
    (HEADER_MISMATCH, "http-header-validation", ("sep-2243-server-reject-invalid-headers",)),
    (
        META,
        "server-stateless",
        (
            "sep-2575-request-meta-invalid-missing-client-capabilities",
            "sep-2575-http-server-meta-invalid-400",
        ),
    ),
    (
        PROTOCOL_VERSION,
        "server-stateless",
        ("sep-2575-server-unsupported-version-error", "sep-2575-http-server-unsupported-version-400"),
    ),
    (UNKNOWN_METHOD, "server-stateless", ("sep-2575-http-server-method-not-found-404",)),
    (DISCOVER, "server-stateless", ("sep-2575-server-implements-discover",)),
]
FAULTS = (None, "no-header-check", "unsupported-no-list", "unknown-method-200", "meta-lenient")


def _suite() -> tuple[Path, Path]:
    node = SUITE / "node_modules" / ".bin" / "node"
    cli = SUITE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    if not node.exists() or not cli.exists():
        pytest.fail(f"the conformance suite is not installed in {SUITE} (.ci/run installs it)")
    return node, cli


def run_suite(url: str, scenario: str, out: Path) -> dict[str, bool]:
    """Each check id of one scenario run: True when every instance of it passed."""
    node, cli = _suite()
    proc = subprocess.run(
        [
            str(node),
            str(cli),
            "server",
            "--url",
            url,
            "--scenario",
            scenario,
            "--spec-version",
            "2026-07-28",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    files = list(out.rglob("checks.json"))
    assert files, f"conformance wrote no checks.json (exit {proc.returncode}): {proc.stderr[-500:]}"
    verdicts: dict[str, bool] = {}
    for check in json.loads(files[0].read_text()):
        ok = check.get("status") in ("SUCCESS", "WARNING", "INFO")
        verdicts[check["id"]] = verdicts.get(check["id"], True) and ok
    return verdicts


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.slow
def test_mcp_harden_and_the_conformance_suite_agree(
    mcp_server: Callable[..., McpDeployment], tmp_path: Path, fault: str | None
) -> None:
    deployment = mcp_server(tls=False, auth=False, modern_fault=fault)
    stage = check_endpoint(deployment.url, EndpointOptions(timeout=5.0, http_port=0))
    assert stage.error is None, stage.error
    ours = {f.rule_id for f in stage.findings}
    results: dict[str, dict[str, bool]] = {}
    disagreements = []
    for rule, scenario, check_ids in SHARED_CHECKS:
        if scenario not in results:
            results[scenario] = run_suite(deployment.url, scenario, tmp_path / scenario)
        seen = [results[scenario][c] for c in check_ids if c in results[scenario]]
        assert seen, f"{scenario} ran none of {check_ids}: the suite changed, update SHARED_CHECKS"
        suite_passes = all(seen)
        if suite_passes == (rule.id in ours):
            disagreements.append(
                f"{rule.id}: conformance {scenario} says {'pass' if suite_passes else 'fail'}, "
                f"mcp-harden {'reports' if rule.id in ours else 'does not report'} it"
            )
    assert not disagreements, disagreements
    if fault is not None:  # each fault is one both see
        assert ours & {r.id for r, _, _ in SHARED_CHECKS}, fault
