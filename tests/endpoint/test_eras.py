"""Era detection and the 2026-07-28 transport and tools checks, against the official SDK's server (dual-era)
and a thin ASGI wrapper around it for one era only and for each fault the SDK cannot be configured to make.
The judges are pure functions: also checked here on answers built by hand and by hypothesis."""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.endpoint import check_endpoint, eras, modern, tools_list
from pipeline.endpoint.eras import Answer
from pipeline.endpoint.rules_mcp import (
    AS_CIMD,
    AS_ISS,
    DISCOVER,
    ERROR_CODE,
    GET,
    HEADER_MISMATCH,
    META,
    NOT_ENDPOINT,
    NOTIFICATION,
    OFFLINE_ACCESS,
    PROTOCOL_VERSION,
    SESSIONLESS,
    TOOL_HEADER,
    TOOL_NAME,
    TOOL_ORDER,
    TOOL_REF,
    UNKNOWN_METHOD,
)
from pipeline.findings import StageResult
from tests.endpoint.mcp_servers import McpDeployment
from tests.endpoint.test_mcp_http import options

ERA_RULES = {
    r.id for r in (DISCOVER, ERROR_CODE, HEADER_MISMATCH, META, NOTIFICATION, SESSIONLESS, UNKNOWN_METHOD)
}
TOOL_RULES = {r.id for r in (TOOL_HEADER, TOOL_NAME, TOOL_ORDER, TOOL_REF)}


def found(stage: StageResult) -> set[str]:
    return {f.rule_id for f in stage.findings}


@pytest.mark.parametrize(
    ("era", "said"),
    [("both", "2026-07-28 and 2025-11-25"), ("modern", "2026-07-28"), ("legacy", "2025-11-25")],
)
def test_eras_detected_and_a_right_server_is_clean(
    mcp_server: Callable[..., McpDeployment], era: str, said: str
) -> None:
    deployment = mcp_server(era=era)
    stage = check_endpoint(deployment.url, options(deployment))
    assert stage.error is None, stage.error
    assert stage.summary["eras"] == said
    assert any(n.startswith(f"the server speaks {said}") for n in stage.notes), stage.notes
    assert not found(stage) & (ERA_RULES | TOOL_RULES | {PROTOCOL_VERSION.id, GET.id}), stage.findings
    if era != "legacy":
        assert stage.summary["modern_transport"] == "checked"
        assert stage.summary["supported_versions"] == "2026-07-28"
    if era == "modern":
        assert "sessions" not in stage.summary  # the 2025-11-25 session checks did not run on it
    else:
        assert stage.summary["sessions"] == "stateful"


@pytest.mark.parametrize(
    ("fault", "era", "rule", "title"),
    [
        ("no-header-check", "both", HEADER_MISMATCH, "Mcp-Method header does not match"),
        ("no-header-check", "both", HEADER_MISMATCH, "Mcp-Name header does not match"),
        ("unsupported-no-list", "both", PROTOCOL_VERSION, "does not list the supported versions"),
        ("unknown-method-200", "both", UNKNOWN_METHOD, "does not implement gets 200"),
        ("meta-lenient", "both", META, "missing the required _meta"),
        ("mints-session", "both", SESSIONLESS, "mints an Mcp-Session-Id"),
        ("notification-200", "both", NOTIFICATION, "A notification gets 200"),
        ("reserved-code", "both", ERROR_CODE, "-32050"),
        ("modern-get-served", "modern", GET, "GET on a 2026-07-28-only endpoint"),
        ("modern-get-served", "modern", GET, "DELETE on a 2026-07-28-only endpoint"),
        ("bad-tools", "both", TOOL_NAME, "Two tools are named 'echo'"),
        ("bad-tools", "both", TOOL_NAME, "'bad name!'"),
        ("bad-tools", "both", TOOL_HEADER, "'region' is used twice"),
        ("bad-tools", "both", TOOL_REF, "https://schemas.example/evil.json"),
        ("tools-shuffle", "both", TOOL_ORDER, "in another order"),
    ],
)
def test_each_modern_fault_is_found(
    mcp_server: Callable[..., McpDeployment], fault: str, era: str, rule: object, title: str
) -> None:
    deployment = mcp_server(era=era, modern_fault=fault)
    stage = check_endpoint(deployment.url, options(deployment))
    assert stage.error is None, stage.error
    titles = [f.title for f in stage.findings if f.rule_id == rule.id]  # type: ignore[attr-defined]
    assert any(title in t for t in titles), (titles, [f.title for f in stage.findings])
    hit = next(f for f in stage.findings if f.rule_id == rule.id and title in f.title)  # type: ignore[attr-defined]
    assert hit.references and hit.references[0].startswith("https://modelcontextprotocol.io/specification/")
    assert "spec wants:" in hit.evidence


