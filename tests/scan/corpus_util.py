"""The corpus (two halves, split once: `tuning.yaml` and the held-out `test.yaml`; and blind referee sets),
and turning an item (a tool,
a description, server instructions, a prompt or a resource) into a record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipeline.manifest.record import build_record

CORPUS = Path(__file__).parent / "corpus"
HALVES = ("tuning", "test")
# Referee sets written blind (by someone who read neither the rules nor the corpus), each on the day its name
# gives: reported beside the halves, never tuned on. Once rules are changed after looking at one, it stops
# being blind and a new one is written.
BLIND = ("blind-2026-12-02",)


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
