"""Severity of an OSV record: CVSS v3.x base score computed from the vector, else the advisory
database's own label (GHSA), else unknown (None) — which the policy then maps, never downward."""

from __future__ import annotations

import math
from typing import Any

from pipeline.findings import Severity

_W = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}


def _roundup(value: float) -> float:
    as_int = round(value * 100000)
    return as_int / 100000.0 if as_int % 10000 == 0 else (math.floor(as_int / 10000) + 1) / 10.0


def cvss3_base_score(vector: str) -> float | None:
    """The CVSS 3.0/3.1 base score of a vector string, or None if it is not one."""
    parts = dict(p.split(":", 1) for p in vector.split("/")[1:] if ":" in p)
    try:
        scope = parts["S"]
        iss = 1 - (1 - _W["C"][parts["C"]]) * (1 - _W["C"][parts["I"]]) * (1 - _W["C"][parts["A"]])
        if scope == "U":
            impact = 6.42 * iss
        else:
            impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
        exploit = (
            8.22
            * _W["AV"][parts["AV"]]
            * _W["AC"][parts["AC"]]
            * _PR[scope][parts["PR"]]
            * _W["UI"][parts["UI"]]
        )
    except KeyError:
        return None
    if impact <= 0:
        return 0.0
    if scope == "U":
        return _roundup(min(impact + exploit, 10))
    return _roundup(min(1.08 * (impact + exploit), 10))


def from_score(score: float) -> Severity:
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0:
        return Severity.LOW
    return Severity.INFO


_LABELS = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}


def record_severity(record: dict[str, Any]) -> tuple[Severity | None, str]:
    """(severity, how it was found). Takes the highest of the record's CVSS v3 scores."""
    best: tuple[float, str] | None = None
    for entry in record.get("severity") or []:
        if str(entry.get("type", "")).startswith("CVSS_V3"):
            score = cvss3_base_score(str(entry.get("score", "")))
            if score is not None and (best is None or score > best[0]):
                best = (score, str(entry["score"]))
    if best is not None:
        return from_score(best[0]), f"CVSS {best[0]:.1f} ({best[1]})"
    for holder in [record.get("database_specific") or {}] + [
        a.get("database_specific") or {} for a in record.get("affected", [])
    ]:
        label = str(holder.get("severity", "")).upper()
        if label in _LABELS:
            return _LABELS[label], f"advisory label {label}"
    return None, "no severity in the advisory"
