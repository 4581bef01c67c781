"""The template's HTTP mode is the secure reference: check-endpoint finds nothing on it, in both eras, with
every token kind; and the same harness does find a fault once one is configured in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.endpoint import selftest


def test_template_http_mode_is_clean_in_both_eras(tmp_path: Path) -> None:
    result = selftest.run(tmp_path)
    stage = result.stage
    assert stage.error is None, stage.error
    assert [f"{f.severity.value} {f.rule_id}: {f.title}" for f in stage.findings] == []
    summary = stage.summary
    assert summary["eras"] == "2026-07-28 and 2025-11-25"
    assert summary["authentication"] == "required"
    assert summary["sessions"] == "stateful" and summary["modern_transport"] == "checked"
    assert summary["tools_2026-07-28"] == summary["tools_2025-11-25"] == 3
    assert summary["hsts"] == "max-age=63072000"
    assert summary["tls_compliant_intermediate"] == "yes"
    assert not [n for n in stage.notes if "not run" in n], stage.notes  # every token kind was used
    assert summary["seconds"] <= 2.0


@pytest.mark.parametrize(
    ("env", "rule_id"),
    [
        ({"MCP_ALLOWED_ORIGINS": "https://evil.example"}, "MH-MCP-ORIGIN"),
        ({"MCP_REQUIRED_SCOPES": "mcp offline_access"}, "MH-MCP-OFFLINE-ACCESS"),
    ],
)
def test_the_selftest_sees_a_misconfigured_template(
    tmp_path: Path, env: dict[str, str], rule_id: str
) -> None:
    stage = selftest.run(tmp_path, env).stage
    assert rule_id in {f.rule_id for f in stage.findings}, [f.title for f in stage.findings]


def test_http_mode_refuses_to_start_without_auth_settings() -> None:
    import sys

    sys.path.insert(0, str(selftest.TEMPLATE_SRC))
    from example_server import secure_http

    for env, message in (
        ({}, "MCP_RESOURCE_URL is not set"),
        ({"MCP_RESOURCE_URL": "https://a.example/mcp"}, "MCP_AUTH_ISSUER is not set"),
        (
            {"MCP_RESOURCE_URL": "https://a.example/mcp", "MCP_AUTH_ISSUER": "https://as.example"},
            "exactly one of MCP_AUTH_JWKS_URL",
        ),
        (
            {"MCP_RESOURCE_URL": "https://a.example/mcp", "MCP_AUTH_ISSUER": "http://as.example"},
            "is not https",
        ),
    ):
        with pytest.raises(secure_http.ConfigError, match=message):
            secure_http.config_from_env(env)
