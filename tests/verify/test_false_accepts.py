"""Each way past `verify` that the hostile review found (issue 15) and the deploy-gate hole of issue 10, as a
test on a real sandbox release: every one of them exited 0 (or 3) before the fix."""

from __future__ import annotations

import builtins
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from tests.sign.conftest import REPO, SANDBOX_ISSUER, make_wheel
from tests.verify.conftest import LOCK, Dist, sha256, write_signed


@pytest.fixture
def copy(dist: Dist, tmp_path: Path) -> Dist:
    return dist.copy(tmp_path / "copy")


def verify(
    capsys: pytest.CaptureFixture[str], *args: str | Path, trusted_root: Path
) -> tuple[int, list[dict[str, Any]]]:
    """Run `mcp-harden verify ARGS --repository acme/mcp-server --format json`; (exit code, findings)."""
    argv = [
        "verify",
        *map(str, args),
        "--trusted-root",
        str(trusted_root),
        "--repository",
        REPO,
        "--format",
        "json",
    ]
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if code == 2 or code == 3:
        assert len(err.strip().splitlines()) == 1, err
        return code, [{"error": err.strip()}]
    return code, json.loads(out)["stages"][0]["findings"]


def rules(findings: list[dict[str, Any]]) -> set[str]:
    return {f.get("rule_id", "error") for f in findings}


def record_doc(dist: Dist) -> dict[str, Any]:
    return json.loads(dist.record.read_text())


# 1. Record swap -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["positional", "--record"])
def test_record_swapped_for_another_signed_file(copy: Dist, capsys, form: str) -> None:
    """release.json and its bundle replaced by the SBOM and its bundle (signed in the same run), and the wheel
    tampered: the record's signature 'verifies', but what it signs is not a record."""
    shutil.copy(copy.sbom, copy.record)
    shutil.copy(
        copy.sbom.with_name(copy.sbom.name + ".sigstore.json"),
        copy.record.with_name("release.json.sigstore.json"),
    )
    copy.wheel.write_bytes(copy.wheel.read_bytes() + b"tampered")
    args = [copy.record] if form == "positional" else ["--record", copy.record]
    code, findings = verify(capsys, *args, trusted_root=copy.trusted_root)
    assert code == 1 and rules(findings) == {"MH-VERIFY-RECORD"}, findings
    assert "signed but is not a usable release record" in findings[0]["title"]
    assert "_type" in findings[0]["title"]


