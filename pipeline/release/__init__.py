"""The whole release pipeline in one call: `mcp-harden release PROJECT_DIR`."""

from __future__ import annotations

from pipeline.release.lock import LOCK_NAME, Pin, parse_lock, pins_from_sbom, render_lock
from pipeline.release.progress import Progress
from pipeline.release.run import STAGES, Layout, ReleaseOptions, resolve_instance, run_release

__all__ = [
    "LOCK_NAME",
    "STAGES",
    "Layout",
    "Pin",
    "Progress",
    "ReleaseOptions",
    "parse_lock",
    "pins_from_sbom",
    "render_lock",
    "resolve_instance",
    "run_release",
]
