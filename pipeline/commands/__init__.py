"""One module per subcommand. Keep imports here light: stages are imported inside `run`.

Each command module is a `Command`: a `SPEC` saying how the CLI wraps it, `add_arguments(parser)` and
`run(args, policy)` (the policy always given: read from its file, or the defaults), which returns a Report (rendered and judged by the CLI) or an exit code.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report


@dataclass(frozen=True)
class CommandSpec:
    """How the CLI wraps a command. `reports`: it takes the shared report options (--format, --json, ...);
    `own_output`: its `-o` names its product (an SBOM, a record), so the report goes to `--report`;
    `uses_policy`: the policy file is read (else `run` gets the defaults); `inputs`/`outputs`: argparse destinations of
    the files it reads and writes ((destination, option) for outputs), so an output can never overwrite an
    input; `implied_inputs`: files it reads that the command line names only implicitly (a bundle beside
    an artifact)."""

    name: str
    summary: str
    examples: str = ""
    reports: bool = True
    own_output: bool = False
    uses_policy: bool = True
    inputs: Sequence[str] = ()
    outputs: Sequence[tuple[str, str]] = ()
    implied_inputs: Callable[[argparse.Namespace], Sequence[str | os.PathLike[str]]] | None = None


class Command(Protocol):
    SPEC: CommandSpec

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, policy: Policy) -> Report | int: ...


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
