"""Every subcommand, and every action word under one (`vulndb status`, `manifest capture`), answers --help:
exit 0 and usage text on stdout. The list is walked from the parser itself, so a new command is covered."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from pipeline.cli import build_parser, main
from tests.conftest import run_cli


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _command_lines(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Each subcommand; under it, each choice of a positional (an action word), each word a command parses
    by hand (its module's ACTIONS), and any nested subcommands."""
    for name, sub in _subparsers(parser):
        line = (*prefix, name)
        yield line
        for action in sub._actions:
            if (
                not action.option_strings
                and action.choices
                and not isinstance(action, argparse._SubParsersAction)
            ):
                for choice in action.choices:
                    yield (*line, str(choice))
        for word in getattr(sub._defaults.get("_module"), "ACTIONS", ()):
            yield (*line, word)
        yield from _command_lines(sub, line)


LINES = sorted(set(_command_lines(build_parser())))


def test_the_walk_finds_the_commands_and_their_action_words():
    assert len([line for line in LINES if len(line) == 1]) >= 12
    for expected in [
        ("manifest", "capture"),
        ("manifest", "diff"),
        ("vulndb", "status"),
        ("sandbox", "start"),
    ]:
        assert expected in LINES


@pytest.mark.parametrize("line", LINES, ids=" ".join)
def test_help_exits_0_with_usage(line, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no policy file of the checkout's is read
    with pytest.raises(SystemExit) as exited:
        main([*line, "--help"])
    out, err = capsys.readouterr()
    assert exited.value.code == 0, err
    assert out.startswith(f"usage: mcp-harden {line[0]}"), out[:200]
    assert err == ""


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    for name, _ in _subparsers(build_parser()):
        assert name in out


def test_manifest_capture_help_as_a_user_types_it(tmp_path):
    result = run_cli("manifest", "capture", "--help", cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.out.startswith("usage: mcp-harden manifest") and "--manifest-output" in result.out


def test_help_after_the_double_dash_belongs_to_the_server(tmp_path):
    """`manifest capture -- CMD --help` runs CMD with --help: mcp-harden must not answer it."""
    result = run_cli(
        "manifest", "capture", "-o", str(tmp_path / "m.json"), "--", "/nonexistent-cmd", "--help"
    )
    assert result.code != 0
    assert "usage: mcp-harden" not in result.out


def _shape(parser: argparse.ArgumentParser) -> list[tuple[tuple[str, ...], str, object]]:
    return [(tuple(a.option_strings), a.dest, a.default) for a in parser._actions]


@pytest.mark.parametrize("name", sorted(name for name, _ in _subparsers(build_parser())))
def test_a_subcommand_built_alone_is_the_one_the_full_parser_has(name):
    """`main` builds only the subcommand it was given (start-up): that parser must be the full one's."""
    full = dict(_subparsers(build_parser()))[name]
    alone = dict(_subparsers(build_parser(only=name)))
    assert _shape(alone[name]) == _shape(full)
    assert all(len(sub._actions) == 1 for other, sub in alone.items() if other != name)  # just -h
