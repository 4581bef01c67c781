"""`mcp-harden provenance` end to end: a real integrity API on 127.0.0.1 serving the vectors, the offline
cache it fills, the publisher lock, required attestations, and every way it must not pass."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.provenance.dsse import Digests
from tests.provenance.conftest import VECTORS

SDIST = "pypi_attestations-0.0.19.tar.gz"
SDIST_SHA = Digests.of(VECTORS / "pep740" / SDIST).sha256
WHEEL = "rfc8785-0.1.2-py3-none-any.whl"
WHEEL_SHA = Digests.of(VECTORS / "pep740" / WHEEL).sha256
PROVENANCE = (VECTORS / "pep740" / f"{SDIST}.provenance").read_bytes()
PA_PATH = f"/integrity/pypi-attestations/0.0.19/{SDIST}/provenance"
PA_PIN = {"kind": "GitHub", "repository": "trailofbits/pypi-attestations", "workflow": "release.yml"}


@dataclass
class Index:
    url: str
    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)


@pytest.fixture
def index() -> Iterator[Index]:
    state = Index(url="")
    state.routes[PA_PATH] = (200, PROVENANCE)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append(self.path)
            status, body = state.routes.get(self.path, (404, b'{"message": "not found"}'))
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.pypi.integrity.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _component(name: str, version: str, *, sha: str, filename: str | None, as_ref: bool) -> dict[str, Any]:
    purl = f"pkg:pypi/{name}@{version}"
    item: dict[str, Any] = {"type": "library", "name": name, "version": version, "purl": purl}
    if as_ref:
        item["externalReferences"] = [
            {
                "type": "distribution",
                "url": f"https://files.pythonhosted.org/packages/xx/{filename}",
                "hashes": [{"alg": "SHA-256", "content": sha}],
            }
        ]
    else:
        item["hashes"] = [{"alg": "SHA-256", "content": sha}]
        if filename:
            item["purl"] = f"{purl}?file_name={filename}"
    return item


def _sbom(tmp_path: Path, *, pa_sha: str = SDIST_SHA, pa_named: bool = True, extra: list[Any] = ()) -> Path:
    components = [
        _component(
            "pypi-attestations", "0.0.19", sha=pa_sha, filename=SDIST if pa_named else None, as_ref=pa_named
        ),
        _component("rfc8785", "0.1.2", sha=WHEEL_SHA, filename=WHEEL, as_ref=False),
        {"type": "library", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"},
        *extra,
    ]
    path = tmp_path / "sbom.cdx.json"
    path.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}))
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["provenance", *args, "--format", "json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, json.loads(captured.out) if captured.out.strip() else {}, captured.err


def _stage(report: dict[str, Any]) -> dict[str, Any]:
    (stage,) = report["stages"]
    return stage


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["component"]: c["status"] for c in _stage(report)["summary"]["components"]}


def _rules(report: dict[str, Any]) -> list[str]:
    return sorted(f["rule_id"] for f in _stage(report)["findings"])


def test_online_first_use_writes_the_lock(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "provenance.lock.json"
    code, report, _ = _run(
        capsys, str(_sbom(tmp_path)), "--online", "--index-url", index.url, "--lock", str(lock)
    )
    assert code == 0, report
    assert _statuses(report) == {"pypi-attestations==0.0.19": "attested", "rfc8785==0.1.2": "not-attested"}
    (attested,) = [c for c in _stage(report)["summary"]["components"] if c["status"] == "attested"]
    assert attested["publisher"] == [PA_PIN]
    assert json.loads(lock.read_text()) == {"version": 1, "publishers": {"pypi-attestations": PA_PIN}}
    assert PA_PATH in index.seen and f"/integrity/rfc8785/0.1.2/{WHEEL}/provenance" in index.seen
    assert any("not PyPI packages" in n for n in _stage(report)["notes"])


def test_cache_filled_online_then_used_offline(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache, lock, sbom = tmp_path / "cache", tmp_path / "lock.json", _sbom(tmp_path, pa_named=False)
    index.routes["/pypi/pypi-attestations/0.0.19/json"] = (
        200,
        json.dumps({"urls": [{"filename": SDIST, "digests": {"sha256": SDIST_SHA}}]}).encode(),
    )
    code, first, _ = _run(
        capsys,
        str(sbom),
        "--cache",
        str(cache),
        "--update-cache",
        "--index-url",
        index.url,
        "--lock",
        str(lock),
    )
    assert code == 0, first
    assert (cache / "pypi-attestations/0.0.19" / f"{SDIST}.provenance").read_bytes() == PROVENANCE
    assert (cache / "rfc8785/0.1.2" / f"{WHEEL}.none").is_file()
    index.seen.clear()
    code, second, _ = _run(capsys, str(sbom), "--cache", str(cache), "--lock", str(lock))
    assert code == 0, second
    assert index.seen == []  # offline: the server was not asked
    assert _statuses(second) == _statuses(first)
    assert _stage(second)["summary"]["source"].startswith("cache")


def test_offline_cache_miss_is_could_not_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    code, report, _ = _run(
        capsys, str(_sbom(tmp_path)), "--cache", str(cache), "--lock", str(tmp_path / "l.json")
    )
    assert code == 3
    assert _stage(report)["status"] == "error"
    assert "--update-cache" in _stage(report)["error"]


def test_no_source_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(_sbom(tmp_path)), "--lock", str(tmp_path / "l.json"))
    assert code == 2
    assert "--online" in err and len(err.strip().splitlines()) == 1


def test_publisher_change_is_a_finding_until_reviewed(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "lock.json"
    moved = {"kind": "GitHub", "repository": "trailofbits/pypi-attestations", "workflow": "publish.yml"}
    lock.write_text(json.dumps({"version": 1, "publishers": {"pypi-attestations": moved}}))
    args = [str(_sbom(tmp_path)), "--online", "--index-url", index.url, "--lock", str(lock)]
    code, report, _ = _run(capsys, *args)
    assert code == 1
    assert _rules(report) == ["MH-PROV-PUBLISHER-CHANGED"]
    assert (
        "the lock pins GitHub trailofbits/pypi-attestations (publish.yml)"
        in _stage(report)["findings"][0]["title"]
    )
    assert json.loads(lock.read_text())["publishers"]["pypi-attestations"] == moved  # not rewritten
    code, report, _ = _run(capsys, *args, "--update")
    assert code == 0, report
    assert json.loads(lock.read_text())["publishers"]["pypi-attestations"] == PA_PIN


def test_required_package_without_attestation(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "mcp-harden.yaml"
    policy.write_text("provenance:\n  require: [RFC8785]\n  online: true\n")
    code, report, _ = _run(
        capsys,
        str(_sbom(tmp_path)),
        "--policy",
        str(policy),
        "--index-url",
        index.url,
        "--lock",
        str(tmp_path / "l"),
    )
    assert code == 1
    assert _rules(report) == ["MH-PROV-NOT-ATTESTED"]
    code, report, _ = _run(
        capsys,
        str(_sbom(tmp_path)),
        "--online",
        "--index-url",
        index.url,
        "--lock",
        str(tmp_path / "l"),
        "--require",
        "*",
    )
    assert code == 1 and _rules(report) == ["MH-PROV-NOT-ATTESTED"]


def test_pinned_package_losing_its_attestation(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "lock.json"
    lock.write_text(json.dumps({"version": 1, "publishers": {"pypi-attestations": PA_PIN}}))
    del index.routes[PA_PATH]  # a release uploaded without trusted publishing (a stolen API token)
    code, report, _ = _run(
        capsys, str(_sbom(tmp_path)), "--online", "--index-url", index.url, "--lock", str(lock)
    )
    assert code == 1
    assert _rules(report) == ["MH-PROV-ATTESTATION-DROPPED"]


def test_other_bytes_under_the_same_name_is_a_mismatch(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sbom = _sbom(tmp_path, pa_sha="c" * 64)
    code, report, _ = _run(
        capsys, str(sbom), "--online", "--index-url", index.url, "--lock", str(tmp_path / "l")
    )
    assert code == 1
    assert _rules(report) == ["MH-PROV-MISMATCH"]
    assert _stage(report)["findings"][0]["severity"] == "critical"
    assert "sha256 is not the distribution's" in _stage(report)["findings"][0]["evidence"]
    assert "pypi-attestations" not in json.loads((tmp_path / "l").read_text())["publishers"]


def test_unsigned_publisher_claim_is_not_trusted(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PyPI's `publisher` beside the attestations is not signed: a claim the certificate does not prove fails."""
    forged = json.loads(PROVENANCE)
    forged["attestation_bundles"][0]["publisher"]["repository"] = "evil/fork"
    index.routes[PA_PATH] = (200, json.dumps(forged).encode())
    code, report, _ = _run(
        capsys, str(_sbom(tmp_path)), "--online", "--index-url", index.url, "--lock", str(tmp_path / "l")
    )
    assert code == 1 and _rules(report) == ["MH-PROV-MISMATCH"]
    assert "PyPI says GitHub evil/fork" in _stage(report)["findings"][0]["evidence"]


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"oops"), (200, b"{not json"), (302, b"")],
    ids=["server-error", "garbage", "redirect"],
)
def test_index_failures(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str], status: int, body: bytes
) -> None:
    index.routes[PA_PATH] = (status, body)
    code, report, _ = _run(
        capsys, str(_sbom(tmp_path)), "--online", "--index-url", index.url, "--lock", str(tmp_path / "l")
    )
    assert code != 0
    if status == 200:  # a body that is not provenance: the attestation cannot be trusted
        assert code == 1 and _rules(report) == ["MH-PROV-MISMATCH"]
    else:
        assert code == 3 and _stage(report)["status"] == "error"


