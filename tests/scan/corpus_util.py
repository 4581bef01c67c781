"""The corpus (two halves, split once: `tuning.yaml` and the held-out `test.yaml`; and referee sets), and turning
an item (a tool, a description, server instructions, a prompt or a resource) into a record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipeline.manifest.record import build_record

CORPUS = Path(__file__).parent / "corpus"
HALVES = ("tuning", "test")
# Referee sets (tests/scan/corpus/blind-*.yaml), written by someone who read neither the rules nor the corpus,
# each on the day its name gives. The one list of them: name -> "blind" (never looked at: reported beside the
# halves, never tuned on) or "seen" (its misses were studied and the rules changed since: reported, but no
# longer evidence that the rules generalize). A new set is added here as "blind".
REFEREES: dict[str, str] = {
    "blind-2026-12-02": "seen",
    "blind-2026-12-02b": "seen",
    "blind-2026-12-02c": "seen",
    "blind-2026-12-02d": "seen",
    "blind-2026-12-02e": "seen",
    "blind-2026-12-02f": "blind",
    "blind-2026-12-02g": "blind",
    "blind-2026-12-02h": "blind",
}
BLIND = tuple(name for name, state in REFEREES.items() if state == "blind")
SEEN = tuple(name for name, state in REFEREES.items() if state == "seen")


def referee_label(name: str) -> str:
    """How a report names a referee set: a seen one says so."""
    return f"{name} (seen, tuned on since)" if REFEREES[name] == "seen" else f"{name} (blind)"


def load_half(half: str) -> list[dict[str, Any]]:
    """One half of the corpus, every item with `expect` (hostile or benign)."""
    items: list[dict[str, Any]] = yaml.safe_load((CORPUS / f"{half}.yaml").read_text(encoding="utf-8"))
    return items


def load_corpus(expect: str, halves: tuple[str, ...] = HALVES) -> list[dict[str, Any]]:
    """The hostile or the benign items of the given halves (both by default)."""
    return [item for half in halves for item in load_half(half) if item["expect"] == expect]


def raw_server(item: dict[str, Any]) -> dict[str, Any]:
    """A capture-shaped dict with the item in its place."""
    server: dict[str, Any] = {
        "name": f"corpus-{item['id']}",
        "version": "1.0.0",
        "protocolVersion": "2025-06-18",
    }
    raw: dict[str, Any] = {
        "server": server,
        "tools": [],
        "prompts": [],
        "resources": [],
        "resourceTemplates": [],
    }
    if "tool" in item:
        raw["tools"].append(item["tool"])
    elif "description" in item:
        raw["tools"].append(
            {
                "name": "tool",
                "description": item["description"],
                "inputSchema": {"type": "object", "properties": {}},
            }
        )
    elif "instructions" in item:
        server["instructions"] = item["instructions"]
    elif "prompt" in item:
        raw["prompts"].append(item["prompt"])
    elif "resource" in item:
        raw["resources"].append(item["resource"])
    return raw


def record_for(item: dict[str, Any]) -> dict[str, Any]:
    return build_record(raw_server(item))
