"""The one validation for a number of seconds and for a port, wherever it is set: a command-line option
(as an argparse `type`) or a policy field (in the section's `__post_init__`)."""

from __future__ import annotations

import argparse
import math

__all__ = ["MAX_SECONDS", "check_port", "check_seconds", "port", "seconds"]

MAX_SECONDS = 3600.0  # an hour: longer than any check needs; `inf` would disable the deadline


def check_seconds(value: float) -> float:
    """`value` if it is a finite number of seconds in (0, MAX_SECONDS]; else `ValueError` saying why."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a number of seconds")
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise ValueError(f"{value:g} is not a positive number of seconds up to {MAX_SECONDS:g}")
    return float(value)


def check_port(value: int, *, allow_zero: bool = True) -> int:
    """`value` if it is a TCP port (0 = any free port, when `allow_zero`); else `ValueError`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (0 if allow_zero else 1) <= value <= 65535
    ):
        low = 0 if allow_zero else 1
        raise ValueError(f"{value!r} is not a port ({low}-65535)")
    return value


def seconds(text: str) -> float:
    """argparse `type=` for a timeout option: refused at parse time (exit 2), before anything runs."""
    try:
        return check_seconds(float(text))
    except ValueError as exc:
        message = str(exc) if "seconds" in str(exc) and "could not convert" not in str(exc) else None
        raise argparse.ArgumentTypeError(message or f"{text!r} is not a number of seconds") from None


def port(text: str) -> int:
    """argparse `type=` for a port option (0 = any free port)."""
    try:
        return check_port(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)") from None
