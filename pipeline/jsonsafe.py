"""JSON from files mcp-harden did not write: strict (no NaN or Infinity), bounded in nesting and in the
length of numbers, and every refusal a one-line `ConfigError` (exit 2) naming the file.

Python's decoder recurses once per level, so 100,000 nested brackets end in a `RecursionError`; a
5,000-digit integer ends in a `ValueError` from `int()`. Both become a message here, and whatever is
accepted is shallow enough for any recursive walk in mcp-harden."""

from __future__ import annotations

import json
import os
from typing import Any

from pipeline.errors import ConfigError
from pipeline.fileio import MAX_TEXT_BYTES, read_bounded

__all__ = ["MAX_DEPTH", "MAX_NUMBER", "LimitError", "load_file", "loads"]

MAX_DEPTH = 200  # a JSON Schema in a tool's inputSchema nests; nothing real nests this deep
MAX_NUMBER = 100  # characters in one number
# Objects in one document: each costs a dict (about 20 times its two bytes of text, `{}`), so the size cap
# alone would let a file within it grow to gigabytes. An SBOM of 10,000 components holds ~100,000.
MAX_OBJECTS = 1_000_000


class LimitError(ConfigError):
    """Past a limit (nesting, number length): hostile or not what it claims, unlike a truncated file."""


class _NumberTooLong(ValueError):
    pass


def _number(text: str) -> Any:
    if len(text) > MAX_NUMBER:
        raise _NumberTooLong(f"a number longer than {MAX_NUMBER} characters")
    return float(text) if any(c in text for c in ".eE") else int(text)


def _constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def loads(
    data: str | bytes,
    *,
    where: str,
    what: str = "file",
    max_depth: int = MAX_DEPTH,
    max_objects: int = MAX_OBJECTS,
) -> Any:
    """Parse `data`; errors name `where` (with line and column for a syntax error)."""
    # Counted before parsing, at C speed: every object opens with a brace (braces inside strings count
    # too, so this bounds from above).
    braces = data.count(b"{") if isinstance(data, bytes) else data.count("{")
    if braces > max_objects:
        raise LimitError(f"{what} holds more than {max_objects} objects", where=where)
    try:
        value = json.loads(data, parse_int=_number, parse_float=_number, parse_constant=_constant)
    except RecursionError:
        raise LimitError(f"{what} is nested too deeply to be JSON mcp-harden reads", where=where) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{what} is not valid JSON: {exc.msg}", where=f"{where}:{exc.lineno}:{exc.colno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} is not UTF-8 text (byte {exc.start})", where=where) from None
    except _NumberTooLong as exc:
        raise LimitError(f"{what}: {exc}", where=where) from None
    except ValueError as exc:
        raise ConfigError(f"{what} is not valid JSON: {exc}", where=where) from None
    depth = _depth(value, max_depth)
    if depth > max_depth:
        raise LimitError(f"{what} is nested deeper than {max_depth} levels", where=where)
    return value


def _depth(value: Any, stop: int) -> int:
    """Nesting depth, without recursion; stops counting once past `stop`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > stop:
            return deepest
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def load_file(
    path: str | os.PathLike[str], *, what: str, limit: int = MAX_TEXT_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """A JSON file an option names: `read_bounded` (a regular file, size capped while reading), then `loads`."""
    return loads(
        read_bounded(path, what=what, limit=limit), where=os.fspath(path), what=what, max_depth=max_depth
    )
