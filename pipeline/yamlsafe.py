"""The one YAML loader for files mcp-harden did not write: policy, workflows, actions, OSV records.

PyYAML's safe loader never runs code, but it has no bounds: an alias is a pointer, so a 520-byte file of
nested aliases ("billion laughs") is a tree of 10^9 nodes to anything that walks it; a recursive alias is
a cycle; a deep nesting is a deep Python recursion; a 5,000-digit number fails in `int()`. Here the node
graph is checked before anything walks it: nesting depth, alias count, expanded node count, cycles,
scalar length and number length. Every refusal is a `ConfigError` (exit 2) naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from pipeline.errors import ConfigError

__all__ = ["DEFAULT_LIMITS", "Limits", "YamlSyntaxError", "compose", "construct", "load"]


@dataclass(frozen=True)
class Limits:
    """Generous for a policy, a workflow or an OSV record; far below what hurts."""

    max_chars: int = 16 << 20
    max_depth: int = 64  # nesting of mappings and lists
    max_aliases: int = 1000  # `*name` references in one document
    max_nodes: int = 200_000  # nodes once every alias is expanded
    max_scalar: int = 1 << 20  # characters in one string
    max_number: int = 100  # characters in one int or float


DEFAULT_LIMITS = Limits()
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class YamlSyntaxError(ConfigError):
    """The text is not YAML (a parse error): `line` (1-based, or None) and `problem` say where and why."""

    def __init__(self, problem: str, *, source: str, line: int | None) -> None:
        super().__init__(f"malformed YAML: {problem}", where=f"{source}:{line}" if line else source)
        self.problem = problem
        self.line = line


def _line(node_or_mark: Any) -> int | None:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return mark.line + 1 if mark is not None and hasattr(mark, "line") else None


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _Base(Composer, CParser, SafeConstructor, Resolver):
        """Events from libyaml (five times faster than PyYAML's scanner), composed here in Python, where
        the checks are. Same results as `yaml.SafeLoader`."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader  # type: ignore[misc,assignment]


class _Loader(_Base):
    """A safe loader whose composer counts depth and aliases and checks each scalar as it is built."""

    def __init__(self, text: str, *, source: str, limits: Limits) -> None:
        super().__init__(text)
        self.source = source
        self.limits = limits
        self.depth = 0
        self.aliases = 0

    def refuse(self, what: str, at: Any) -> ConfigError:
        line = _line(at)
        return ConfigError(what, where=f"{self.source}:{line}" if line else self.source)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            self.aliases += 1
            if self.aliases > self.limits.max_aliases:
                raise self.refuse(f"more than {self.limits.max_aliases} aliases", self.peek_event())
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > self.limits.max_depth:
                raise self.refuse(f"nested deeper than {self.limits.max_depth} levels", self.peek_event())
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def compose_scalar_node(self, anchor: Any) -> ScalarNode:
        node: ScalarNode = super().compose_scalar_node(anchor)
        if len(node.value) > self.limits.max_scalar:
            raise self.refuse(f"a value longer than {self.limits.max_scalar} characters", node)
        if node.tag in _NUMBER_TAGS and len(node.value) > self.limits.max_number:
            raise self.refuse(f"a number longer than {self.limits.max_number} characters", node)
        return node


class _DateTextLoader(_Loader):
    """Dates stay text: a bad date then fails where the schema checks it, with its key and line."""


_DateTextLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _check_graph(root: Node, loader: _Loader) -> None:
    """Expanded size and cycles, without recursion: each node is sized once (memo), so the walk costs
    the graph's size, not the tree's."""
    limit = loader.limits.max_nodes
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        kids = _children(node)
        if children_done:
            on_path.discard(key)
            total = 1 + sum(size[id(kid)] for kid in kids)
            if total > limit:
                raise loader.refuse(f"aliases expand to more than {limit} nodes", node)
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise loader.refuse("a recursive alias (a node that contains itself)", node)
        on_path.add(key)
        stack.append((node, True))
        for kid in kids:
            if id(kid) in on_path:
                raise loader.refuse("a recursive alias (a node that contains itself)", kid)
            if id(kid) not in size:
                stack.append((kid, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _loader(text: str, source: str, limits: Limits, dates: bool) -> _Loader:
    if len(text) > limits.max_chars:
        raise ConfigError(f"larger than {limits.max_chars} characters", where=source)
    cls = _Loader if dates else _DateTextLoader
    return cls(text, source=source, limits=limits)


def _syntax(exc: yaml.YAMLError, source: str) -> YamlSyntaxError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    return YamlSyntaxError(problem, source=source, line=_line(mark))


def compose(
    text: str, *, source: str, limits: Limits = DEFAULT_LIMITS, dates: bool = True
) -> tuple[Node | None, Any]:
    """The checked node graph of a single-document YAML text, and the loader that can construct it.
    Raises `YamlSyntaxError` for text that is not YAML and `ConfigError` for text past the limits."""
    loader = _loader(text, source, limits, dates)
    try:
        node = loader.get_single_node()
    except RecursionError:
        raise ConfigError("nested too deeply", where=source) from None
    except yaml.YAMLError as exc:
        error = _syntax(exc, source)
        if "maximum nesting depth" in error.problem:  # libyaml's own cap, met before ours in flow style
            raise ConfigError(f"nested deeper than {limits.max_depth} levels", where=error.where) from None
        raise error from None
    finally:
        loader.dispose()
    if node is not None:
        _check_graph(node, loader)
    return node, loader


def construct(node: Node | None, loader: Any, *, source: str) -> Any:
    """Python values for a checked graph (aliases become shared objects, as in PyYAML)."""
    if node is None:
        return None
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _syntax(exc, source) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp of month 13
        raise YamlSyntaxError(f"a value cannot be read: {exc}", source=source, line=None) from None


def load(text: str, *, source: str, limits: Limits = DEFAULT_LIMITS, dates: bool = True) -> Any:
    """`yaml.safe_load`, bounded: see the module's docstring."""
    node, loader = compose(text, source=source, limits=limits, dates=dates)
    return construct(node, loader, source=source)