def test_findings_name_the_conformance_scenario(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server(modern_fault="no-header-check")
    stage = check_endpoint(deployment.url, options(deployment))
    hit = next(f for f in stage.findings if f.rule_id == HEADER_MISMATCH.id)
    assert hit.properties["conformance_scenario"] == "http-header-validation"
    assert hit.references[0].endswith("streamable-http#server-validation")  # the spec anchor first
    assert hit.references[1].startswith("https://github.com/modelcontextprotocol/conformance/blob/main/src/")


# --- the pure judges ----------------------------------------------------------------------------------


def answer(status: int, code: int | None = None, *, data: object = None, body: bytes = b"x") -> Answer:
    message = None
    if code is not None:
        message = {"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": "m", "data": data}}
    return Answer(status, "application/json", body, None, message)


def test_header_mismatch_wants_400_and_32020() -> None:
    assert modern.judge_header_mismatch("method-mismatch", answer(400, eras.HEADER_MISMATCH)) == []
    assert modern.judge_header_mismatch("name-mismatch", answer(400, eras.INVALID_PARAMS))  # wrong code
    assert modern.judge_header_mismatch("version-mismatch", answer(200, eras.HEADER_MISMATCH))  # wrong status


def test_unsupported_version_must_list_supported() -> None:
    ok = answer(400, eras.UNSUPPORTED_VERSION, data={"supported": ["2026-07-28"], "requested": "1999-01-01"})
    assert modern.judge_unsupported_version(ok) == []
    for data in (None, {"supported": []}, {"supported": [1]}, {"requested": "x"}):
        assert modern.judge_unsupported_version(answer(400, eras.UNSUPPORTED_VERSION, data=data))


@given(st.integers(min_value=-33000, max_value=-31000))
def test_reserved_codes(code: int) -> None:
    issues = modern.judge_error_codes([("probe", answer(400, code))])
    reserved_undefined = -32099 <= code <= -32020 and code not in (-32020, -32021, -32022)
    assert bool(issues) == (reserved_undefined or code in (-32002, -32042))


@given(st.integers(min_value=100, max_value=599), st.binary(max_size=8))
def test_notification_judge(status: int, body: bytes) -> None:
    issues = modern.judge_notification(Answer(status, "", body))
    accepted_right = status == 202 and not body.strip()
    assert bool(issues) == (not accepted_right and status < 400)


@given(st.text(alphabet=string.printable + "é", max_size=140))
def test_tool_names(name: str) -> None:
    issues = tools_list.judge_names([{"name": name}])
    valid = 1 <= len(name) <= 128 and all(c in string.ascii_letters + string.digits + "_-." for c in name)
    assert bool(issues) == (not valid)


@given(st.text(max_size=40))
def test_network_refs_are_every_ref_leaving_the_document(ref: str) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": ref}},
        "$defs": {"x": {"items": [{"$ref": ref}]}},
    }
    assert tools_list.network_refs(schema) == ([] if ref.startswith("#") else [ref, ref])


def test_x_mcp_header_rules() -> None:
    def tool(**props: dict) -> dict:
        return {"name": "t", "inputSchema": {"type": "object", "properties": props}}

    assert tools_list.judge_headers(tool(a={"type": "string", "x-mcp-header": "Region"})) == []
    assert (
        tools_list.judge_headers(
            tool(n={"type": "object", "properties": {"b": {"type": "integer", "x-mcp-header": "B"}}})
        )
        == []
    )
    bad = [
        tool(a={"type": "string", "x-mcp-header": ""}),
        tool(a={"type": "string", "x-mcp-header": "a\r\nb"}),
        tool(a={"type": "string", "x-mcp-header": "X"}, b={"type": "string", "x-mcp-header": "x"}),
        tool(a={"type": "number", "x-mcp-header": "N"}),
        tool(a={"type": "array", "items": {"type": "string", "x-mcp-header": "I"}}),
        tool(a={"anyOf": [{"type": "string", "x-mcp-header": "U"}]}),
    ]
    for case in bad:
        assert tools_list.judge_headers(case), case


