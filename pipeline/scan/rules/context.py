"""What every rule function reads (the string, its kind, its signals and concepts) and what it adds (hits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from pipeline.findings import Severity
from pipeline.rules import Rule
from pipeline.scan import lexicon
from pipeline.scan.decode import HINT_WORDS, Decoded, decode_all, decode_hinted
from pipeline.scan.signals import ASCII_LOWER, IDENT, Signals


@dataclass(slots=True)
class Hit:
    rule: Rule
    severity: Severity
    start: int
    end: int
    title: str
    detail: str = ""  # added to the evidence (decoded text, the signals that raised the severity)
    decoded: str = ""  # text this span decodes to, scanned in turn
    ref: str = ""  # the other tool this hit names (shadowing): dropped when the server provides it itself


Spans = list[tuple[int, int]]


@dataclass
class Context:
    text: str
    kind: str  # text | value | name | param (instructions are read as text, with for_model set)
    own_name: str
    for_model: bool
    sig: Signals
    hits: list[Hit] = field(default_factory=list)
    mentions: Spans = field(default_factory=list)  # orders quoted or named, not given (see drop_protective)
    params: frozenset[str] = frozenset()  # the tool's own parameter names (for its description)

    @classmethod
    def of(cls, text: str, kind: str, own_name: str, params: frozenset[str] = frozenset()) -> Context | None:
        """None for a short identifier-like value (a word, a number, a short path or URL): see short_value."""
        for_model = kind == "instructions"
        if for_model:
            kind = "text"
        if len(text) < 40 and IDENT.fullmatch(text):
            return None
        return cls(text, kind, own_name, for_model, Signals(text), params=params)

    @cached_property
    def strong_context(self) -> list[str]:
        return [k for k in ("tag", "override", "conceal", "exfil", "tunnel", "hidden_word") if k in self.sig]

    @cached_property
    def instructed(self) -> bool:
        return bool(self.strong_context) or (
            not self.for_model and any(k in self.sig for k in ("frame", "address", "precedence"))
        )

    @cached_property
    def multilingual(self) -> bool:
        return lexicon.wanted(self.text, self.sig.present)

    @cached_property
    def concepts(self) -> dict[str, Spans]:
        """Non-English concepts (the English ones are the signals' job)."""
        return lexicon.concepts(self.text) if self.multilingual else {}

    @cached_property
    def decoded(self) -> list[Decoded]:
        found = decode_all(self.text) if self.sig.present & ENCODED_MARKS else []
        if not self.text.isascii() or not self.sig.present.isdisjoint(HINT_WORDS):
            found += decode_hinted(self.text)  # ROT13 or backwards text, when a hint says so
        return found

    @cached_property
    def every_concept(self) -> dict[str, Spans]:
        """The concepts of every language, English included (for the rules that read structure, not words)."""
        return lexicon.concepts(self.text, english=True)

    def concept(self, name: str) -> Spans:
        return self.concepts.get(name, [])

    @cached_property
    def sinks(self) -> Spans:
        """Fields to put data into, in any language: the word for one ("parameter", "Feld", "引数"), or one of the
        tool's own parameter names written as a word ("put it in body")."""
        spans = list(self.concept("sink"))
        for name in sorted(self.params)[:64]:
            start = self.text.find(name)
            while start >= 0 and len(spans) < 40:
                end = start + len(name)
                before = self.text[start - 1 : start] if start else " "
                after = self.text[end : end + 1] or " "
                if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
                    spans.append((start, end))
                start = self.text.find(name, end)
        return sorted(spans)

    def has(self, rule: Rule) -> bool:
        return any(h.rule == rule for h in self.hits)

    def add(self, hit: Hit) -> None:
        self.hits.append(hit)

    @property
    def low(self) -> str:
        return self.sig.low


ENCODED_MARKS = frozenset({"\0long", "\0escaped", "\0pct"})


def with_(keys: list[str]) -> str:
    return f"together with: {', '.join(sorted(set(keys)))}" if keys else ""


def clip(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def bump(severity: Severity, steps: int = 1) -> Severity:
    order = list(Severity)
    return order[min(order.index(severity) + steps, len(order) - 1)]


def lowered(text: str) -> str:
    return text.translate(ASCII_LOWER)
