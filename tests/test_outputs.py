"""Nothing the user had is lost (issue 15): an output that names an input of the run (directly, through a
symlink or a hard link) is refused and the input stays byte-identical; an output that cannot be written
(a folder, /proc/version, a path under a file, a folder that takes no new file) is exit 2 at once, before
the run starts: before a stdio server is launched, not after a capture."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main


def _run(argv: list[str], capsys: Any) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "release.json").write_text('{"_type": "something the user signed"}\n')
    (tmp_path / "a.txt").write_text("artifact\n")
    (tmp_path / "a.txt.sigstore.json").write_text('{"bundle": "beside the artifact"}\n')
    (tmp_path / "release.json.sigstore.json").write_text('{"bundle": "beside the record"}\n')
    (tmp_path / "b.json").write_text('{"bundle": "named"}\n')
    (tmp_path / "rec.json").write_text('{"format": "a manifest record"}\n')
    (tmp_path / "other.json").write_text('{"format": "another record"}\n')
    (tmp_path / "report.json").write_text('{"stages": []}\n')
    (tmp_path / "pip.json").write_text('{"install": []}\n')
    (tmp_path / "sbom.json").write_text('{"bomFormat": "CycloneDX"}\n')
    (tmp_path / "mcp-harden.yaml").write_text("version: 1\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "1-sbom.json").write_text('{"stages": []}\n')
    os.mkfifo(tmp_path / "fifo")
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("on: push\njobs: {}\n")
    return tmp_path


SAME_AS_INPUT = [
    (["verify", "release.json", "-o", "release.json"], "release.json"),
    (["verify", "release.json", "--json", "release.json"], "release.json"),
    (["verify", "a.txt", "--json", "a.txt.sigstore.json"], "a.txt.sigstore.json"),
    (["verify", "--record", "release.json", "-o", "release.json"], "release.json"),
    (
        ["verify", "--record", "release.json", "--sarif", "release.json.sigstore.json"],
        "release.json.sigstore.json",
    ),
    (["verify", "a.txt", "--bundle", "b.json", "--sarif", "b.json"], "b.json"),
    (["verify", "a.txt", "--bundle", "b.json", "--summary", "b.json"], "b.json"),
    (["scan-tools", "rec.json", "-o", "rec.json"], "rec.json"),
    (["scan-tools", "rec.json", "--json", "./rec.json"], "rec.json"),
    (["manifest", "diff", "rec.json", "other.json", "--report", "other.json"], "other.json"),
    (["manifest", "diff", "rec.json", "other.json", "--json", "rec.json"], "rec.json"),
    (["sbom", "--pip-report", "pip.json", "-o", "pip.json"], "pip.json"),
    (["audit", "--sbom", "sbom.json", "--vex", "sbom.json"], "sbom.json"),
    (["audit", "--sbom", "sbom.json", "-o", "sbom.json"], "sbom.json"),
    (["report", "report.json", "-o", "report.json"], "report.json"),
    (["report", "reports", "--json", "reports/1-sbom.json"], "reports/1-sbom.json"),
    (["report", "report.json", "--sarif", "mcp-harden.yaml"], "mcp-harden.yaml"),  # the default policy
    (
        ["lint-workflows", "--no-zizmor", "repo", "-o", "repo/.github/workflows/ci.yml"],
        "repo/.github/workflows/ci.yml",
    ),
    (["sign", "--instance", "sandbox", "a.txt", "--record", "a.txt"], "a.txt"),
]


@pytest.mark.parametrize(("argv", "victim"), SAME_AS_INPUT, ids=[" ".join(a) for a, _ in SAME_AS_INPUT])
def test_output_naming_an_input_is_refused(inputs: Path, capsys: Any, argv: list[str], victim: str) -> None:
    before = (inputs / victim).read_bytes()
    code, err = _run(argv, capsys)
    assert code == 2, err
    assert "input of this run" in _one_line(err)
    assert (inputs / victim).read_bytes() == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_same_file_through_a_link_is_refused(inputs: Path, capsys: Any, link: str) -> None:
    alias = inputs / "elsewhere" / "copy.json"
    alias.parent.mkdir()
    if link == "symlink":
        alias.symlink_to(inputs / "release.json")
    else:
        os.link(inputs / "release.json", alias)
    before = (inputs / "release.json").read_bytes()
    code, err = _run(["verify", "release.json", "-o", str(alias)], capsys)
    assert code == 2, err
    assert "input of this run" in _one_line(err)
    assert (inputs / "release.json").read_bytes() == before
    assert alias.read_bytes() == before


def test_two_outputs_naming_one_file_are_refused(inputs: Path, capsys: Any) -> None:
    code, err = _run(["report", "report.json", "--json", "out.json", "--sarif", "out.json"], capsys)
    assert code == 2
    assert "name the same file" in _one_line(err)
    assert not (inputs / "out.json").exists()


# Each output option of each kind, with a path that cannot be written.
OUTPUT_OPTIONS = [
    ["report", "report.json", "-o", "{O}"],
    ["report", "report.json", "--sarif", "{O}"],
    ["report", "report.json", "--json", "{O}"],
    ["report", "report.json", "--summary", "{O}"],
    ["sbom", "--pip-report", "pip.json", "-o", "{O}"],
    ["sbom", "--pip-report", "pip.json", "--report", "{O}"],
    ["audit", "--sbom", "sbom.json", "--vex", "{O}"],
    ["sign", "--instance", "sandbox", "a.txt", "--record", "{O}"],
    ["init", "-o", "{O}", "--force"],
    ["manifest", "capture", "-o", "{O}", "--", "true"],
    ["manifest", "capture", "--report", "{O}", "--", "true"],
    ["scan-tools", "rec.json", "--json", "{O}"],
]
UNUSABLE = {
    "a folder": lambda root: str(root / "reports"),
    "/proc/version": lambda root: "/proc/version",
    "under a file": lambda root: str(root / "a.txt" / "out.json"),
    "a folder that takes no file": lambda root: "/proc/mcp-harden-test/out.json",
    "a FIFO": lambda root: str(root / "fifo"),  # not /dev/null: a failing test must not replace it
}


@pytest.mark.parametrize("kind", list(UNUSABLE))
@pytest.mark.parametrize("argv", OUTPUT_OPTIONS, ids=[" ".join(a[:2] + a[-3:-2]) for a in OUTPUT_OPTIONS])
def test_unusable_output_is_exit_2_before_the_run(
    inputs: Path, capsys: Any, argv: list[str], kind: str
) -> None:
    target = UNUSABLE[kind](inputs)
    started = time.monotonic()
    code, err = _run([target if a == "{O}" else a for a in argv], capsys)
    assert code == 2, err
    assert target in _one_line(err)
    assert time.monotonic() - started < 5


MARKER_SERVER = """\
import sys
open(sys.argv[1], "w").write("started")
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["manifest", "capture", "-o", "{O}", "--"],
        ["manifest", "capture", "--json", "{O}", "--"],
        ["scan-tools", "--sarif", "{O}", "--"],
    ],
)
def test_no_server_is_launched_for_an_unusable_output(inputs: Path, capsys: Any, argv: list[str]) -> None:
    server = inputs / "marker.py"
    server.write_text(MARKER_SERVER)
    marker = inputs / "started"
    out = str(inputs / "reports")  # a folder
    code, err = _run(
        [out if a == "{O}" else a for a in argv] + [sys.executable, str(server), str(marker)], capsys
    )
    assert code == 2, err
    assert out in _one_line(err)
    assert not marker.exists()


