"""Every rule mcp-harden checks, declared once where it is checked, and the findings built from it.

A rule is declared with `declare(...)` at import time of the module that checks it; the object it returns is
the only way to make a finding of that rule (`RULE.finding(...)`), so an id cannot be misspelt at the place
that reports it. `all_rules()` imports every checking module (see `CATALOG`) and returns the whole registry:
the docs page, `mcp-harden explain` and SARIF read it from there.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.findings import Finding, Location, Severity

DOCS_URL = "https://github.com/mcp-harden/mcp-harden/blob/main/docs/rules.md"
RULE_ID = re.compile(r"MH-[A-Z0-9]+(?:-[A-Z0-9]+)+")
RULE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# The stages, in the order the docs page lists them, and the modules that declare their rules.
STAGES = (
    "policy",
    "sbom",
    "audit",
    "manifest",
    "scan-tools",
    "sign",
    "verify",
    "provenance",
    "check-endpoint",
    "lint-workflows",
)
CATALOG = (
    "pipeline.rules.suppress",
    "pipeline.sbom",
    "pipeline.audit",
    "pipeline.manifest.diff",
    "pipeline.scan.rules",
    "pipeline.scan.engine",
    "pipeline.verify",
    "pipeline.provenance",
    "pipeline.endpoint.tls",
    "pipeline.endpoint.web",
    "pipeline.endpoint.mcp_http",
    "pipeline.workflows.rules",
    "pipeline.workflows",
)


@dataclass(frozen=True)
class Rule:
    """One rule: a stable id, a short kebab-case name, one line on what it detects, the severity its findings
    have unless the check says otherwise, the stage that checks it, the standard it enforces (a URL or a
    citation) and the default fix."""

    id: str
    name: str
    summary: str
    severity: Severity
    stage: str
    standard: str = ""
    fix: str = ""
    references: tuple[str, ...] = field(default=())

    @property
    def anchor(self) -> str:
        return self.id.lower()

    @property
    def help_uri(self) -> str:
        """The rule's section of the documentation page (derived from the id, so every rule has one)."""
        return f"{DOCS_URL}#{self.anchor}"  # the same as help_uri_for(self.id)

    # The name SARIF and the old `Rule` used for `summary`.
    @property
    def description(self) -> str:
        return self.summary

    def finding(
        self,
        title: str | None = None,
        *,
        severity: Severity | None = None,
        location: Location | None = None,
        evidence: str = "",
        fix: str | None = None,
        references: Iterable[str] = (),
        properties: dict[str, Any] | None = None,
        suppressed: str | None = None,
    ) -> Finding:
        """A finding of this rule; the title defaults to the summary, the fix to the rule's fix."""
        refs = list(references)
        for ref in (*self.references, *([self.standard] if self.standard.startswith("http") else [])):
            if ref not in refs:
                refs.append(ref)
        return Finding(
            rule_id=self.id,
            severity=self.severity if severity is None else severity,
            title=title or self.summary,
            location=location or Location(),
            evidence=evidence,
            fix=self.fix if fix is None else fix,
            references=refs,
            suppressed=suppressed,
            properties=dict(properties or {}),
        )


_REGISTRY: dict[str, Rule] = {}


def help_uri_for(rule_id: str) -> str | None:
    """The documentation link of an mcp-harden rule id, without loading the catalog (for renderers)."""
    return f"{DOCS_URL}#{rule_id.lower()}" if RULE_ID.fullmatch(rule_id) else None


def declare(
    rule_id: str,
    *,
    name: str,
    summary: str,
    severity: Severity,
    stage: str,
    standard: str = "",
    fix: str = "",
    references: Iterable[str] = (),
) -> Rule:
    """Declare a rule. Each id is declared exactly once; a second declaration is a programming error."""
    if not RULE_ID.fullmatch(rule_id):
        raise ValueError(f"rule id {rule_id!r} is not of the form MH-STAGE-THING")
    if not RULE_NAME.fullmatch(name):
        raise ValueError(f"rule {rule_id}: name {name!r} is not kebab-case")
    if stage not in STAGES:
        raise ValueError(f"rule {rule_id}: unknown stage {stage!r}")
    if rule_id in _REGISTRY:
        raise ValueError(f"rule {rule_id} is declared twice")
    rule = Rule(rule_id, name, " ".join(summary.split()), severity, stage, standard, fix, tuple(references))
    _REGISTRY[rule_id] = rule
    return rule


def lookup(rule_id: str) -> Rule | None:
    """The declared rule with this id, loading the catalog if needed; None for an unknown id (a report
    written by another version may carry one)."""
    if rule_id not in _REGISTRY:
        _load_catalog()
    return _REGISTRY.get(rule_id)


def all_rules() -> list[Rule]:
    """Every declared rule, by stage (in `STAGES` order), then id."""
    _load_catalog()
    order = {stage: n for n, stage in enumerate(STAGES)}
    return sorted(_REGISTRY.values(), key=lambda r: (order[r.stage], r.id))


_loaded = False


def _load_catalog() -> None:
    global _loaded
    if _loaded:
        return
    for module in CATALOG:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a stage not (yet) in this build is fine; a broken import is not
                raise
    _loaded = True