def test_era_verdicts() -> None:
    result = {"jsonrpc": "2.0", "id": 1, "result": {"supportedVersions": ["2026-07-28"], "capabilities": {}}}
    discover_ok = Answer(200, "application/json", b"{}", None, result)
    init_ok = Answer(
        200,
        "application/json",
        b"{}",
        None,
        {"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}},
    )
    refused = answer(400, -32600)
    assert eras.judge_eras(discover_ok, init_ok).spoken == ["2026-07-28", "2025-11-25"]
    assert eras.judge_eras(discover_ok, refused).spoken == ["2026-07-28"]
    assert eras.judge_eras(refused, init_ok).spoken == ["2025-11-25"]
    assert eras.judge_eras(Answer(405, "text/html", b"<html>"), Answer(404, "", b"")).spoken == []
    # A modern error names a modern server even when the version it lists is another.
    other = answer(400, eras.UNSUPPORTED_VERSION, data={"supported": ["2027-01-01"]})
    assert eras.judge_eras(other, refused).spoken == []
    assert eras.judge_eras(answer(404, eras.METHOD_NOT_FOUND), refused).spoken == ["2026-07-28"]
    assert eras.judge_eras(answer(200, eras.METHOD_NOT_FOUND), refused).spoken == []


@pytest.mark.parametrize(
    ("variant", "rule_id", "title"),
    [
        ("no-iss", AS_ISS.id, "does not advertise the iss"),
        ("dcr-only", AS_CIMD.id, "dynamic client registration only"),
        ("plain-endpoint", "MH-MCP-AS-HTTPS", "names plain-HTTP endpoints"),
        ("offline-access", OFFLINE_ACCESS.id, "offers the offline_access scope"),
    ],
)
def test_authorization_metadata_variants(
    mcp_server: Callable[..., McpDeployment], variant: str, rule_id: str, title: str
) -> None:
    right = mcp_server()
    stage = check_endpoint(right.url, options(right))
    assert not {f.rule_id for f in stage.findings} & {
        "MH-MCP-AS-ISS",
        "MH-MCP-AS-CIMD",
        "MH-MCP-OFFLINE-ACCESS",
    }
    deployment = mcp_server(as_variant=variant)
    stage = check_endpoint(deployment.url, options(deployment))
    assert stage.error is None, stage.error
    assert any(f.rule_id == rule_id and title in f.title for f in stage.findings), [
        f"{f.rule_id} {f.title}" for f in stage.findings
    ]


def test_rule_ids_are_stable() -> None:
    """Ids are what users suppress by: the objects keep the ids they were published with."""
    published = {
        AS_CIMD: "MH-MCP-AS-CIMD",
        AS_ISS: "MH-MCP-AS-ISS",
        DISCOVER: "MH-MCP-DISCOVER",
        ERROR_CODE: "MH-MCP-ERROR-CODE",
        GET: "MH-MCP-GET",
        HEADER_MISMATCH: "MH-MCP-HEADER-MISMATCH",
        META: "MH-MCP-META",
        NOTIFICATION: "MH-MCP-NOTIFICATION",
        OFFLINE_ACCESS: "MH-MCP-OFFLINE-ACCESS",
        PROTOCOL_VERSION: "MH-MCP-PROTOCOL-VERSION",
        SESSIONLESS: "MH-MCP-SESSIONLESS",
        TOOL_HEADER: "MH-MCP-TOOL-HEADER",
        TOOL_NAME: "MH-MCP-TOOL-NAME",
        TOOL_ORDER: "MH-MCP-TOOL-ORDER",
        TOOL_REF: "MH-MCP-TOOL-REF",
        UNKNOWN_METHOD: "MH-MCP-UNKNOWN-METHOD",
        NOT_ENDPOINT: "MH-MCP-NOT-ENDPOINT",
    }
    for rule, rule_id in published.items():
        assert rule.id == rule_id
        assert rule.stage == "check-endpoint"
        assert "“" in rule.standard and "https://modelcontextprotocol.io/specification/" in rule.standard


def test_metadata_judges_are_pure() -> None:
    from pipeline.endpoint.metadata import judge_authorization_server, judge_protected_resource

    url = "https://mcp.example/mcp"
    good_prm = {"resource": url, "authorization_servers": ["https://as.example"], "scopes_supported": ["mcp"]}
    assert judge_protected_resource(good_prm, url) == []
    assert judge_protected_resource({**good_prm, "resource": "https://MCP.example/mcp/"}, url) == []
    titles = [j.title for j in judge_protected_resource({"resource": "https://other.example/mcp"}, url)]
    assert titles == [
        "The metadata's resource is not this endpoint",
        "The metadata names no authorization server",
    ]
    offline = judge_protected_resource({**good_prm, "scopes_supported": "mcp offline_access"}, url)
    assert [j.rule_id for j in offline] == [OFFLINE_ACCESS.id]
    issuer = "https://as.example"
    good_as = {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/token",
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
    }
    assert judge_authorization_server(good_as, issuer, "as.example") == []
    plain = judge_authorization_server(
        {**good_as, "token_endpoint": "HTTP://as.example/token"}, issuer, "as.example"
    )
    assert [j.rule_id for j in plain] == ["MH-MCP-AS-HTTPS"]
    weak = judge_authorization_server({**good_as, "code_challenge_methods_supported": ["plain"]}, issuer, "x")
    assert [j.severity.value for j in weak] == ["high"]
    assert judge_authorization_server({**good_as, "issuer": "https://evil.example"}, issuer, "x")