def test_a_writable_output_still_works(inputs: Path, capsys: Any) -> None:
    out = inputs / "new" / "deeper" / "merged.json"
    code, err = _run(
        ["report", "report.json", "--json", str(out), "--summary", str(inputs / "summary.md")], capsys
    )
    assert code == 0, err
    assert out.is_file()
    assert not list(out.parent.glob(".*.probe"))  # the write probe leaves nothing behind


def test_write_atomic_never_replaces_a_device_or_fifo(tmp_path: Path) -> None:
    """The last line of defence, below every command: renaming over a device node would replace it."""
    from pipeline.errors import ConfigError
    from pipeline.fileio import write_atomic

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        write_atomic(fifo, "x")
    assert fifo.is_fifo()
    with pytest.raises(ConfigError, match="not a regular file"):
        write_atomic(tmp_path, "x")
    write_atomic(tmp_path / "ok.txt", "x")
    assert (tmp_path / "ok.txt").read_text() == "x"


@pytest.mark.parametrize("second", ["a.txt.sigstore.json", "sbom.intoto.sigstore.json"])
def test_sign_never_writes_a_bundle_over_a_file_it_was_handed(
    tmp_path: Path, capsys: Any, second: str
) -> None:
    """`sign a.txt a.txt.sigstore.json` would put a.txt's bundle over the second file: refused (exit 2) before
    anything is signed, naming the file, which is left byte for byte as it was."""
    first = tmp_path / "a.txt"
    first.write_text("artifact\n")
    victim = tmp_path / second
    victim.write_bytes(b"the user's own file\n")
    sbom = tmp_path / "sbom.cdx.json"
    sbom.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}')
    argv = ["sign", str(first), str(victim), "--instance", "sandbox", "--sandbox-dir", str(tmp_path / "sbx")]
    if second.startswith("sbom."):
        argv += ["--sbom", str(sbom)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "would overwrite this input" in err and str(victim) in err, err
    assert victim.read_bytes() == b"the user's own file\n"
    assert not (tmp_path / "sbx").exists()  # refused before the sandbox was even set up
