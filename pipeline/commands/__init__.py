"""One module per subcommand. Keep imports here light: stages are imported inside `run`."""

from __future__ import annotations

import argparse


def secret_value(value: str | None, option: str) -> str | None:
    """A token given on the command line, or `env:NAME` to read it from the environment (keeps it out of
    `ps` and shell history)."""
    import os

    from pipeline.errors import UsageError

    if value is None or not value.startswith("env:"):
        return value
    name = value[4:]
    secret = os.environ.get(name)
    if not secret:
        raise UsageError(f"environment variable {name} is not set or empty", where=option)
    return secret


def add_hidden_alias(parser: argparse.ArgumentParser, old: str, action: argparse.Action) -> None:
    """Keep an old option name working, hidden from --help: it fills the same destination as `action`
    (whose name is the one every command uses for that thing)."""
    alias = parser.add_argument(
        old, dest=action.dest, metavar=action.metavar, default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    alias.type = action.type  # the value is read as the new name reads it
