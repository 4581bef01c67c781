"""The release's progress lines: the one `Progress` of pipeline.progress (sbom and vulndb use it too)."""

from pipeline.progress import Progress

__all__ = ["Progress"]
