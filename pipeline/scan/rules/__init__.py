"""The poisoning rules: one function per rule, each combining signals (`pipeline.scan.signals`, language-free
and English), concepts in many languages (`pipeline.scan.lexicon`) and decoded payloads (`pipeline.scan.decode`)
into hits. A signal alone is often harmless ("reads files from the given path"); signals that appear together
(a secret, a read order, a hidden destination, concealment) make a finding severe.
"""

from __future__ import annotations

from pipeline.scan import lexicon
from pipeline.scan.decode import HINT_WORDS, decode_all, decode_base64, decode_hinted
from pipeline.scan.rules import checks
from pipeline.scan.rules.catalog import SPECS, rules
from pipeline.scan.rules.context import ENCODED_MARKS, Context, Hit
from pipeline.scan.signals import SIG, Signals, same_sentence, signals

__all__ = [
    "SIG",
    "SPECS",
    "Hit",
    "Signals",
    "decode_base64",
    "evaluate",
    "rules",
    "same_sentence",
    "signals",
]


def _plain(text: str, sig: Signals) -> bool:
    """No sign at all, judged cheaply: ASCII English (no other language's function words), nothing encoded,
    no markdown link, no well-known tool of another server."""
    if (
        not text.isascii()
        or "](" in text
        or "]:" in text
        or "<img" in sig.low
        or lexicon.wanted(text, sig.present)
    ):
        return False
    if not sig.present.isdisjoint(HINT_WORDS) and decode_hinted(text):
        return False  # text a hint says is in ROT13 or backwards
    if "://" in text and "_" in text and checks.SECRET_VAR.search(text):
        return False  # a secret variable beside a URL (see checks.exfiltration)
    if "://" in text and ("$" in text or "{" in text) and checks.SECRET_SLOT.search(text):
        return False  # a secret variable interpolated in a URL
    if not sig.present.isdisjoint(ENCODED_MARKS) and decode_all(text):
        return False
    return not checks.mentions_known_tool(text, sig.low, sig.present)


def evaluate(text: str, kind: str, *, own_name: str = "", params: frozenset[str] = frozenset()) -> list[Hit]:
    """Findings for one string. `kind`: text (descriptions), value (default/enum/const/examples), name
    (a tool or property name), param (a property's description; `own_name` is the property's name), ref (a
    schema `$ref`), instructions (the server's `instructions`: written for the model by design, so being
    addressed to it, or telling it how to proceed, is no sign; only the stronger signals count there).
    `params`: for a tool's description, the tool's own parameter names (fields its text may order data into)."""
    if kind == "ref":
        return checks.remote_ref(text)
    ctx = Context.of(text, kind, own_name, params)
    if ctx is None:
        return checks.short_value(text, kind, own_name)
    if (
        not ctx.sig.anchors
        and ctx.kind in ("text", "param")
        and not (ctx.kind == "param" and own_name and checks.suspicious_param(own_name))
        and _plain(text, ctx.sig)
    ):
        # the common case: a plain description with no sign at all (and no side-channel parameter); one that
        # names data and a verb that moves it, or a question and an answer, is read for structure alone
        if checks.plain_worth_reading(ctx.sig):
            for check in checks.PLAIN_CHECKS:
                check(ctx)
        return ctx.hits
    for check in checks.CHECKS:
        check(ctx)
    checks.bump_schema_values(ctx)
    return ctx.hits