def test_record_bundle_swapped_for_an_attestation(copy: Dist, capsys) -> None:
    shutil.copy(
        copy.sbom.with_name("sbom.intoto.sigstore.json"), copy.record.with_name("release.json.sigstore.json")
    )
    code, findings = verify(capsys, "--record", copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and rules(findings) == {"MH-VERIFY-BUNDLE"}, findings


def test_signed_record_must_list_an_artifact(copy: Dist, capsys, sign_bytes) -> None:
    doc = record_doc(copy)
    doc["artifacts"] = []
    write_signed(copy.record, json.dumps(doc).encode(), sign_bytes)
    copy.wheel.write_bytes(b"tampered")
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and rules(findings) == {"MH-VERIFY-RECORD"}, findings
    assert "lists no artifact" in findings[0]["title"]


def test_a_plain_json_file_is_verified_only_when_asked(dist: Dist, capsys) -> None:
    """One *.json alone is a record; a plain signed JSON file is verified as one with --bundle."""
    code, findings = verify(capsys, dist.sbom, trusted_root=dist.trusted_root)
    assert code == 1 and rules(findings) == {"MH-VERIFY-RECORD"} and "--bundle" in findings[0]["fix"]
    bundle = dist.sbom.with_name(dist.sbom.name + ".sigstore.json")
    assert verify(capsys, dist.sbom, "--bundle", bundle, trusted_root=dist.trusted_root) == (0, [])


def test_record_option_takes_nothing_else(dist: Dist, capsys) -> None:
    code, out = verify(capsys, "--record", dist.record, dist.wheel, trusted_root=dist.trusted_root)
    assert code == 2 and "--record verifies the record" in out[0]["error"]


# 2. Time of check, time of use ----------------------------------------------------------------------------


@pytest.fixture
def swap_after_first_open(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """On the first open of `state['path']` (by any API), put `state['then']` in its place: whoever reads the
    file a second time sees other bytes than the first read. Counts the opens."""
    state: dict[str, Any] = {"path": None, "then": None, "opens": 0}
    real_os_open, real_open = os.open, builtins.open

    def hit(file: Any) -> None:
        named = state["path"] is not None and isinstance(file, (str, os.PathLike))
        if named and os.path.abspath(file) == os.path.abspath(state["path"]):
            state["opens"] += 1
            if state["opens"] == 1 and state["then"] is not None:
                os.replace(state["then"], state["path"])

    def os_open(file: Any, *args: Any, **kwargs: Any) -> int:
        fd = real_os_open(file, *args, **kwargs)
        hit(file)
        return fd

    def py_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, *args, **kwargs)
        hit(file)
        return handle

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", py_open)
    monkeypatch.setattr(io, "open", py_open)
    yield state


def test_record_swapped_between_reads(copy: Dist, capsys, swap_after_first_open: dict[str, Any]) -> None:
    """The first read sees a forged record that lists nothing of the tampered wheel; every later read sees
    the genuine, signed one. Verifying the bytes that were parsed, read once, refuses it."""
    genuine = copy.record.with_name("genuine.json")
    shutil.copy(copy.record, genuine)
    doc = record_doc(copy)
    doc["artifacts"] = [a for a in doc["artifacts"] if a["name"] == "sbom.cdx.json"]
    copy.record.write_text(json.dumps(doc))
    copy.wheel.write_bytes(b"tampered")
    swap_after_first_open.update(path=copy.record, then=genuine)
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and rules(findings) == {"MH-VERIFY-SIGNATURE"}, findings
    assert swap_after_first_open["opens"] == 1


def test_every_artifact_is_read_once(dist: Dist, capsys, swap_after_first_open: dict[str, Any]) -> None:
    for path in (dist.sbom, dist.wheel, dist.lock):
        swap_after_first_open.update(path=path, opens=0)
        assert verify(capsys, dist.record, trusted_root=dist.trusted_root) == (0, [])
        assert swap_after_first_open["opens"] == 1, path


def test_sbom_swapped_after_its_digest_was_taken(
    copy: Dist, capsys, swap_after_first_open: dict[str, Any]
) -> None:
    """Whatever is read first is what is checked: a changed SBOM that replaces the file after the first
    open is never seen, and the bytes that were seen verify."""
    changed = copy.sbom.with_name("changed.json")
    changed.write_text(
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "x"}]})
    )
    swap_after_first_open.update(path=copy.sbom, then=changed)
    assert verify(capsys, copy.record, trusted_root=copy.trusted_root) == (0, [])
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)  # now the file is changed
    assert code == 1 and {"MH-VERIFY-DIGEST", "MH-VERIFY-SIGNATURE", "MH-VERIFY-ATTESTATION"} <= rules(
        findings
    )


# 3. Duplicate names ---------------------------------------------------------------------------------------


def test_record_with_two_artifacts_of_one_name(copy: Dist, capsys, sign_bytes) -> None:
    """other/notes.txt (signed, never attested) listed before dist/notes.txt (attested): the attestation
    over notes.txt is about dist/notes.txt's digest only."""
    doc = record_doc(copy)
    other = {
        "name": "notes.txt",
        "path": "../other/notes.txt",
        "sha256": sha256(copy.other_notes),
        "bundle": "../other/notes.txt.sigstore.json",
    }
    doc["artifacts"].insert(0, other)
    write_signed(copy.record, json.dumps(doc).encode(), sign_bytes)
    assert verify(capsys, copy.record, trusted_root=copy.trusted_root) == (0, [])  # signed, listed, fine
    code, findings = verify(
        capsys, copy.record, "--require-attestation", "sbom", trusted_root=copy.trusted_root
    )
    assert code == 1 and rules(findings) == {"MH-VERIFY-SUBJECT"}, findings
    assert [f["location"]["path"] for f in findings] == [str(copy.record.parent / "../other/notes.txt")]


def test_files_with_one_name(dist: Dist, capsys) -> None:
    attestation = dist.sbom.with_name("sbom.intoto.sigstore.json")
    common = ["--attestation", attestation, "--require-attestation", "sbom"]
    assert verify(capsys, dist.notes, *common, trusted_root=dist.trusted_root) == (0, [])
    code, findings = verify(capsys, dist.other_notes, dist.notes, *common, trusted_root=dist.trusted_root)
    assert code == 1 and rules(findings) == {"MH-VERIFY-SUBJECT"}, findings
    assert findings[0]["location"]["path"] == str(dist.other_notes)


# 4. _type beyond the first 4 KiB --------------------------------------------------------------------------


def test_record_type_after_4_kib(copy: Dist, capsys, sign_bytes) -> None:
    doc = record_doc(copy)
    laid_out = {"notes": ["x" * 5000, *doc.pop("notes")], **doc}
    write_signed(copy.record, json.dumps(laid_out).encode(), sign_bytes)
    assert verify(capsys, copy.record, trusted_root=copy.trusted_root) == (0, [])
    copy.wheel.write_bytes(b"tampered")
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and {"MH-VERIFY-DIGEST", "MH-VERIFY-SIGNATURE"} <= rules(findings), findings


