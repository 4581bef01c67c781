"""Seeded mutations of every bundle kind mcp-harden writes (a plain signature, a DSSE attestation, the release
record's signature) and of the record itself, each verified in-process on one sandbox release: none is a
false accept. A mutation may pass only when it changes nothing the verifier reads (equal after JSON
normalisation, or after sigstore's own bundle model reads it: e.g. a base64 string with other padding bits)."""

from __future__ import annotations

import base64
import copy as deep
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.findings import StageResult
from pipeline.verify import verify_artifacts, verify_record
from tests.verify.conftest import GOOD, Dist

MUTATIONS = 1000  # per kind
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def _set(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(node, path[:-1])[path[-1]] = value
    return node


def _mutate_string(rng: random.Random, text: str) -> str:
    if not text:
        return rng.choice(["A", "=", " "])
    i = rng.randrange(len(text))
    choice = rng.randrange(5)
    if choice == 0:  # one character changed, within the base64 alphabet (survives decoding)
        return text[:i] + rng.choice(_B64.replace(text[i], "")) + text[i + 1 :]
    if choice == 1:
        return text[:i]
    if choice == 2:
        return text[:i] + text[i + 1 :]
    if choice == 3:  # a bit flipped in the decoded bytes, re-encoded
        try:
            raw = bytearray(base64.b64decode(text, validate=True))
        except ValueError:
            return text + "A"
        if not raw:
            return "AA=="
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        return base64.b64encode(bytes(raw)).decode()
    return text + rng.choice(_B64)


def _mutate_json(rng: random.Random, doc: Any, donors: list[Any]) -> Any:
    doc = deep.deepcopy(doc)
    path = rng.choice(_paths(doc))
    node = _get(doc, path)
    choice = rng.randrange(9)
    if choice == 0 and path:  # remove the key or element
        del _get(doc, path[:-1])[path[-1]]
        return doc
    if choice == 1:  # take the same place from another bundle (a swapped part)
        for donor in rng.sample(donors, len(donors)):
            try:
                return _set(doc, path, deep.deepcopy(_get(donor, path)))
            except (KeyError, IndexError, TypeError):
                continue
    if choice == 2 and isinstance(node, list) and node:
        node.append(deep.deepcopy(rng.choice(node)))
        return doc
    if choice == 3 and isinstance(node, dict):
        node[rng.choice(["x", "mediaType", "signature", "payload", "certificate"])] = rng.choice(
            ["", "AA==", 1, None]
        )
        return doc
    if choice == 4:
        return _set(doc, path, rng.choice([None, 0, -1, 2**64, "", "0", [], {}, True, "AAAA"]))
    if isinstance(node, str):
        return _set(doc, path, _mutate_string(rng, node))
    if isinstance(node, bool):
        return _set(doc, path, not node)
    if isinstance(node, int):
        return _set(doc, path, node + rng.choice([-1, 1, 2**31]))
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        node[key + rng.choice(["_", "s", ""])] = node.pop(key)
        if rng.random() < 0.5:
            items = list(node.items())
            rng.shuffle(items)
            return _set(doc, path, dict(items))
        return doc
    return _set(doc, path, rng.choice([None, "x"]))


def _mutate_bytes(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    i = rng.randrange(len(data))
    choice = rng.randrange(4)
    if choice == 0:
        data[i] ^= 1 << rng.randrange(8)
    elif choice == 1:
        del data[i : i + rng.randint(1, 40)]
    elif choice == 2:
        data[i:i] = bytes([rng.randrange(256)])
    else:
        data = data[:i]
    return bytes(data)


def _difference(original: bytes, mutated: bytes) -> str:
    """Where two JSON documents differ (for the failure message)."""
    try:
        a, b = json.loads(original), json.loads(mutated)
    except ValueError as exc:
        return f"not JSON: {exc}"
    paths = sorted(set(map(str, _paths(a))) ^ set(map(str, _paths(b))))
    changed = [
        str(q)
        for q in _paths(a)
        if str(q) not in paths
        and str(q) in set(map(str, _paths(b)))
        and not isinstance(_get(a, q), (dict, list))
        and _get(a, q) != _get(b, q)
    ]
    values = [(_get(a, q), _get(b, q)) for q in _paths(a) if str(q) in changed[:2]]
    return f"keys added/removed {paths[:5]}, values changed at {changed[:5]}: {values!r}"


def _without_defaults(node: Any) -> Any:
    """Protobuf JSON: an empty list, object or string means the same as an absent field."""
    if isinstance(node, dict):
        kept = {k: _without_defaults(v) for k, v in node.items()}
        return {k: v for k, v in kept.items() if v not in ({}, [], "", None)}
    if isinstance(node, list):
        return [_without_defaults(v) for v in node]
    return node


def _verifier_view(raw: bytes) -> Any:
    """What sigstore reads from a bundle: its own model of it, with each checkpoint read by its own note
    parser (which skips non-base64 characters and the signer's name in a signature line)."""
    from sigstore._internal.rekor.checkpoint import SignedNote
    from sigstore.models import Bundle

    view = _without_defaults(json.loads(Bundle.from_json(raw).to_json()))
    for entry in view.get("verificationMaterial", {}).get("tlogEntries", []):
        checkpoint = entry.get("inclusionProof", {}).get("checkpoint", {})
        if "envelope" in checkpoint:
            note = SignedNote.from_text(checkpoint["envelope"])
            checkpoint["envelope"] = [
                note.note,
                [(s.sig_hash.hex(), s.signature.decode()) for s in note.signatures],
            ]
    return view


def _same_meaning(original: bytes, mutated: bytes, *, bundle: bool) -> str | None:
    """How an accepted mutation is a no-op ("json": equal after JSON normalisation; "model": equal as
    sigstore reads it), or None when it is not."""
    try:
        if json.loads(original) == json.loads(mutated):
            return "json"
    except ValueError:
        return None
    if not bundle:
        return None
    try:
        return "model" if _verifier_view(original) == _verifier_view(mutated) else None
    except Exception:
        return None


def _run(
    target: Path, donors: list[Any], verify: Callable[[], StageResult], seed: int, *, bundle: bool = True
) -> dict[str, int]:
    """Verify MUTATIONS changed versions of `target` (mutations equal to it after JSON normalisation are
    counted apart and, for a bundle, not verified: they are the same document). Returns the tally."""
    original = target.read_bytes()
    doc = json.loads(original)
    rng = random.Random(seed)
    counts = {"refused": 0, "json": 0, "model": 0}
    try:
        assert not verify().findings, "the unmutated release must verify"
        while counts["refused"] + counts["model"] < MUTATIONS:
            if rng.random() < 0.3:
                mutated = _mutate_bytes(rng, original)
            else:
                mutated = json.dumps(_mutate_json(rng, doc, donors), indent=rng.choice([None, 2])).encode()
            if mutated == original or (bundle and _same_meaning(original, mutated, bundle=False)):
                counts["json"] += 1
                continue
            target.write_bytes(mutated)
            result = verify()
            assert result.error is None
            if result.findings:
                counts["refused"] += 1
                continue
            how = _same_meaning(original, mutated, bundle=bundle)
            assert how == "model", f"false accept (seed {seed}): {_difference(original, mutated)}"
            counts["model"] += 1
    finally:
        target.write_bytes(original)
    return counts


def _docs(paths: list[Path]) -> list[Any]:
    return [json.loads(p.read_bytes()) for p in paths]


@pytest.fixture(scope="module")
def release(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Dist:
    return dist.copy(tmp_path_factory.mktemp("mutations") / "r")


def _bundle(path: Path) -> Path:
    return path.with_name(path.name + ".sigstore.json")


def test_plain_signature_bundle_mutations(release: Dist) -> None:
    start = time.perf_counter()
    counts = _run(
        _bundle(release.notes),
        _docs([_bundle(release.wheel), _bundle(release.lock), _bundle(release.record)]),
        lambda: verify_artifacts([release.notes], signers=[GOOD], trusted_root=release.trusted_root),
        seed=1501,
    )
    assert counts["model"] < MUTATIONS * 0.05, counts
    print(f"plain signature bundle: {counts} in {time.perf_counter() - start:.1f} s")


@pytest.mark.slow
def test_dsse_attestation_bundle_mutations(release: Dist) -> None:
    start = time.perf_counter()
    target = release.sbom.with_name("sbom.intoto.sigstore.json")
    counts = _run(
        target,
        _docs(
            [
                release.wheel.with_name(release.wheel.name + ".provenance.sigstore.json"),
                target.with_name("tool-manifest.intoto.sigstore.json"),
            ]
        ),
        lambda: verify_artifacts(
            [release.wheel, release.notes],
            signers=[GOOD],
            trusted_root=release.trusted_root,
            attestations=[target],
            require_attestations=["sbom"],
        ),
        seed=1502,
    )
    assert counts["model"] < MUTATIONS * 0.05, counts
    print(f"DSSE attestation bundle: {counts} in {time.perf_counter() - start:.1f} s")


def test_record_bundle_mutations(release: Dist) -> None:
    start = time.perf_counter()
    counts = _run(
        _bundle(release.record),
        _docs([_bundle(release.sbom), _bundle(release.notes), _bundle(release.wheel)]),
        lambda: verify_record(release.record, signers=[GOOD], trusted_root=release.trusted_root),
        seed=1503,
    )
    assert counts["model"] < MUTATIONS * 0.05, counts
    print(f"record bundle: {counts} in {time.perf_counter() - start:.1f} s")


def test_record_mutations(release: Dist) -> None:
    """The record's own bytes: every change, even one JSON normalisation undoes, is refused (its signature
    is over the exact bytes)."""
    start = time.perf_counter()
    doc = json.loads(release.record.read_bytes())
    counts = _run(
        release.record,
        [doc],
        lambda: verify_record(release.record, signers=[GOOD], trusted_root=release.trusted_root),
        seed=1504,
        bundle=False,
    )
    assert counts["model"] == 0
    print(f"record: {counts} in {time.perf_counter() - start:.1f} s")
