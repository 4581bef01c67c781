"""Where a long run is, on a terminal only: "stage n of N" and the steps inside the long stages.

Off a terminal (CI logs, pipes) it says nothing unless asked (`--progress`), so the report stays the only
output; it always writes to stderr, never into machine output."""

from __future__ import annotations

import sys
import time
from typing import TextIO

TICK_INTERVAL = 0.5  # seconds between two rate-limited lines (`tick`)


def wanted(flag: bool, stream: TextIO | None = None) -> bool:
    """Progress is shown when asked for (`--progress`) or when the stream is a terminal."""
    return flag or (stream or sys.stderr).isatty()


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.index = 0
        self.stage = ""
        self.started = time.monotonic()
        self._last_tick = 0.0

    def begin(self, stage: str) -> None:
        self.index += 1
        self.stage = stage
        self.started = time.monotonic()
        self._last_tick = 0.0  # a stage's first tick always shows
        self._say(f"[stage {self.index} of {self.total}] {stage}" if self.total > 1 else f"[{stage}]")

    def step(self, text: str) -> None:
        """A step inside the current stage (resolution, database load, capture, signing)."""
        self._say(f"    {self.stage}: {text}")

    def tick(self, text: str) -> None:
        """Progress inside a step (packages collected, bytes downloaded): at most one line per TICK_INTERVAL."""
        now = time.monotonic()
        if now - self._last_tick >= TICK_INTERVAL:
            self._last_tick = now
            self.step(text)

    def end(self, status: str) -> None:
        self._say(f"    {self.stage}: {status} ({time.monotonic() - self.started:.1f} s)")

    def _say(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text + "\n")
            self.stream.flush()


QUIET = Progress(0, enabled=False)  # for callers that show none
