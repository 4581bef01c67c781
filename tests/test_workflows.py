"""The GitHub Actions files can't drift from the code: every `mcp-harden` call in a `run:` block names a real
subcommand with real flags, every input passed exists where it goes, every nox session named exists, and the
pinning and permission rules hold. Read with pyyaml (through pipeline.workflows), checked against the real
argparse parser."""

from __future__ import annotations

import argparse
import ast
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import build_parser
from pipeline.workflows import parse, rules
from pipeline.workflows.yamlmap import YList, YMap
from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / "github-actions").glob("*/action.yml"))
TEMPLATES = [
    *sorted((ROOT / "templates" / "github").glob("*.yml")),
    ROOT / "templates/deploy/github-actions-gate.yml",
]
FILES = [*WORKFLOWS, *ACTIONS, *TEMPLATES]
STAGES = ("setup", "sbom", "audit", "manifest", "sign", "verify", "endpoint", "release")
SELF = "mcp-harden/mcp-harden/"

# `mcp-harden SUBCOMMAND` in command position: a line's start, or after ; && || | $( then do.
CALL_RE = re.compile(r"(?:^|[;&|(]|\bthen|\bdo)\s*mcp-harden\s+([a-z][a-z-]*)", re.MULTILINE)
FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
ARGS_LINE_RE = re.compile(r"\bargs\+?=\(")
EXPR_INPUT_RE = re.compile(r"\$\{\{[^}]*?\binputs\.([A-Za-z0-9_-]+)")
NOX_RE = re.compile(r"\bnox\s+(?:[^\n;&|]*\s)?-s\s+([\w-]+)")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@cache
def _doc(path: Path) -> rules.Document:
    parsed = parse(path)
    assert isinstance(parsed, rules.Document), f"{_rel(path)}: {parsed.title}"
    return parsed


@cache
def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the CLI has no subcommands")


def _runs() -> list[tuple[Path, str, str]]:
    """(file, where, script) for every run: block."""
    out = []
    for path in FILES:
        for step in rules.iter_steps(_doc(path)):
            if isinstance(step.step.get("run"), str):
                out.append((path, rules._where(step), step.step["run"]))
    return out


def _calls() -> list[tuple[str, str, set[str]]]:
    """(file and step, subcommand, long flags) for every mcp-harden call. Convention: one subcommand per run
    block; its flags are on the call's line (before a lone `--`) and on the `args=(...)`/`args+=(...)` lines."""
    calls = []
    for path, where, script in _runs():
        text = script.replace("\\\n", " ")
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        commands = [c for c in CALL_RE.findall(text)]
        if not commands:
            continue
        assert len(set(commands)) == 1, f"{_rel(path)} {where}: one mcp-harden subcommand per run block"
        flags: set[str] = set()
        for line in text.splitlines():
            if CALL_RE.search(line):
                flags |= set(FLAG_RE.findall(line.split(" -- ", 1)[0]))
            elif ARGS_LINE_RE.search(line):
                flags |= set(FLAG_RE.findall(line))
        calls.append((f"{_rel(path)} {where}", commands[0], flags))
    return calls


CALLS = _calls()


def test_there_are_calls_to_check() -> None:
    used = {command for _, command, _ in CALLS}
    assert {"sbom", "audit", "manifest", "sign", "verify", "report", "check-endpoint", "scan-tools"} <= used


@pytest.mark.parametrize("command", sorted({c for _, c, _ in CALLS}))
def test_calls_name_real_subcommands_with_real_flags(command: str) -> None:
    subcommands = _subcommands()
    if command not in subcommands:
        where = sorted({w for w, c, _ in CALLS if c == command})
        pytest.fail(f"`mcp-harden {command}` does not exist; called in {where}")
    known = set(subcommands[command]._option_string_actions)
    bad = sorted(f"{where}: {flag}" for where, c, flags in CALLS if c == command for flag in flags - known)
    assert not bad, f"flags `mcp-harden {command}` does not have: {bad}"


