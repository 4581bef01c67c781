"""Many endpoints in one call: an endpoint queued behind slow ones keeps its whole time budget, the run
builds its TLS client contexts once instead of three per endpoint, and endpoints start in turns across their
hosts. Real servers on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.endpoint import EndpointOptions, check_endpoints, dispatch_order
from pipeline.endpoint.http import Target, parse_url
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


def _host_target(host: str, n: int) -> Target:
    return parse_url(f"https://{host}:{8000 + n}/mcp")


@given(st.lists(st.sampled_from(["a.example", "B.example", "c.example", "b.example"]), max_size=40))
def test_endpoints_start_in_turns_across_hosts(hosts: list[str]) -> None:
    targets = [_host_target(host, n) for n, host in enumerate(hosts)]
    order = dispatch_order(targets)
    assert sorted(order) == list(range(len(targets)))  # each endpoint once
    host = [targets[i].host.lower() for i in order]
    for name in set(host):  # each host's endpoints keep the order given
        mine = [i for i in order if targets[i].host.lower() == name]
        assert mine == sorted(mine)
    # Turns: the k-th endpoint of any host starts before the (k+1)-th of any other.
    turn = [host[: position + 1].count(host[position]) for position in range(len(order))]
    assert turn == sorted(turn)


def test_a_list_grouped_by_host_starts_on_every_host(raw_server: Callable[..., RawServer]) -> None:
    # Two workers; two silent endpoints on 127.0.0.1 listed first, then one on localhost. In the order given,
    # localhost's would wait for both silent ones' whole budget; in turns it starts at once.
    stop: threading.Event = raw_server.stop_event  # type: ignore[attr-defined]
    first: dict[int, float] = {}

    def noting(conn: socket.socket) -> None:
        first.setdefault(conn.getsockname()[1], time.monotonic())
        stop.wait(60)

    servers = [raw_server(noting) for _ in range(3)]
    urls = [f"http://127.0.0.1:{servers[0].port}/mcp", f"http://127.0.0.1:{servers[1].port}/mcp"]
    urls.append(f"http://localhost:{servers[2].port}/mcp")
    opts = EndpointOptions(
        workers=2, timeout=0.5, total_timeout=1.5, resolve={("localhost", servers[2].port): "127.0.0.1"}
    )
    results = check_endpoints(urls, opts)
    assert [r.error is not None for r in results] == [True, True, True]  # silent, all three, in given order
    assert [r.stage for r in results] == [f"endpoint {url}" for url in urls]
    assert first[servers[2].port] < first[servers[1].port] - 1.0  # localhost's began a budget earlier
