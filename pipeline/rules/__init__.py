"""The rule registry: every rule declared once, findings built from it, its documentation and suppressions."""

from pipeline.rules.registry import DOCS_URL, STAGES, Rule, all_rules, declare, help_uri_for, lookup

__all__ = ["DOCS_URL", "STAGES", "Rule", "all_rules", "declare", "help_uri_for", "lookup"]
