"""The in-process `run_cli` judges a run as the subprocess did: what the process would print (its children's
output included), its exit code, a traceback as a failure; and it leaves this process as it found it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import pipeline.cli
from tests.conftest import UNCAUGHT, assert_one_line_error, run_cli, run_cli_process


def _fake_main(monkeypatch: pytest.MonkeyPatch, body: object) -> None:
    def main(argv: Sequence[str] | None = None) -> int:
        return body(list(argv or []))  # type: ignore[operator,no-any-return]

    monkeypatch.setattr(pipeline.cli, "main", main)


def test_an_uncaught_exception_is_a_failing_result(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(argv: list[str]) -> int:
        raise RuntimeError("boom")

    _fake_main(monkeypatch, crash)
    result = run_cli("audit")
    assert result.code == UNCAUGHT
    assert "Traceback (most recent call last)" in result.err and "RuntimeError: boom" in result.err
    with pytest.raises(AssertionError):
        assert_one_line_error(result)


@pytest.mark.parametrize(
    ("exit_code", "code", "err"), [(None, 0, ""), (2, 2, ""), ("bad usage", 1, "bad usage")]
)
def test_system_exit_is_the_exit_status(
    monkeypatch: pytest.MonkeyPatch, exit_code: object, code: int, err: str
) -> None:
    def leave(argv: list[str]) -> int:
        raise SystemExit(exit_code)

    _fake_main(monkeypatch, leave)
    result = run_cli("x")
    assert (result.code, result.err.strip()) == (code, err)


def test_child_output_and_environment_reach_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process the command starts writes to the same stdout and stderr, and sees `env` and `cwd`."""

    def spawn(argv: list[str]) -> int:
        print("from main", flush=True)
        code = "import os, sys; print(os.environ['PROBE'], os.getcwd()); print('child err', file=sys.stderr)"
        subprocess.run([sys.executable, "-c", code], check=True)
        return 1

    _fake_main(monkeypatch, spawn)
    result = run_cli("x", cwd=tmp_path, env={"PROBE": "seen"})
    assert result.code == 1
    assert result.out.splitlines() == ["from main", f"seen {tmp_path}"]
    assert result.err == "child err\n"


def test_process_state_is_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    def meddle(argv: list[str]) -> int:
        os.environ["MEDDLED"] = "1"
        os.environ.pop("HOME", None)
        os.chdir("/")
        os.umask(0o077)
        signal.signal(signal.SIGTERM, lambda *_: None)
        logging.getLogger().addHandler(logging.StreamHandler(sys.stderr))
        logging.getLogger().setLevel(logging.DEBUG)
        sys.path.insert(0, "/nowhere")
        return 0

    _fake_main(monkeypatch, meddle)
    before_env, before_cwd = dict(os.environ), os.getcwd()
    before_umask = os.umask(0o022)
    os.umask(before_umask)
    before_term = signal.getsignal(signal.SIGTERM)
    root = logging.getLogger()
    before_log = (list(root.handlers), root.level)
    before_path = list(sys.path)
    assert run_cli("x", cwd=tmp_path, env={"EXTRA": "1"}).code == 0
    assert dict(os.environ) == before_env and os.getcwd() == before_cwd
    assert os.umask(before_umask) == before_umask
    assert signal.getsignal(signal.SIGTERM) is before_term
    assert (list(root.handlers), root.level) == before_log
    assert sys.path == before_path


def test_a_run_past_its_timeout_raises_as_subprocess_run_does(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    _fake_main(monkeypatch, lambda argv: time.sleep(30) or 0)
    before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_cli("x", timeout=0.5)
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGALRM) is before  # the alarm's handler is put back, the timer off
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_in_process_and_subprocess_agree_on_a_usage_error(tmp_path: Path) -> None:
    """The same command line, both ways: same code, same one line."""
    ours, theirs = run_cli("audit", cwd=tmp_path), run_cli_process("audit", cwd=tmp_path)
    assert (ours.code, ours.out) == (theirs.code, theirs.out) == (2, "")
    assert assert_one_line_error(ours) == assert_one_line_error(theirs)
