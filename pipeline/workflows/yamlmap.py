"""YAML with line numbers: mappings and lists that remember where each key or item was written.

GitHub Actions files are YAML 1.1 as PyYAML reads it, so the key `on` comes back as the boolean True; it is
renamed back to "on" here.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class YMap(dict):
    """A mapping; `line` is where it starts, `lines[key]` where each key is (1-based)."""

    line: int
    lines: dict[Any, int]


class YList(list):
    """A sequence; `line` is where it starts, `lines[i]` where each item is (1-based)."""

    line: int
    lines: list[int]


def _convert(node: Node, constructor: SafeConstructor) -> Any:
    if isinstance(node, MappingNode):
        constructor.flatten_mapping(node)  # merge keys (<<)
        result = YMap()
        result.line = node.start_mark.line + 1
        result.lines = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if key is True:
                key = "on"
            result[key] = _convert(value_node, constructor)
            result.lines[key] = key_node.start_mark.line + 1
        return result
    if isinstance(node, SequenceNode):
        items = YList(_convert(item, constructor) for item in node.value)
        items.line = node.start_mark.line + 1
        items.lines = [item.start_mark.line + 1 for item in node.value]
        return items
    if isinstance(node, ScalarNode):
        return constructor.construct_object(node, deep=True)
    return None


def load(text: str, *, source: str = "<workflow>") -> Any:
    """Parse one YAML document into YMap/YList/scalars, through the bounded loader (`pipeline.yamlsafe`):
    `YamlSyntaxError` for text that is not YAML, `ConfigError` for text past its limits."""
    from pipeline import yamlsafe

    node, loader = yamlsafe.compose(text, source=source)
    if node is None:
        return None
    try:
        return _convert(node, loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise yamlsafe.YamlSyntaxError(problem, source=source, line=mark.line + 1 if mark else None) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp of month 13
        raise yamlsafe.YamlSyntaxError(f"a value cannot be read: {exc}", source=source, line=None) from None


def line_of(container: Any, key: Any, default: int = 0) -> int:
    """The line of `key` in a YMap (or index in a YList), else the container's own line, else `default`."""
    if isinstance(container, YMap):
        return container.lines.get(key, container.line)
    if isinstance(container, YList) and isinstance(key, int) and 0 <= key < len(container.lines):
        return container.lines[key]
    return getattr(container, "line", default)