# 6. DSSE envelopes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["empty", "missing", "doubled", "blank"])
def test_dsse_signatures_malformed(copy: Dist, capsys, change: str) -> None:
    path = copy.sbom.with_name("sbom.intoto.sigstore.json")
    data = json.loads(path.read_text())
    envelope = data["dsseEnvelope"]
    if change == "empty":
        envelope["signatures"] = []
    elif change == "missing":
        del envelope["signatures"]
    elif change == "doubled":
        envelope["signatures"] *= 2
    else:
        envelope["signatures"][0]["sig"] = ""
    path.write_text(json.dumps(data))
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and rules(findings) == {"MH-VERIFY-BUNDLE"}, findings


# 7. The deploy gate (issue 10) ----------------------------------------------------------------------------


@pytest.mark.parametrize("extra", ["evil-1.0-py3-none-any.whl", "evil-1.0.tar.gz", "evil.mcpb", "EVIL.WHL"])
def test_unlisted_distribution_in_the_release_folder(copy: Dist, capsys, extra: str) -> None:
    make_wheel(copy.wheel.parent / extra)
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and rules(findings) == {"MH-VERIFY-UNLISTED"}, findings
    assert extra in findings[0]["title"] and "does not list" in findings[0]["title"]


def test_unlisted_wheel_beside_the_record(copy: Dist, capsys) -> None:
    make_wheel(copy.record.parent / "evil-1.0-py3-none-any.whl")
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and rules(findings) == {"MH-VERIFY-UNLISTED"}


def test_lock_file_is_verified_like_any_artifact(dist: Dist, copy: Dist, capsys) -> None:
    assert LOCK in {a["name"] for a in record_doc(dist)["artifacts"]}
    assert verify(capsys, dist.record, "--require-attestation", "sbom", trusted_root=dist.trusted_root) == (
        0,
        [],
    )
    copy.lock.write_text(copy.lock.read_text().replace("sha256:", "sha256:0"))
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and {"MH-VERIFY-DIGEST", "MH-VERIFY-SIGNATURE"} <= rules(findings), findings
    assert all(LOCK in f["title"] for f in findings)


def test_swapped_wheel_is_refused(dist: Dist, copy: Dist, capsys, tmp_path: Path) -> None:
    make_wheel(copy.wheel, extra="# swapped\n")
    code, findings = verify(
        capsys, copy.record, "--require-attestation", "sbom", trusted_root=copy.trusted_root
    )
    assert code == 1 and {"MH-VERIFY-DIGEST", "MH-VERIFY-SIGNATURE", "MH-VERIFY-SUBJECT"} <= rules(findings)


def test_identity_pattern_that_admits_everyone_on_the_command_line(dist: Dist, capsys) -> None:
    code = main(
        [
            "verify",
            str(dist.record),
            "--trusted-root",
            str(dist.trusted_root),
            "--issuer",
            SANDBOX_ISSUER,
            "--identity-pattern",
            "https://.*",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "would accept anyone" in err and len(err.splitlines()) == 1


def test_the_deploy_template_refuses_an_unlisted_wheel(dist: Dist, copy: Dist) -> None:
    """templates/deploy/verify.sh, run as a deploy step would (issue 10: it passed with an extra wheel)."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "templates" / "deploy" / "verify.sh"
    bin_dir = Path(sys.executable).parent
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "REPOSITORY": REPO,
        "TRUSTED_ROOT": str(dist.trusted_root),
        "RELEASE": str(copy.record),
        "HOME": os.environ.get("HOME", "/tmp"),
    }

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=120)

    done = run()
    assert done.returncode == 0, done.stdout + done.stderr
    make_wheel(copy.wheel.parent / "evil-1.0-py3-none-any.whl")
    done = run()
    assert (
        done.returncode == 1
        and "MH-VERIFY-UNLISTED" in done.stdout
        and "evil-1.0-py3-none-any.whl" in done.stdout
    )


def test_a_listed_artifact_that_is_gone_is_refused(dist: Dist, copy: Dist, capsys) -> None:
    """Deleting a listed file (here the wheel) is not a way to pass with what is left."""
    copy.wheel.unlink()
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and "MH-VERIFY-MISSING-ARTIFACT" in rules(findings)


def test_a_listed_artifact_swapped_for_a_fifo_is_a_finding_not_a_hang(dist: Dist, copy: Dist, capsys) -> None:
    """A FIFO in place of a listed wheel is refused without blocking, as a finding naming it (exit 1)."""
    import os

    copy.wheel.unlink()
    os.mkfifo(copy.wheel)
    code, findings = verify(capsys, copy.record, trusted_root=copy.trusted_root)
    assert code == 1 and "MH-VERIFY-DIGEST" in rules(findings)
