"""The real attestation vectors (../shared/vectors/attestations): GitHub CLI's and pypi-attestations' test data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The shared folder sits beside the main checkout; a worktree lives one level further down.
_CANDIDATES = [ROOT.parent / "shared", ROOT.parent.parent / "shared"]


def attestation_vectors() -> Path:
    for base in _CANDIDATES:
        folder = base / "vectors" / "attestations"
        if (folder / "cases.json").is_file():
            return folder
    raise RuntimeError(f"the attestation vectors are missing (looked in {[str(c) for c in _CANDIDATES]})")


VECTORS = attestation_vectors()


def cases(kind_prefix: str) -> list[dict[str, Any]]:
    data = json.loads((VECTORS / "cases.json").read_text(encoding="utf-8"))
    return [c for c in data["cases"] if c["kind"].startswith(kind_prefix)]


@pytest.fixture(scope="session")
def vectors() -> Path:
    return VECTORS
