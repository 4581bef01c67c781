"""One tool list per role: in 2026-07-28 a tool list may vary by authorization, so `manifest capture` takes a
token per role and pins what each role sees, and `manifest diff` compares role by role. The server is the
real `mcp` SDK's on 127.0.0.1, with bearer auth; its tool list depends on the token's scopes."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pipeline.manifest.record import (
    FORMAT,
    ROLES_FORMAT,
    SECTIONS,
    build_record,
    build_roles,
    digest,
    dumps,
    load,
)
from pipeline.sign import sign_files
from tests.conftest import assert_one_line_error
from tests.endpoint.mcp_servers import _bind, serve_asgi
from tests.manifest.conftest import cli, kinds, stage
from tests.sign.conftest import ENV, IDENTITY, SANDBOX_ISSUER, Release, release  # noqa: F401

ADMIN = "admin-token-0123456789"
READER = "reader-token-0123456789"
GRANTS = {ADMIN: ("admin", ["mcp", "admin"]), READER: ("reader", ["mcp"])}
ROLE_TOKENS = ["--token", f"admin={ADMIN}", "--token", f"reader={READER}"]


def role_app(url: str, issuer: str, *, leak: bool = False) -> Any:
    """The SDK server: `purge_notes` is listed for the admin scope only; `leak` lists it for readers too
    (the drift a pinned per-role list must catch)."""
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.auth.provider import AccessToken
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer

    class Verifier:
        async def verify_token(self, token: str) -> AccessToken | None:
            if token not in GRANTS:
                return None
            user, scopes = GRANTS[token]
            return AccessToken(token=token, client_id=user, scopes=scopes, resource=url, subject=user)

    class RoleServer(MCPServer):
        async def list_tools(self) -> Any:
            tools = await super().list_tools()
            access = get_access_token()
            admin = access is not None and "admin" in access.scopes
            return [t for t in tools if t.name != "purge_notes" or admin or leak]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = RoleServer(
            "role-notes",
            token_verifier=Verifier(),
            auth=AuthSettings(issuer_url=issuer, resource_server_url=url, required_scopes=["mcp"]),
        )

    @server.tool()
    def list_notes() -> list[str]:
        """List the titles of all notes."""
        return []

    @server.tool()
    def purge_notes() -> str:
        """Delete every note. Administrators only."""
        return "purged"

    return server.streamable_http_app(host="127.0.0.1")


@contextmanager
def role_server(*, leak: bool = False) -> Iterator[str]:
    sock = _bind()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    served = serve_asgi(role_app(url, "http://127.0.0.1:9", leak=leak), sock, None)
    try:
        yield url
    finally:
        served.stop()


@pytest.fixture(scope="module")
def pinned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    record = tmp_path_factory.mktemp("roles") / "mcp-manifest.json"
    with role_server() as url:
        result = cli("manifest", "capture", "--format", "json", "--url", url, *ROLE_TOKENS, "-o", str(record))
    assert result.code == 0, result.out + result.err
    assert stage(result)["summary"]["roles"] == {"admin": 2, "reader": 1}
    return record


def tool_names(record: dict[str, Any], role: str) -> list[str]:
    return [t["name"] for t in record["roles"][role]["tools"]]


def test_capture_pins_one_list_per_role(pinned: Path) -> None:
    record = load(pinned)
    assert record["format"] == ROLES_FORMAT
    assert tool_names(record, "admin") == ["list_notes", "purge_notes"]
    assert tool_names(record, "reader") == ["list_notes"]
    for role in ("admin", "reader"):
        assert record["roles"][role]["format"] == FORMAT  # each role's view is a whole record
    # What is hashed (and so what the signature over the file's bytes pins): the format, each role's name
    # and its record's digest, which covers every tool of that role.
    roles = record["roles"]
    assert record["digest"] == digest(
        {"format": ROLES_FORMAT, "roles": {name: rec["digest"] for name, rec in roles.items()}}
    )


def test_diff_with_the_same_tokens_is_identical(pinned: Path) -> None:
    with role_server() as url:
        result = cli("manifest", "diff", str(pinned), "--url", url, *ROLE_TOKENS, "--format", "json")
    assert result.code == 0, result.out + result.err
    assert stage(result)["summary"]["identical"] is True


def test_a_tool_listed_for_a_role_it_was_not_pinned_for(pinned: Path) -> None:
    with role_server(leak=True) as url:
        result = cli("manifest", "diff", str(pinned), "--url", url, *ROLE_TOKENS, "--format", "json")
    assert result.code == 1, result.out + result.err
    (finding,) = stage(result)["findings"]  # the admin's list did not change: nothing for it
    assert finding["rule_id"] == "MH-MANIFEST-TOOL-ADDED"
    assert finding["properties"]["role"] == "reader"
    assert finding["title"] == "role reader: tool purge_notes added"
    assert finding["location"]["logical"] == "role reader tool purge_notes"


def test_a_pinned_role_left_out_is_a_finding(pinned: Path) -> None:
    with role_server() as url:
        result = cli(
            "manifest", "diff", str(pinned), "--url", url, "--token", f"admin={ADMIN}", "--format", "json"
        )
    assert result.code == 1, result.out + result.err
    assert kinds(result) == ["role-removed"]
    assert stage(result)["findings"][0]["rule_id"] == "MH-MANIFEST-ROLE-REMOVED"


def test_a_role_that_is_not_pinned_is_a_finding(tmp_path: Path) -> None:
    only_admin = tmp_path / "admin.json"
    with role_server() as url:
        capture = cli("manifest", "capture", "--url", url, "--token", f"admin={ADMIN}", "-o", str(only_admin))
        assert capture.code == 0, capture.out + capture.err
        result = cli("manifest", "diff", str(only_admin), "--url", url, *ROLE_TOKENS, "--format", "json")
    assert result.code == 1, result.out + result.err
    assert kinds(result) == ["role-added"]
    assert stage(result)["findings"][0]["rule_id"] == "MH-MANIFEST-ROLE-ADDED"


def test_two_records_compare_role_by_role(pinned: Path, tmp_path: Path) -> None:
    leaked = tmp_path / "leaked.json"
    with role_server(leak=True) as url:
        assert cli("manifest", "capture", "--url", url, *ROLE_TOKENS, "-o", str(leaked)).code == 0
    result = cli("manifest", "diff", str(pinned), str(leaked), "--format", "json")
    assert result.code == 1, result.out + result.err
    assert [(f["properties"]["role"], f["properties"]["kind"]) for f in stage(result)["findings"]] == [
        ("reader", "tool-added")
    ]


def test_a_single_token_still_pins_a_single_list(pinned: Path, tmp_path: Path) -> None:
    single = tmp_path / "single.json"
    with role_server() as url:
        assert cli("manifest", "capture", "--url", url, "--token", READER, "-o", str(single)).code == 0
        record = load(single)
        assert record["format"] == FORMAT and [t["name"] for t in record["tools"]] == ["list_notes"]
        same = cli("manifest", "diff", str(single), "--url", url, "--token", READER, "--format", "json")
        assert same.code == 0, same.out + same.err
        # A per-role record and a single list are not compared with each other: the user is told how.
        mixed = cli("manifest", "diff", str(pinned), "--url", url, "--token", READER)
        assert mixed.code == 2 and "one tool list per role (admin, reader)" in mixed.err, mixed.err
        other = cli("manifest", "diff", str(single), "--url", url, *ROLE_TOKENS)
        assert other.code == 2 and "pins a single tool list" in other.err, other.err
    assert cli("manifest", "diff", str(pinned), str(single)).code == 2


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["--token", f"admin={ADMIN}", "--token", READER], "name every token"),
        (["--token", ADMIN, "--token", READER], "several unnamed tokens"),
        (["--token", f"admin={ADMIN}", "--token", f"admin={READER}"], "role admin is given twice"),
        (["--token", "admin="], "has no token"),
        (["--token", "admin=env:MCP_HARDEN_NO_SUCH_VARIABLE"], "MCP_HARDEN_NO_SUCH_VARIABLE is not set"),
    ],
)
def test_token_usage_errors(tokens: list[str], message: str, tmp_path: Path) -> None:
    result = cli("manifest", "capture", "--url", "http://127.0.0.1:9/mcp", *tokens, "-o", str(tmp_path / "m"))
    assert result.code == 2, result.out + result.err
    assert message in result.err and "Traceback" not in result.err
    assert not (tmp_path / "m").exists()


def test_roles_need_an_http_endpoint(tmp_path: Path) -> None:
    result = cli("manifest", "capture", "--token", f"admin={ADMIN}", "-o", str(tmp_path / "m"), "--", "true")
    assert result.code == 2 and "need --url" in result.err, result.err
    scan = cli("scan-tools", "--url", "http://127.0.0.1:9/mcp", "--token", f"admin={ADMIN}")
    assert scan.code == 2 and "tokens per role" in scan.err, scan.err


def test_a_role_token_taken_from_the_environment(pinned: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_TOKEN", ADMIN)
    monkeypatch.setenv("READER_TOKEN", READER)
    with role_server() as url:
        result = cli(
            "manifest", "diff", str(pinned), "--url", url, "--format", "json",
            "--token", "admin=env:ADMIN_TOKEN", "--token", "reader=env:READER_TOKEN",
        )  # fmt: skip
    assert result.code == 0, result.out + result.err
    assert ADMIN not in result.out and READER not in result.out


def test_role_tokens_from_one_variable_as_a_ci_secret_holds_them(
    pinned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLE_LINES", f"\nadmin={ADMIN}\r\n  \nreader={READER}\n")
    with role_server() as url:
        result = cli("manifest", "diff", str(pinned), "--url", url, "--role-tokens", "env:ROLE_LINES")
    assert result.code == 0, result.out + result.err
    assert ADMIN not in result.out + result.err and READER not in result.out + result.err


@pytest.mark.parametrize(
    ("source", "lines", "message"),
    [
        ("ROLE_LINES", f"admin={ADMIN}", "takes env:NAME"),
        ("env:MCP_HARDEN_NO_SUCH_VARIABLE", None, "$MCP_HARDEN_NO_SUCH_VARIABLE is not set"),
        ("env:ROLE_LINES", f"admin={ADMIN}\n{READER}", "line 2 of $ROLE_LINES is not ROLE=TOKEN"),
        ("env:ROLE_LINES", "admin=", "line 1 of $ROLE_LINES is not ROLE=TOKEN"),
        ("env:ROLE_LINES", f"admin={ADMIN}\nadmin={READER}", "role admin is given twice"),
        ("env:ROLE_LINES", " \n", "holds no ROLE=TOKEN line"),
    ],
)
def test_role_tokens_usage_errors(
    source: str, lines: str | None, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if lines is not None:
        monkeypatch.setenv("ROLE_LINES", lines)
    out = tmp_path / "m"
    result = cli(
        "manifest", "capture", "--url", "http://127.0.0.1:9/mcp", "--role-tokens", source, "-o", str(out)
    )
    assert result.code == 2, result.out + result.err
    assert message in assert_one_line_error(result)
    assert ADMIN not in result.err and READER not in result.err and not out.exists()


def test_the_manifest_action_pins_one_list_per_role(pinned: Path, tmp_path: Path) -> None:
    """The composite action's own script, given `role-tokens` as a workflow passes a secret."""
    import os
    import sys

    from tests.test_workflows import _run_action

    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "GITHUB_STEP_SUMMARY": os.devnull}
    record = tmp_path / "mcp-manifest.json"
    with role_server() as url:
        given = {"url": url, "role-tokens": f"admin={ADMIN}\nreader={READER}\n", "record": str(record)}
        captured = _run_action("manifest", {**given, "scan": "false", "summary": "false"}, env, tmp_path)
        assert captured["run.exit-code"] == "0", captured["run.log"]
        assert load(record)["digest"] == load(pinned)["digest"]
        diffed = _run_action("manifest", {**given, "mode": "diff", "summary": "false"}, env, tmp_path)
    assert diffed["run.exit-code"] == "0", diffed["run.log"]
    assert ADMIN not in captured["run.log"] + diffed["run.log"]


