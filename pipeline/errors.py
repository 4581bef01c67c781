"""Exit codes and the errors that map onto them.

One rule for every subcommand: 0 nothing at or above the failure threshold; 1 findings at or above it;
2 the command was used wrongly or the configuration is invalid; 3 the check could not be completed.
A gate treats 3 as a failure: "could not check" is never 0.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3


def one_line(exc: BaseException, *, with_type: bool = True, limit: int | None = None) -> str:
    """An exception as one line for a message: `Type: text` (or the text alone), capped at `limit`."""
    text = str(exc) or type(exc).__name__
    if with_type:
        text = f"{type(exc).__name__}: {text}"
    flat = " ".join(text.split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


class HardenError(Exception):
    """An error meant for people: one line that says what went wrong and where."""

    exit_code: ExitCode = ExitCode.INCOMPLETE

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        text = " ".join(self.message.split())  # always one line
        return f"{self.where}: {text}" if self.where else text


class UsageError(HardenError):
    """The command line was used wrongly (exit 2)."""

    exit_code = ExitCode.USAGE


class ConfigError(HardenError):
    """The policy file or an input file is invalid (exit 2)."""

    exit_code = ExitCode.USAGE


class CheckError(HardenError):
    """A check could not be completed: network, missing tool, timeout, unreadable input (exit 3)."""

    exit_code = ExitCode.INCOMPLETE
