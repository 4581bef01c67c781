"""The poisoning rules: one function per rule, each combining signals (`pipeline.scan.signals`, language-free
and English), concepts in many languages (`pipeline.scan.lexicon`) and decoded payloads (`pipeline.scan.decode`)
into hits. A signal alone is often harmless ("reads files from the given path"); signals that appear together
(a secret, a read order, a hidden destination, concealment) make a finding severe.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.findings import Rule
from pipeline.scan import lexicon
from pipeline.scan.decode import decode_base64
from pipeline.scan.rules import checks
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


@dataclass(frozen=True)
class RuleSpec:
    id: str
    name: str
    description: str
    fix: str


SPECS = {
    s.id: s
    for s in (
        RuleSpec(
            "MH-TOOL-INSTRUCTION-BLOCK",
            "instruction-block",
            "Text addressed to the model: <IMPORTANT>/<SYSTEM> blocks, [INST] markers, "
            "'ignore previous instructions' and the like",
            "Remove the block: a description says what the tool does, it never gives the model orders.",
        ),
        RuleSpec(
            "MH-TOOL-SECRET-ACCESS",
            "secret-access",
            "An order to read secrets or configuration (SSH keys, .env, mcp.json, credentials, tokens)",
            "Remove the order; a tool that needs a secret gets it from its own configuration, never via the model.",
        ),
        RuleSpec(
            "MH-TOOL-EXFILTRATION",
            "exfiltration",
            "An order to move data (conversation, file contents, secrets) into a parameter, URL or address",
            "Remove the order; parameters carry only what the user asked the tool to act on.",
        ),
        RuleSpec(
            "MH-TOOL-CONCEAL",
            "conceal",
            "Concealment from the user: 'do not tell the user', 'silently', 'without informing'",
            "Remove it: nothing a tool does may be hidden from the user.",
        ),
        RuleSpec(
            "MH-TOOL-PRECEDENCE",
            "forced-precedence",
            "Forced precedence over other tools: 'always use this tool instead of', 'call this before any other'",
            "Remove it; let the client and the user decide which tool runs.",
        ),
        RuleSpec(
            "MH-TOOL-SHADOWING",
            "shadowing",
            "A description that changes how another tool or server behaves (tool shadowing)",
            "Remove references to other tools' behaviour; a tool describes only itself.",
        ),
        RuleSpec(
            "MH-TOOL-DUPLICATE-NAME",
            "duplicate-name",
            "The same or a confusingly similar tool name on two servers of one configuration",
            "Rename one tool, or drop one server; a client may call the wrong server's tool.",
        ),
        RuleSpec(
            "MH-TOOL-CONFUSABLE-NAME",
            "confusable-name",
            "A tool or prompt name spelled with look-alike characters (Cyrillic 'е' for 'e', fullwidth "
            "letters) so that it reads as another name",
            "Spell the name in plain ASCII; a client or a reviewer cannot tell the two apart.",
        ),
        RuleSpec(
            "MH-TOOL-HIDDEN-PARAM",
            "hidden-parameter",
            "A parameter meant to carry conversation, context or secrets the user never typed",
            "Remove the parameter, or describe it as what the user must supply.",
        ),
        RuleSpec(
            "MH-TOOL-EVASION-MARKUP",
            "evasion-markup",
            "Markup that hides text from people: HTML comments, bracket markers, base64 blobs",
            "Remove the hidden text; what a model reads must be what a reviewer sees.",
        ),
        RuleSpec(
            "MH-TOOL-HIDDEN-UNICODE",
            "hidden-unicode",
            "Invisible Unicode: tag characters, zero-width, bidi overrides, control and ANSI escape codes",
            "Remove the invisible code points (the decoded text is in the evidence).",
        ),
        RuleSpec(
            "MH-TOOL-OFFSCREEN",
            "offscreen-payload",
            "Text pushed off screen by long runs of whitespace, newlines or padding",
            "Remove the padding and what follows it.",
        ),
        RuleSpec(
            "MH-TOOL-SCHEMA-INJECTION",
            "schema-injection",
            "Instructions inside schema values (default, enum, const, examples) or property names",
            "Schema values hold data only; move prose to the description and remove any instruction.",
        ),
        RuleSpec(
            "MH-TOOL-TUNNEL-URL",
            "tunnel-url",
            "A URL of a tunnel or request catcher (ngrok, trycloudflare, webhook.site, requestbin, interactsh...)",
            "Remove the URL; a published tool never sends data to a tunnel or a request catcher.",
        ),
        RuleSpec(
            "MH-TOOL-COMMAND",
            "dangerous-command",
            "An order to run a download-and-execute, reverse-shell or destructive command",
            "Remove the command from the description.",
        ),
        RuleSpec(
            "MH-TOOL-MANIPULATION",
            "manipulation",
            "Pressure words and model-directed orders (urgent, mandatory, 'the assistant must') without a "
            "stronger signal",
            "Rephrase as a plain description of what the tool does.",
        ),
        RuleSpec(
            "MH-TOOL-OVERSIZED",
            "oversized-string",
            "A string longer than the scanner reads in full (only its head and tail were scanned), or a value "
            "nested too deep to walk",
            "Shorten or flatten it: no description needs to be this long, and a reviewer cannot read it.",
        ),
        RuleSpec(
            "MH-TOOL-LANGUAGE-SWITCH",
            "language-switch",
            "A description that switches language or script part-way, with orders in the second part (orders "
            "hidden from a reviewer who reads only the first language)",
            "Write the description in one language, and remove the orders from it.",
        ),
        RuleSpec(
            "MH-TOOL-REMOTE-REF",
            "remote-ref",
            "A schema `$ref` to a network URL: the schema a client validates against is fetched at run time and can "
            "change after review",
            "Inline the referenced schema (or use a local `#/$defs/...` reference).",
        ),
    )
}


def rules() -> list[Rule]:
    return [Rule(id=s.id, name=s.name, description=s.description, help=s.fix) for s in SPECS.values()]


def _plain(ctx: Context) -> bool:
    """No sign at all, judged cheaply: ASCII English (no other language's function words), nothing encoded,
    no markdown link, no well-known tool of another server."""
    text, sig = ctx.text, ctx.sig
    if not text.isascii() or lexicon.wanted(text, sig.present) or "](" in text or "]:" in text:
        return False
    if not sig.present.isdisjoint(ENCODED_MARKS) and ctx.decoded:
        return False
    return not checks.mentions_known_tool(text, sig.low)


def evaluate(text: str, kind: str, *, own_name: str = "") -> list[Hit]:
    """Findings for one string. `kind`: text (descriptions), value (default/enum/const/examples), name
    (a tool or property name), param (a property's description; `own_name` is the property's name), ref (a
    schema `$ref`), instructions (the server's `instructions`: written for the model by design, so being
    addressed to it, or telling it how to proceed, is no sign; only the stronger signals count there)."""
    if kind == "ref":
        return checks.remote_ref(text)
    ctx = Context.of(text, kind, own_name)
    if ctx is None:
        return checks.short_value(text, kind, own_name)
    sig = ctx.sig
    if not sig.anchors and ctx.kind in ("text", "param") and _plain(ctx):
        return []  # the common case: a plain description with no sign at all
    for check in checks.CHECKS:
        check(ctx)
    checks.bump_schema_values(ctx)
    return ctx.hits
