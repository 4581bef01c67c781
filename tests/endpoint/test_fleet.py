"""Many endpoints in one call: an endpoint queued behind slow ones keeps its whole time budget, and the run
builds its TLS client contexts once instead of three per endpoint. Real servers on 127.0.0.1."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.endpoint import check_endpoints
from tests.endpoint.mcp_servers import McpDeployment, RawServer, silent
from tests.endpoint.test_mcp_http import options


def test_a_queued_endpoint_keeps_its_whole_budget(
    mcp_server: Callable[..., McpDeployment], raw_server: Callable[..., RawServer]
) -> None:
    # Two workers, both held by silent servers for the whole 3 s budget: the good endpoint starts after them.
    # Its budget used to start when it was queued, so it was cut off before its first request.
    stop: threading.Event = raw_server.stop_event  # type: ignore[attr-defined]
    slow = [raw_server(silent(stop)) for _ in range(2)]
    good = mcp_server(tls=False)
    urls = [f"http://127.0.0.1:{s.port}/mcp" for s in slow] + [good.url]
    opts = options(good, workers=2, timeout=1.0, total_timeout=3.0)
    results = check_endpoints(urls, opts)
    assert [r.error is not None for r in results] == [True, True, False], [r.error for r in results]
    assert results[2].summary["eras"] == "2026-07-28 and 2025-11-25"
    assert results[2].summary["seconds"] < 3.0  # its own time, not the time it waited


def test_the_run_builds_its_tls_contexts_once(
    mcp_server: Callable[..., McpDeployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Any] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(kwargs.get("cafile"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    deployments = [mcp_server() for _ in range(3)]
    results = check_endpoints([d.url for d in deployments], options(deployments[0]))
    assert all(r.error is None for r in results), [r.error for r in results]
    assert all(r.summary.get("tls_protocols") for r in results)
    # The HTTP client's and the two verifying handshakes' (as a client; trust only), for the whole run.
    # Each endpoint and its authorization server used to build their own: 3 + 2 per endpoint.
    assert len(built) == 3, built
    assert set(built) == {deployments[0].ca_file}