def test_oversized_answer_is_could_not_check(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index.routes[PA_PATH] = (200, b" " * ((1 << 20) + 10))
    code, report, _ = _run(
        capsys, str(_sbom(tmp_path)), "--online", "--index-url", index.url, "--lock", str(tmp_path / "l")
    )
    assert code == 3 and "larger than" in _stage(report)["error"]


def test_unsafe_file_name_in_the_sbom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = _component("rfc8785", "0.1.3", sha=WHEEL_SHA, filename=None, as_ref=False)
    evil["purl"] = "pkg:pypi/rfc8785@0.1.3?file_name=..%2F..%2Fescape"
    code, _, err = _run(
        capsys,
        str(_sbom(tmp_path, extra=[evil])),
        "--online",
        "--index-url",
        "http://127.0.0.1:9",
        "--lock",
        str(tmp_path / "l"),
    )
    assert code == 2
    assert "unsafe file name" in err and len(err.strip().splitlines()) == 1


def test_unreachable_index_is_could_not_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, report, _ = _run(
        capsys,
        str(_sbom(tmp_path)),
        "--online",
        "--index-url",
        f"http://127.0.0.1:{port}",
        "--lock",
        str(tmp_path / "l"),
        "--timeout",
        "2",
    )
    assert code == 3
    assert "could not reach the index" in _stage(report)["error"]


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        ("missing", "SBOM not found"),
        ("folder", "is a folder"),
        ("not-json", "SBOM is not JSON"),
        ("not-sbom", "not a CycloneDX SBOM"),
        ("bad-lock", "invalid provenance lock"),
        ("bad-purl", "invalid purl"),
        ("fifo", "not a regular file"),
    ],
)
def test_bad_inputs_end_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, fragment: str
) -> None:
    import os

    sbom, lock = _sbom(tmp_path), tmp_path / "lock.json"
    if setup == "missing":
        sbom = tmp_path / "absent.json"
    elif setup == "folder":
        sbom = tmp_path
    elif setup == "not-json":
        sbom.write_text("{")
    elif setup == "not-sbom":
        sbom.write_text('{"components": {}}')
    elif setup == "bad-lock":
        lock.write_text('{"version": 1, "publishers": {"x": {"kind": "Nope"}}}')
    elif setup == "bad-purl":
        sbom.write_text(json.dumps({"components": [{"purl": "pkg:"}]}))
    elif setup == "fifo":
        sbom = tmp_path / "fifo"
        os.mkfifo(sbom)
    code, _, err = _run(
        capsys, str(sbom), "--online", "--index-url", "http://127.0.0.1:9", "--lock", str(lock)
    )
    assert code == 2, err
    assert fragment in err and len(err.strip().splitlines()) == 1, err


def test_new_attested_package_is_unpinned_until_update(
    index: Index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "lock.json"
    other = {"kind": "GitHub", "repository": "trailofbits/rfc8785.py", "workflow": "release.yml"}
    lock.write_text(json.dumps({"version": 1, "publishers": {"some-other-package": other}}))
    args = [str(_sbom(tmp_path)), "--online", "--index-url", index.url, "--lock", str(lock)]
    code, report, _ = _run(capsys, *args)
    assert code == 0  # medium: below the default threshold, but reported
    assert _rules(report) == ["MH-PROV-UNPINNED"]
    assert "pypi-attestations" not in json.loads(lock.read_text())["publishers"]
    code, report, _ = _run(capsys, *args, "--fail-on", "medium")
    assert code == 1
    code, report, _ = _run(capsys, *args, "--update")
    assert code == 0 and _rules(report) == []
    assert json.loads(lock.read_text())["publishers"] == {
        "pypi-attestations": PA_PIN,
        "some-other-package": other,
    }
