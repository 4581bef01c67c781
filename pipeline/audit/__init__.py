"""Dependency audit stage: pip-audit's vulnerability services on exactly the SBOM's resolved set.

`sources` (SBOM, requirements), `services` (OSV, PyPI, the offline database in process), `judge` (findings
under the policy), `vex` (the SBOM with its vulnerabilities), `stage` (the run), `osvdb` and `server` (the
local database and its loopback API for `vulndb serve`).
"""

from pipeline.audit.judge import AUDIT_IGNORE_EXPIRED, AUDIT_VULN, RULES
from pipeline.audit.services import check_db_age, open_service
from pipeline.audit.sources import Dependency, RequirementsSource, SbomSource
from pipeline.audit.stage import run_audit

__all__ = [
    "AUDIT_IGNORE_EXPIRED",
    "AUDIT_VULN",
    "RULES",
    "Dependency",
    "RequirementsSource",
    "SbomSource",
    "check_db_age",
    "open_service",
    "run_audit",
]
