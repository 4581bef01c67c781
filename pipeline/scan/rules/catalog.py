"""The scan-tools rules, each declared once (pipeline.rules); the long text of each (why, bad, good) is in
pipeline/data/rules/scan-tools.yaml. Rule functions (pipeline.scan.rules.checks) build hits from these objects."""

from __future__ import annotations

from pipeline.findings import Severity
from pipeline.rules import Rule, declare

STANDARD = "https://modelcontextprotocol.io/specification/2025-11-25/server/tools#security-considerations"
SCHEMA_STANDARD = "https://json-schema.org/draft/2020-12/json-schema-core#section-8.2.3"

INSTRUCTION_BLOCK = declare(
    "MH-TOOL-INSTRUCTION-BLOCK",
    name="instruction-block",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="Text addressed to the model: <IMPORTANT>/<SYSTEM> blocks, [INST] markers, 'ignore previous instructions' and the like",
    standard=STANDARD,
    fix="Remove the block: a description says what the tool does, it never gives the model orders.",
)

SECRET_ACCESS = declare(
    "MH-TOOL-SECRET-ACCESS",
    name="secret-access",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="An order to read secrets or configuration (SSH keys, .env, mcp.json, credentials, tokens)",
    standard=STANDARD,
    fix="Remove the order; a tool that needs a secret gets it from its own configuration, never via the model.",
)

EXFILTRATION = declare(
    "MH-TOOL-EXFILTRATION",
    name="exfiltration",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="An order to move data (conversation, file contents, secrets) into a parameter, URL or address",
    standard=STANDARD,
    fix="Remove the order; parameters carry only what the user asked the tool to act on.",
)

CONCEAL = declare(
    "MH-TOOL-CONCEAL",
    name="conceal",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="Concealment from the user: 'do not tell the user', 'silently', 'without informing'",
    standard=STANDARD,
    fix="Remove it: nothing a tool does may be hidden from the user.",
)

PRECEDENCE = declare(
    "MH-TOOL-PRECEDENCE",
    name="forced-precedence",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="Forced precedence over other tools: 'always use this tool instead of', 'call this before any other'",
    standard=STANDARD,
    fix="Remove it; let the client and the user decide which tool runs.",
)

SHADOWING = declare(
    "MH-TOOL-SHADOWING",
    name="shadowing",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="A description that changes how another tool or server behaves (tool shadowing)",
    standard=STANDARD,
    fix="Remove references to other tools' behaviour; a tool describes only itself.",
)

DUPLICATE_NAME = declare(
    "MH-TOOL-DUPLICATE-NAME",
    name="duplicate-name",
    stage="scan-tools",
    severity=Severity.MEDIUM,
    summary="The same or a confusingly similar tool name on two servers of one configuration",
    standard=STANDARD,
    fix="Rename one tool, or drop one server; a client may call the wrong server's tool.",
)

CONFUSABLE_NAME = declare(
    "MH-TOOL-CONFUSABLE-NAME",
    name="confusable-name",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="A tool or prompt name spelled with look-alike characters (Cyrillic 'е' for 'e', fullwidth letters) so that it reads as another name",
    standard=STANDARD,
    fix="Spell the name in plain ASCII; a client or a reviewer cannot tell the two apart.",
)

HIDDEN_PARAM = declare(
    "MH-TOOL-HIDDEN-PARAM",
    name="hidden-parameter",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="A parameter meant to carry conversation, context or secrets the user never typed",
    standard=STANDARD,
    fix="Remove the parameter, or describe it as what the user must supply.",
)

EVASION_MARKUP = declare(
    "MH-TOOL-EVASION-MARKUP",
    name="evasion-markup",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="Markup that hides text from people: HTML comments, bracket markers, base64 blobs",
    standard=STANDARD,
    fix="Remove the hidden text; what a model reads must be what a reviewer sees.",
)

HIDDEN_UNICODE = declare(
    "MH-TOOL-HIDDEN-UNICODE",
    name="hidden-unicode",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="Invisible Unicode: tag characters, zero-width, bidi overrides, control and ANSI escape codes",
    standard=STANDARD,
    fix="Remove the invisible code points (the decoded text is in the evidence).",
)

OFFSCREEN = declare(
    "MH-TOOL-OFFSCREEN",
    name="offscreen-payload",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="Text pushed off screen by long runs of whitespace, newlines or padding",
    standard=STANDARD,
    fix="Remove the padding and what follows it.",
)

SCHEMA_INJECTION = declare(
    "MH-TOOL-SCHEMA-INJECTION",
    name="schema-injection",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="Instructions inside schema values (default, enum, const, examples) or property names",
    standard=STANDARD,
    fix="Schema values hold data only; move prose to the description and remove any instruction.",
)

TUNNEL_URL = declare(
    "MH-TOOL-TUNNEL-URL",
    name="tunnel-url",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="A URL of a tunnel or request catcher (ngrok, trycloudflare, webhook.site, requestbin, interactsh...)",
    standard=STANDARD,
    fix="Remove the URL; a published tool never sends data to a tunnel or a request catcher.",
)

COMMAND = declare(
    "MH-TOOL-COMMAND",
    name="dangerous-command",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="An order to run a download-and-execute, reverse-shell or destructive command",
    standard=STANDARD,
    fix="Remove the command from the description.",
)

MANIPULATION = declare(
    "MH-TOOL-MANIPULATION",
    name="manipulation",
    stage="scan-tools",
    severity=Severity.MEDIUM,
    summary="Pressure words and model-directed orders (urgent, mandatory, 'the assistant must') without a stronger signal",
    standard=STANDARD,
    fix="Rephrase as a plain description of what the tool does.",
)

OVERSIZED = declare(
    "MH-TOOL-OVERSIZED",
    name="oversized-string",
    stage="scan-tools",
    severity=Severity.MEDIUM,
    summary="A string longer than the scanner reads in full (only its head and tail were scanned), or a value nested too deep to walk",
    standard=STANDARD,
    fix="Shorten or flatten it: no description needs to be this long, and a reviewer cannot read it.",
)

LANGUAGE_SWITCH = declare(
    "MH-TOOL-LANGUAGE-SWITCH",
    name="language-switch",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="A description that switches language or script part-way, with orders in the second part",
    standard=STANDARD,
    fix="Write the description in one language, and remove the orders from it.",
)

REMOTE_REF = declare(
    "MH-TOOL-REMOTE-REF",
    name="remote-ref",
    stage="scan-tools",
    severity=Severity.HIGH,
    summary="A schema $ref to a network URL: the schema is fetched when validated and can change after review",
    standard=SCHEMA_STANDARD,
    fix="Inline the referenced schema, or refer to it locally (#/$defs/...).",
)

SPECS: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        INSTRUCTION_BLOCK,
        SECRET_ACCESS,
        EXFILTRATION,
        CONCEAL,
        PRECEDENCE,
        SHADOWING,
        DUPLICATE_NAME,
        CONFUSABLE_NAME,
        HIDDEN_PARAM,
        EVASION_MARKUP,
        HIDDEN_UNICODE,
        OFFSCREEN,
        SCHEMA_INJECTION,
        TUNNEL_URL,
        COMMAND,
        MANIPULATION,
        OVERSIZED,
        LANGUAGE_SWITCH,
        REMOTE_REF,
    )
}


def rules() -> list[Rule]:
    return list(SPECS.values())
