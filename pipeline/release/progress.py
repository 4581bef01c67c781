"""Where a long run is, on a terminal only: "stage n of 7" and the steps inside the long stages.
Off a terminal (CI logs, pipes) it says nothing, so the report stays the only output."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.index = 0
        self.stage = ""
        self.started = time.monotonic()

    def begin(self, stage: str) -> None:
        self.index += 1
        self.stage = stage
        self.started = time.monotonic()
        self._say(f"[stage {self.index} of {self.total}] {stage}")

    def step(self, text: str) -> None:
        """A step inside the current stage (resolution, database load, capture, signing)."""
        self._say(f"    {self.stage}: {text}")

    def end(self, status: str) -> None:
        self._say(f"    {self.stage}: {status} ({time.monotonic() - self.started:.1f} s)")

    def _say(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text + "\n")
            self.stream.flush()
