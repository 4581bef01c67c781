"""Files mcp-harden writes follow the umask (0666 less it), so a deploy container's other user can read the
record and bundles; the sandbox's private keys are 0600 whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.fileio import write_atomic
from pipeline.sign.sandbox.keys import _KEY_FILES, SandboxKeys
from tests.conftest import ROOT


@contextmanager
def _umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@settings(max_examples=60, deadline=None)
@given(umask=st.integers(min_value=0, max_value=0o777), private=st.booleans(), existed=st.booleans())
def test_write_atomic_mode_is_the_requested_mode_less_the_umask(tmp_path_factory, umask, private, existed):
    target = tmp_path_factory.mktemp("w") / "out.json"
    if existed:
        target.write_text("old")
        target.chmod(0o640)
    with _umask(umask):
        write_atomic(target, "new", **({"mode": 0o600} if private else {}))
    assert target.read_text() == "new"
    assert _mode(target) == (0o600 if private else 0o666) & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]  # no temporary file left


def test_cli_output_is_world_readable_under_umask_022(tmp_path):
    target = tmp_path / "mcp-harden.yaml"
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import os, sys; os.umask(0o022); sys.argv = ['mcp-harden', 'init', '-o', {str(target)!r}]; "
            "from pipeline.cli import main; raise SystemExit(main())",
        ],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    assert _mode(target) == 0o644


def test_sandbox_private_keys_stay_0600_whatever_the_umask(tmp_path):
    with _umask(0):
        SandboxKeys.load_or_create(tmp_path / "sandbox")
    folder = tmp_path / "sandbox"
    for name in _KEY_FILES:
        assert _mode(folder / f"{name}.key") == 0o600, name
    assert _mode(folder / "ca-root.pem") == 0o666  # public material follows the umask
    assert _mode(folder / "trusted_root.json") == 0o666
