"""The template is the secure reference: start `templates/example-server` in HTTP mode on 127.0.0.1 over
HTTPS (a throwaway trustme CA, an ES256 token issuer with a JWKS), run check-endpoint against it in both
eras with every token kind, and report what it found. `python -m tests.endpoint.selftest` exits 0 when it
comes out clean (no finding at all: info included), 1 otherwise; the nox session endpoint-selftest runs it."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.endpoint import Credentials, EndpointOptions, check_endpoint
from pipeline.findings import StageResult
from tests.endpoint.mcp_servers import _bind, make_pki, serve_asgi
from tests.endpoint.token_issuer import new_issuer

TEMPLATE_SRC = Path(__file__).resolve().parents[2] / "templates" / "example-server" / "src"


@dataclass
class SelfTest:
    stage: StageResult
    url: str


def run(folder: Path, extra_env: dict[str, str] | None = None) -> SelfTest:
    if str(TEMPLATE_SRC) not in sys.path:
        sys.path.insert(0, str(TEMPLATE_SRC))
    from example_server import secure_http

    pki = make_pki(folder)
    issuer_sock, server_sock = _bind(), _bind()
    issuer = new_issuer(f"https://127.0.0.1:{issuer_sock.getsockname()[1]}")
    url = f"https://127.0.0.1:{server_sock.getsockname()[1]}/mcp"
    env = {
        "MCP_RESOURCE_URL": url,
        "MCP_AUTH_ISSUER": issuer.issuer,
        "MCP_AUTH_JWKS_URL": f"{issuer.issuer}/jwks",
        "MCP_AUTH_CA_FILE": str(pki.ca_file),
        "MCP_TLS_CERT": str(pki.cert_file),
        "MCP_TLS_KEY": str(pki.key_file),
        **(extra_env or {}),
    }
    config = secure_http.config_from_env(env)
    servers = [serve_asgi(issuer.app(), issuer_sock, pki)]
    try:
        app = secure_http.build_app(config)
        servers.append(serve_asgi(app, server_sock, pki, options=secure_http.uvicorn_options(config)))
        creds = Credentials(
            token=issuer.mint("alice", url, "mcp"),
            foreign_token=issuer.mint("alice", "https://other.example/mcp", "mcp"),
            second_token=issuer.mint("bob", url, "mcp"),
            low_scope_token=issuer.mint("carol", url, ""),
            expired_token=issuer.mint("alice", url, "mcp", lifetime=-120),
        )
        options = EndpointOptions(ca_file=str(pki.ca_file), creds=creds, timeout=5.0, http_port=0)
        return SelfTest(check_endpoint(url, options), url)
    finally:
        for served in servers:
            served.stop()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mcp-harden-selftest-") as folder:
        result = run(Path(folder))
    stage = result.stage
    print(
        f"endpoint self-test: {result.url}: eras {stage.summary.get('eras')}; {stage.summary.get('seconds')} s"
    )
    for finding in stage.findings:
        print(f"  {finding.severity.value:8} {finding.rule_id}: {finding.title}")
    for note in stage.notes:
        print(f"  note: {note}")
    if stage.error:
        print(f"  error: {stage.error}")
    clean = (
        not stage.findings
        and stage.error is None
        and stage.summary.get("eras") == "2026-07-28 and 2025-11-25"
    )
    verdict = (
        "clean"
        if clean
        else f"NOT clean ({len(stage.findings)} findings{', could not check' if stage.error else ''})"
    )
    print(f"endpoint self-test: {verdict}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