def test_a_failed_role_capture_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    with role_server() as url:
        result = cli(
            "manifest", "capture", "--url", url, "--format", "json",
            "--token", f"admin={ADMIN}", "--token", "reader=not-a-valid-token", "-o", str(out),
        )  # fmt: skip
    assert result.code == 3, result.out + result.err
    assert stage(result)["error"].startswith("role reader: ")
    assert not out.exists()  # a partial per-role record would pin less than what runs


def _forge(record: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Edit each role's content and recompute every digest (they are not secret): it still loads as whole."""
    bodies = {role: {key: rec[key] for key in ("server", *SECTIONS)} for role, rec in record["roles"].items()}
    edit(bodies)
    return build_roles({role: build_record(body) for role, body in bodies.items()})


@pytest.mark.parametrize(
    "edit",
    [
        "rename-role",  # the admin's list passed off as the reader's
        "drop-role",
        "move-tool",
        "as-set",
    ],
)
def test_an_edited_roles_record_is_refused(pinned: Path, tmp_path: Path, edit: str) -> None:
    data = json.loads(pinned.read_text())
    if edit == "rename-role":
        data["roles"]["reader"] = data["roles"].pop("admin")
    elif edit == "drop-role":
        del data["roles"]["reader"]
    elif edit == "move-tool":
        data["roles"]["reader"]["tools"].append(data["roles"]["admin"]["tools"][1])
    else:
        data["format"] = "mcp-harden/manifest-set@1"
        data["servers"] = data.pop("roles")
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    result = cli("manifest", "diff", str(edited), str(pinned))
    assert result.code == 2, result.out + result.err
    assert "does not match" in result.err and "\n" not in result.err.strip()


def test_the_signature_covers_every_role(
    pinned: Path,
    tmp_path: Path,
    release: Release,  # noqa: F811
) -> None:
    """The roles are part of the signed bytes: a self-consistent forgery that grants readers purge_notes
    is rejected before anything is compared."""
    record = tmp_path / pinned.name
    shutil.copy(pinned, record)
    signed = sign_files([record], instance="sandbox", sandbox_dir=release.sandbox, env=ENV)
    assert signed.error is None, signed.error
    bundle = record.with_name(record.name + ".sigstore.json")
    verify = [
        "--bundle", str(bundle), "--trusted-root", str(release.trusted_root),
        "--identity", IDENTITY, "--issuer", SANDBOX_ISSUER, "--format", "json",
    ]  # fmt: skip
    with role_server(leak=True) as url:
        honest = cli("manifest", "diff", str(record), *verify, "--url", url, *ROLE_TOKENS)
        assert honest.code == 1, honest.out + honest.err
        assert stage(honest)["summary"]["signature"] == "verified"
        assert kinds(honest) == ["tool-added"]

        def grant(roles: dict[str, Any]) -> None:
            roles["reader"]["tools"] = list(roles["admin"]["tools"])

        forged = _forge(load(record), grant)
        record.write_text(dumps(forged))
        assert load(record)["digest"] == forged["digest"]  # whole, as far as its own digests go
        result = cli("manifest", "diff", str(record), *verify, "--url", url, *ROLE_TOKENS)
    assert result.code == 1, result.out + result.err
    rejected = stage(result)
    assert rejected["summary"]["signature"] == "not verified"
    assert [f["rule_id"] for f in rejected["findings"]] == ["MH-VERIFY-SIGNATURE"]


def test_scan_tools_reads_every_role_as_one_server(pinned: Path) -> None:
    """The scanner reads each distinct tool once: list_notes seen by both roles is not two servers' tools
    sharing a name, and purge_notes, seen by the admin only, is read too."""
    from pipeline.manifest.record import servers_of

    ((name, view),) = servers_of(load(pinned)).items()
    assert name == "role-notes"
    assert sorted(t["name"] for t in view["tools"]) == ["list_notes", "purge_notes"]
    result = cli("scan-tools", str(pinned), "--format", "json")
    assert result.code == 0, result.out + result.err
    assert stage(result)["findings"] == [] and stage(result)["summary"]["tools"] == 2