def _action_inputs(stage: str) -> YMap:
    path = ROOT / "github-actions" / stage / "action.yml"
    assert path.is_file(), f"no action github-actions/{stage}"
    inputs = _doc(path).data.get("inputs") or YMap()
    assert isinstance(inputs, YMap)
    return inputs


def _workflow_call(name: str) -> YMap:
    path = ROOT / ".github" / "workflows" / name
    assert path.is_file(), f"no workflow .github/workflows/{name}"
    on = _doc(path).data["on"]
    call = on.get("workflow_call") if isinstance(on, YMap) else None
    assert isinstance(call, YMap), f"{name} is not a reusable workflow (on: workflow_call)"
    return call


def _required(inputs: YMap) -> set[str]:
    return {k for k, v in inputs.items() if isinstance(v, YMap) and v.get("required") and "default" not in v}


def _target(uses: str) -> tuple[str, str] | None:
    """("action", stage) or ("workflow", file) for a reference to this repository, else None."""
    ref = uses.split("@", 1)[0]
    for prefix in ("./", SELF):
        if ref.startswith(prefix):
            rest = ref[len(prefix) :]
            if rest.startswith("github-actions/"):
                return "action", rest.split("/")[1]
            if rest.startswith(".github/workflows/"):
                return "workflow", rest.rsplit("/", 1)[1]
    return None


def test_inputs_passed_to_our_actions_exist() -> None:
    checked = 0
    for path in FILES:
        for step in rules.iter_steps(_doc(path)):
            target = _target(str(step.step.get("uses", "")))
            if not target:
                continue
            assert target[0] == "action"
            inputs = _action_inputs(target[1])
            given = step.step.get("with") or YMap()
            where = f"{_rel(path)} {rules._where(step)}"
            assert not set(given) - set(inputs), f"{where}: unknown inputs {set(given) - set(inputs)}"
            assert _required(inputs) <= set(given), f"{where}: missing {_required(inputs) - set(given)}"
            checked += 1
    assert checked >= 8


def test_inputs_and_secrets_passed_to_our_workflows_exist() -> None:
    checked = 0
    for path in FILES:
        doc = _doc(path)
        for name, job in (doc.data.get("jobs") or {}).items():
            target = _target(str(job.get("uses", "")))
            if not target:
                continue
            call = _workflow_call(target[1])
            inputs = call.get("inputs") or YMap()
            secrets = call.get("secrets") or YMap()
            given = job.get("with") or YMap()
            where = f"{_rel(path)} job {name}"
            assert not set(given) - set(inputs), f"{where}: unknown inputs {set(given) - set(inputs)}"
            assert _required(inputs) <= set(given), f"{where}: missing {_required(inputs) - set(given)}"
            assert job.get("secrets") != "inherit", where
            passed = job.get("secrets") or YMap()
            assert not set(passed) - set(secrets), f"{where}: undeclared secrets {set(passed) - set(secrets)}"
            outputs = set(call.get("outputs") or ())
            for other in (doc.data.get("jobs") or {}).values():
                for used in re.findall(rf"needs\.{re.escape(name)}\.outputs\.([\w-]+)", _dump(other)):
                    assert used in outputs, f"{_rel(path)}: {target[1]} has no output {used}"
            checked += 1
    assert checked >= 3


def _dump(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {_dump(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(_dump(v) for v in value)
    return str(value)


def test_expressions_name_declared_inputs() -> None:
    for path in [*WORKFLOWS, *ACTIONS]:
        doc = _doc(path)
        if doc.kind == "action":
            declared = set(doc.data.get("inputs") or ())
        else:
            on = doc.data["on"]
            call = on.get("workflow_call") if isinstance(on, YMap) else None
            dispatch = on.get("workflow_dispatch") if isinstance(on, YMap) else None
            declared = set((call or {}).get("inputs") or ()) | set((dispatch or {}).get("inputs") or ())
        used = set(EXPR_INPUT_RE.findall(path.read_text()))
        assert used <= declared, f"{_rel(path)}: undeclared inputs {used - declared}"


def test_action_outputs_come_from_real_steps() -> None:
    for path in ACTIONS:
        doc = _doc(path)
        ids = {s.step.get("id") for s in rules.iter_steps(doc)}
        for name, output in (doc.data.get("outputs") or {}).items():
            for step_id in re.findall(r"steps\.([\w-]+)\.outputs", str(output.get("value", ""))):
                assert step_id in ids, f"{_rel(path)} output {name}: no step {step_id}"


def _nox_sessions() -> set[str]:
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if ast.unparse(target) == "nox.session":
                    names.add(node.name)
    return names


def test_nox_sessions_named_exist() -> None:
    sessions = _nox_sessions()
    named = {(str(path), s) for path, _, script in _runs() for s in NOX_RE.findall(script)}
    assert named, "the CI workflow runs nox sessions"
    missing = sorted(f"{_rel(Path(p))}: nox -s {s}" for p, s in named if s not in sessions)
    assert not missing, f"nox sessions that do not exist: {missing}"
    for path, _, script in _runs():
        for script_path in re.findall(r"\bbash\s+(\.ci/[\w.-]+)", script):
            assert (ROOT / script_path).is_file(), f"{_rel(path)}: {script_path} does not exist"


def test_every_stage_has_an_action() -> None:
    assert sorted(p.parent.name for p in ACTIONS) == sorted(STAGES)
    for path in ACTIONS:
        doc = _doc(path)
        assert doc.data["runs"]["using"] == "composite", _rel(path)
        assert doc.data.get("name") and doc.data.get("description"), _rel(path)


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_pinning_and_permission_rules_hold(path: Path) -> None:
    """mcp-harden's own rules find nothing (the templates: only their placeholder pins, left for the user)."""
    findings = rules.check(_doc(path))
    allowed = {"MH-WF-PLACEHOLDER"} if path in TEMPLATES else set()
    bad = [f"{f.rule_id} {f.location}: {f.title}" for f in findings if f.rule_id not in allowed]
    assert not bad, bad


@pytest.mark.parametrize("path", [*WORKFLOWS, *TEMPLATES], ids=_rel)
def test_workflow_shape(path: Path) -> None:
    """`permissions: {}` on top, explicit permissions on every job, each scope explained, a concurrency group."""
    doc = _doc(path)
    assert doc.data["permissions"] == {}, _rel(path)
    assert isinstance(doc.data.get("concurrency"), YMap), _rel(path)
    for name, job in doc.data["jobs"].items():
        assert "permissions" in job, f"{_rel(path)} job {name}: no permissions block"
        perms = job["permissions"]
        if isinstance(perms, YMap):
            for scope in perms:
                line = doc.lines[perms.lines[scope] - 1]
                assert "#" in line, f"{_rel(path)} job {name}: say why it needs {scope}"


def test_release_workflow_separates_build_and_sign() -> None:
    doc = _doc(ROOT / ".github" / "workflows" / "release.yml")
    jobs = doc.data["jobs"]
    oidc = [n for n, j in jobs.items() if (j.get("permissions") or {}).get("id-token") == "write"]
    assert oidc == ["sign"]
    sarif = [n for n, j in jobs.items() if (j.get("permissions") or {}).get("security-events") == "write"]
    assert sarif == ["code-scanning"]
    sign_steps = jobs["sign"]["steps"]
    assert any("sha256sum --strict --check" in str(s.get("run", "")) for s in sign_steps)
    assert not any(
        "build" in str(s.get("run", "")) for s in sign_steps if "pip install" not in str(s.get("run"))
    )
    inputs = set(_workflow_call("release.yml")["inputs"])
    assert {
        "python-version",
        "package-dir",
        "policy",
        "server-command",
        "sign",
        "sigstore-instance",
    } <= inputs
    outputs = set(_workflow_call("release.yml")["outputs"])
    assert {"digests", "release-record", "bundles-artifact", "dist-artifact"} <= outputs


def test_same_action_same_pin_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for path in FILES:
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s*#\s*(v[\d.]+)", line)
            if match and not match.group(1).startswith(SELF):
                pins.setdefault(match.group(1), set()).add(f"{match.group(2)} {match.group(3)}")
    assert pins
    assert all(len(v) == 1 for v in pins.values()), pins


def test_no_secrets_inherit_and_no_expressions_in_run() -> None:
    for path, where, script in _runs():
        assert "${{" not in script, f"{_rel(path)} {where}"
    for path in FILES:
        assert "secrets: inherit" not in path.read_text(), _rel(path)


def test_starter_policy_template_is_init_output() -> None:
    from pipeline.config import STARTER

    assert (ROOT / "templates" / "mcp-harden.yaml").read_text(encoding="utf-8") == STARTER


def test_steps_are_lists() -> None:
    for path in FILES:
        for step in rules.iter_steps(_doc(path)):
            assert isinstance(step.steps, YList)


# --- The composite actions' scripts, run as the runner runs them (bash -eo pipefail, inputs through env) ---

INPUT_EXPR_RE = re.compile(r"^\$\{\{\s*inputs\.([\w-]+)\s*\}\}$")
COND_RE = re.compile(r"inputs\.([\w-]+)\s*==\s*'([^']*)'")


def _run_action(stage: str, given: dict[str, str], env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Run github-actions/<stage>'s steps locally; returns each step's GITHUB_OUTPUT as {step_id.key: value}."""
    import os
    import subprocess

    doc = _doc(ROOT / "github-actions" / stage / "action.yml")
    inputs = {k: str(v.get("default", "")) for k, v in doc.data["inputs"].items()} | given
    outputs: dict[str, str] = {}
    for step in rules.iter_steps(doc):
        condition = step.step.get("if")
        if condition and not all(inputs.get(k) == v for k, v in COND_RE.findall(str(condition))):
            continue
        step_env = {}
        for key, value in (step.step.get("env") or {}).items():
            match = INPUT_EXPR_RE.match(str(value))
            assert match, f"{stage}: env {key} is not a plain input"
            step_env[key] = inputs[match.group(1)]
        output_file = cwd / f"output-{step.index}"
        output_file.write_text("")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.step["run"]],
            cwd=cwd,
            env={**os.environ, **env, **step_env, "GITHUB_OUTPUT": str(output_file)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        for line in output_file.read_text().splitlines():
            key, _, value = line.partition("=")
            outputs[f"{step.step.get('id')}.{key}"] = value
        outputs[f"{step.step.get('id')}.returncode"] = str(proc.returncode)
        outputs[f"{step.step.get('id')}.log"] = proc.stdout + proc.stderr
    return outputs


@pytest.mark.slow
def test_composite_actions_run_on_the_example_server(tmp_path: Path, wheelhouse: Path) -> None:
    """sbom → manifest + scan → sign (sandbox) → verify, through the actions' own scripts and the real CLI."""
    import json
    import os
    import shutil
    import sys

    from tests.test_sbom import _offline_env, _wheel

    wheel = _wheel(wheelhouse)
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy(wheel, dist)
    summary = tmp_path / "summary.md"
    env = {
        **_offline_env(wheelhouse),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": f"{ROOT}:{dist / wheel.name}",  # the server runs from the wheel, as in nox
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_REPOSITORY": "local/example-notes-mcp",
    }
    policy = str(ROOT / "templates" / "example-server" / "mcp-harden.yaml")
    out = tmp_path / "out"
    sbom = _run_action(
        "sbom",
        {
            "target": str(dist / wheel.name),
            "dist": str(dist),
            "output": f"{out}/sbom.cdx.json",
            "policy": policy,
            "report": f"{out}/reports/1-sbom.json",
        },
        env,
        tmp_path,
    )
    assert sbom["run.exit-code"] == "0", sbom["run.log"]
    manifest = _run_action(
        "manifest",
        {
            "record": f"{out}/mcp-manifest.json",
            "server-command": "python -m example_server",
            "policy": policy,
            "report": f"{out}/reports/3-manifest.json",
            "scan-report": f"{out}/reports/4-scan-tools.json",
        },
        env,
        tmp_path,
    )
    assert manifest["run.exit-code"] == "0", manifest["run.log"]
    assert manifest["scan.exit-code"] == "0", manifest["scan.log"]
    sign = _run_action(
        "sign",
        {
            "files": f"{dist}/*",
            "instance": "sandbox",
            "sandbox-dir": str(tmp_path / "sandbox"),
            "sbom": f"{out}/sbom.cdx.json",
            "manifest": f"{out}/mcp-manifest.json",
            "record": f"{out}/release.json",
            "policy": policy,
            "report": f"{out}/reports/5-sign.json",
        },
        env,
        tmp_path,
    )
    assert sign["run.exit-code"] == "0", sign["run.log"]
    verify = _run_action(
        "verify",
        {
            "artifacts": f"{out}/release.json",
            "instance": "sandbox",
            "sandbox-dir": str(tmp_path / "sandbox"),
            "repository": "local/example-notes-mcp",
            "require-attestations": "slsa-provenance sbom tool-manifest",
            "policy": policy,
            "report": f"{out}/reports/6-verify.json",
        },
        env,
        tmp_path,
    )
    assert verify["run.exit-code"] == "0", verify["run.log"]
    failing = _run_action(
        "verify",
        {
            "artifacts": f"{out}/release.json",
            "instance": "sandbox",
            "sandbox-dir": str(tmp_path / "sandbox"),
            "repository": "someone/else",
            "policy": policy,
        },
        env,
        tmp_path,
    )
    assert failing["run.exit-code"] == "1" and failing["run.returncode"] == "1", failing["run.log"]
    stages = {json.loads(p.read_text())["stages"][0]["stage"] for p in (out / "reports").glob("*.json")}
    assert stages == {"sbom", "manifest", "scan-tools", "sign", "verify"}
    assert summary.read_text().count("mcp-harden") >= 5  # every stage appended its Markdown result


LOCK = ROOT / "github-actions" / "setup" / "requirements.txt"
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def test_lock_pins_every_dependency_with_hashes() -> None:
    """What the workflows install is locked: every dependency of mcp-harden and every build tool, by
    version and hash (`nox -s lock` rewrites it)."""
    import tomllib
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name as _canonical

    text = LOCK.read_text(encoding="utf-8")
    pinned = {_canonical(name) for name, _ in PIN_RE.findall(text)}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[1] if "\n\n" in text else text)
    for block in blocks:
        if PIN_RE.match(block):
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r).name for r in project["dependencies"]]
    tools = (ROOT / "github-actions" / "setup" / "build-tools.in").read_text(encoding="utf-8")
    wanted += [Requirement(line).name for line in tools.splitlines() if line and not line.startswith("#")]
    missing = [name for name in wanted if _canonical(name) not in pinned]
    assert not missing, f"not in {_rel(LOCK)} (run `nox -s lock`): {missing}"


def test_mcp_harden_installs_only_from_the_lock() -> None:
    """Every install of mcp-harden in a workflow or action first installs the hash-locked dependencies (exactly
    the lock's lines, --no-deps), then mcp-harden itself with --no-deps --no-build-isolation: nothing unpinned runs beside an OIDC token.
    Neither compiles every installed file (--no-compile): a job compiles what it imports."""
    installs = 0
    for path, where, script in _runs():
        text = script.replace("\\\n", " ")
        for line in text.splitlines():
            if "pip install" in line and (".mcp-harden-src" in line or "$source_dir" in line):
                assert "--no-compile" in line, f"{_rel(path)} {where}: {line}"
                if "--require-hashes" in line:
                    assert "github-actions/setup/requirements.txt" in line, f"{_rel(path)} {where}: {line}"
                    # The lock is complete (CI resolves it without --no-deps): nothing it omits is installed.
                    assert "--no-deps" in line, f"{_rel(path)} {where}: the lock's install resolves anew"
                    continue
                installs += 1
                assert "--no-deps" in line and "--no-build-isolation" in line, f"{_rel(path)} {where}: {line}"
                assert "--require-hashes" in text, f"{_rel(path)} {where}: no hash-locked install first"
    assert installs >= 4  # the setup action, three release jobs, the deploy verification
