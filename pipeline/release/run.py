"""`mcp-harden release`: build → SBOM (and the install lock) → audit → tool manifest → poisoning scan → sign
and attest → verify, each stage by its own core, into one release folder and one report.

A stage that cannot run (an error of any kind) is reported as "could not check" and the others still run;
a stage whose input an earlier stage did not produce says so. Each stage also writes its own JSON report in
`reports/`, so a workflow that runs the stages in separate jobs merges them with `mcp-harden report`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Policy
from pipeline.errors import HardenError, one_line
from pipeline.findings import Report, StageResult
from pipeline.release.progress import Progress

STAGES = ("build", "sbom", "audit", "manifest", "scan-tools", "sign", "verify")
SANDBOX_NOTE = (
    "no OIDC identity here: signed by the local SANDBOX instance (tests only; it proves nothing elsewhere)"
)


@dataclass
class ReleaseOptions:
    project: Path
    out: Path
    stages: tuple[str, ...] = STAGES
    offline_db: Path | None = None
    osv_url: str | None = None
    instance: str = "auto"
    sandbox_dir: Path | None = None
    repository: str | None = None
    wheelhouse: bool = False
    fresh: bool = False  # ignore what an earlier run left to reuse (build, resolution, server venv)
    mcpb: tuple[Path, ...] = ()  # MCP bundles to sign with the release (copied into dist/)
    server_json: Path | None = None  # the MCP Registry entry to check (default: the project's server.json)
    write_server_json: bool = False  # write RELEASE/server.json with the built files' digests, and sign it
    endpoints: tuple[str, ...] = ()  # what remotes[].url must be (default: the policy's endpoint.urls)
    timeout: float = 900.0
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))


class Layout:
    """Where each product lives in the release folder (paths in the record are relative to it)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.dist = out / "dist"
        self.sbom = out / "sbom.cdx.json"
        self.vex = out / "sbom.vex.cdx.json"
        self.lock = out / "requirements.lock.txt"
        self.wheelhouse = out / "wheelhouse"
        self.manifest = out / "mcp-manifest.json"
        self.record = out / "release.json"
        self.reports = out / "reports"
        self.work = out / ".work"  # caches: the build stamp, the server's venv; never signed or shipped

    def wheel(self) -> Path:
        wheels = sorted(self.dist.glob("*.whl"))
        if len(wheels) != 1:
            raise _Missing(f"{self.dist} holds {len(wheels)} wheels, not one: run the build stage first")
        return wheels[0]


class _Missing(HardenError):
    """An input an earlier stage should have produced is not there."""


def resolve_instance(choice: str, policy: Policy, env: dict[str, str]) -> str:
    """`auto`: MCP_HARDEN_SIGN_INSTANCE when set; else, with an OIDC identity at hand (GitHub Actions
    `id-token: write`, or SIGSTORE_ID_TOKEN), the policy's instance (production by default); else the local
    sandbox, which says loudly what it is."""
    if choice != "auto":
        return choice
    if env.get("MCP_HARDEN_SIGN_INSTANCE"):
        return env["MCP_HARDEN_SIGN_INSTANCE"]
    has_oidc = env.get("ACTIONS_ID_TOKEN_REQUEST_URL") or env.get("SIGSTORE_ID_TOKEN")
    return policy.sign.instance if has_oidc else "sandbox"


def run_release(options: ReleaseOptions, policy: Policy, progress: Progress | None = None) -> Report:
    layout = Layout(options.out)
    progress = progress or Progress(len(options.stages))
    layout.reports.mkdir(parents=True, exist_ok=True)
    checked: dict[str, str] = {}  # .mcpb name -> sha256 as the server-json check read it
    steps: dict[str, Callable[[], StageResult]] = {
        "build": lambda: _build(options, layout),
        "sbom": lambda: _sbom(options, layout, policy, progress),
        "audit": lambda: _audit(options, layout, policy, progress),
        "manifest": lambda: _manifest(options, layout, policy, progress),
        "scan-tools": lambda: _scan(layout, policy),
        "sign": lambda: _sign(options, layout, policy, progress, checked),
        "verify": lambda: _verify(options, layout, policy),
    }
    results: list[StageResult] = []
    for name in STAGES:
        if name not in options.stages:
            continue
        progress.begin(name)
        if name == "sign":
            registry = _registry(options, layout, policy, progress, checked)
            if registry is not None:
                _write_stage_report(layout, "sign", registry, policy, label=registry.stage)
                results.append(registry)
        stage = _guarded(name, steps[name])
        progress.end(stage.status(policy.fail_on).value)
        _write_stage_report(layout, name, stage, policy)
        results.append(stage)
    return Report(stages=results, threshold=policy.fail_on)


def _guarded(name: str, step: Callable[[], StageResult]) -> StageResult:
    """Any error is this stage's "could not check" (exit 3), never the end of the run."""
    try:
        return step()
    except HardenError as exc:
        return StageResult(stage=name, error=str(exc))
    except Exception as exc:
        if os.environ.get("MCP_HARDEN_DEBUG"):
            raise
        return StageResult(stage=name, error=f"internal error: {one_line(exc)}")


def _write_stage_report(
    layout: Layout, name: str, stage: StageResult, policy: Policy, *, label: str | None = None
) -> None:
    """`reports/N-NAME.json`; a check run inside stage N (the server.json one, in sign) is `N-LABEL.json`."""
    from pipeline import __version__
    from pipeline.fileio import write_atomic
    from pipeline.formats import render

    report = Report(stages=[stage], threshold=policy.fail_on, tool_version=__version__)
    write_atomic(layout.reports / f"{STAGES.index(name) + 1}-{label or name}.json", render(report, "json"))


def _discard(*paths: Path) -> None:
    """A stage's previous products go before it runs, with their bundles and attestations: a failed stage must
    not leave an old file to be signed, nor an old file's provenance beside a new one."""
    from pipeline.sign.attest import provenance_outputs

    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        for extra in [path.with_name(path.name + ".sigstore.json"), *provenance_outputs(path).values()]:
            extra.unlink(missing_ok=True)


def _build(options: ReleaseOptions, layout: Layout) -> StageResult:
    from pipeline.release.build import run_build

    return run_build(options.project, layout.out, layout.work, timeout=options.timeout, fresh=options.fresh)


def _sbom(options: ReleaseOptions, layout: Layout, policy: Policy, progress: Progress) -> StageResult:
    from pipeline.release.lock import pins_from_sbom, render_lock
    from pipeline.sbom import run_sbom

    _discard(layout.sbom, layout.lock, layout.wheelhouse)
    wheel = layout.wheel()
    stage = run_sbom(
        policy=policy,
        output=layout.sbom,
        project_dir=wheel,
        dist=layout.dist,
        timeout=options.timeout,
        progress=progress,
    )
    if stage.error is not None or not layout.sbom.is_file():
        return stage
    from pipeline.fileio import write_atomic

    pins = pins_from_sbom(layout.sbom, root_wheel=wheel)
    write_atomic(layout.lock, render_lock(pins, source=layout.sbom.name))
    stage.outputs.append(str(layout.lock))
    stage.summary["lock"] = f"{layout.lock.name} ({len(pins)} packages, sha256 each)"
    if options.wheelhouse:
        progress.step(f"downloading the {len(pins) - 1} locked dependencies into the wheelhouse")
        _fill_wheelhouse(options, layout, wheel)
        stage.outputs.append(str(layout.wheelhouse))
        stage.summary["wheelhouse"] = f"{layout.wheelhouse.name}/ ({len(pins)} wheels)"
    return stage


RESOLUTION_TTL = 3600  # seconds a resolution of the same wheel under the same pip settings is reused


def _pip_settings(env: dict[str, str]) -> str:
    """Everything that steers what pip resolves to, besides the wheel: its environment variables, its
    configuration files, the interpreter."""
    import sys

    files = [Path("/etc/pip.conf"), Path("/etc/xdg/pip/pip.conf"), Path(sys.prefix) / "pip.conf"]
    home = Path(env.get("HOME", "~")).expanduser()
    files += [home / ".config/pip/pip.conf", home / ".pip/pip.conf"]
    if env.get("PIP_CONFIG_FILE"):
        files.append(Path(env["PIP_CONFIG_FILE"]))
    parts = [sys.version, sys.executable, *sorted(f"{k}={v}" for k, v in env.items() if k.startswith("PIP_"))]
    for path in files:
        if path.is_file():
            parts.append(f"{path}:{path.read_bytes()[: 1 << 20].hex()}")
    return "\n".join(parts)


def _resolution(
    options: ReleaseOptions, layout: Layout, wheel: Path, progress: Progress
) -> tuple[Path, str | None]:
    """pip's report for the built wheel: resolved now, or reused from a run less than an hour ago on the same
    wheel (by sha256) with the same pip settings. Returns the report file and, when reused, a note saying so."""
    import hashlib
    import json
    import time

    from pipeline.fileio import sha256_file, write_atomic
    from pipeline.sbom.resolve import run_pip_report

    key = hashlib.sha256(f"{sha256_file(wheel)}\n{_pip_settings(options.env)}".encode()).hexdigest()
    path = layout.work / f"resolution-{key[:16]}.json"
    if not options.fresh and path.is_file():
        age = time.time() - path.stat().st_mtime
        if 0 <= age < RESOLUTION_TTL:
            return path, (
                f"the resolution of {wheel.name} was reused from {age / 60:.0f} min ago (same wheel, same pip "
                "settings); --fresh resolves again"
            )
    for old in layout.work.glob("resolution-*.json"):
        old.unlink()
    progress.step(f"resolving {wheel.name} with pip")
    report = run_pip_report([str(wheel)], timeout=options.timeout)
    layout.work.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(report))
    return path, None


def _fill_wheelhouse(options: ReleaseOptions, layout: Layout, wheel: Path) -> None:
    """Every locked archive as a file, fetched by pip with the lock's hashes (no resolution, no build)."""
    import subprocess
    import sys

    from pipeline.errors import CheckError
    from pipeline.release.lock import install_requirements, parse_lock

    layout.wheelhouse.mkdir(parents=True)
    layout.work.mkdir(parents=True, exist_ok=True)
    dependencies = (
        layout.work / "dependencies.txt"
    )  # the lock less the project: its wheel is copied from dist
    dependencies.write_text(
        install_requirements(parse_lock(layout.lock), wheel, with_root=False), encoding="utf-8"
    )
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--require-hashes",
        "--only-binary",
        ":all:",
        "-d",
        str(layout.wheelhouse),
        "-r",
        str(dependencies),
    ]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=options.timeout, check=False)
    except subprocess.TimeoutExpired:
        raise CheckError("pip download of the locked set timed out", where=str(layout.wheelhouse)) from None
    if proc.returncode != 0:
        lines = [x.strip() for x in (proc.stderr + proc.stdout).splitlines() if x.strip()]
        raise CheckError(f"cannot fill the wheelhouse: {lines[-1] if lines else 'pip failed'}")
    shutil.copy2(wheel, layout.wheelhouse / wheel.name)


def _audit(options: ReleaseOptions, layout: Layout, policy: Policy, progress: Progress) -> StageResult:
    from pipeline.audit import run_audit

    _discard(layout.vex)
    if not layout.sbom.is_file():
        raise _Missing(f"no SBOM at {layout.sbom}: the sbom stage did not produce one")
    progress.step("loading the vulnerability database" if options.offline_db else "querying OSV")
    return run_audit(
        policy=policy,
        sbom=layout.sbom,
        offline_db=options.offline_db,
        osv_url=options.osv_url,
        vex_output=layout.vex,
    )


def _manifest(options: ReleaseOptions, layout: Layout, policy: Policy, progress: Progress) -> StageResult:
    from pipeline.manifest import StdioTarget, run_capture
    from pipeline.release import serverenv
    from pipeline.release.lock import parse_lock

    _discard(layout.manifest)
    wheel = layout.wheel()
    if not layout.lock.is_file():
        raise _Missing(f"no lock at {layout.lock}: the sbom stage did not produce one")
    pins = parse_lock(layout.lock)
    progress.step("installing the locked set into the server's own environment")
    wheelhouse = layout.wheelhouse if layout.wheelhouse.is_dir() else None
    venv, reused = serverenv.prepare(
        layout.lock,
        pins,
        root_wheel=wheel,
        wheelhouse=wheelhouse,
        work=layout.work,
        timeout=options.timeout,
        fresh=options.fresh,
    )
    command = serverenv.server_command(list(policy.manifest.command), wheel, venv, policy.source)
    run_dir = (
        layout.work / "run"
    )  # an empty working folder: the server imports from its venv, not the sources
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.pathsep.join([str(serverenv.bin_dir(venv)), os.environ.get("PATH", "")]),
        "VIRTUAL_ENV": str(venv),
        "PYTHONPATH": "",
        "PYTHONNOUSERSITE": "1",
        "PYTHONSAFEPATH": "1",
    }
    target = StdioTarget(command[0], command[1:], env=env, cwd=str(run_dir))
    progress.step(f"capturing the tools of: {target.describe()}")
    stage = run_capture({target.describe(): target}, output=layout.manifest, timeout=policy.manifest.timeout)
    stage.summary["environment"] = (
        f"{len(pins)} locked packages ({'reused' if reused else 'installed'}"
        f"{' from the wheelhouse' if wheelhouse else ''})"
    )
    return stage


def _scan(layout: Layout, policy: Policy) -> StageResult:
    from pipeline.scan import scan_file

    if not layout.manifest.is_file():
        raise _Missing(f"no tool manifest at {layout.manifest}: the manifest stage did not produce one")
    return scan_file(layout.manifest, suppress=list(policy.scan.suppress))


def default_repository(options: ReleaseOptions, layout: Layout) -> str:
    """The repository identity signatures are made and checked for: --repository, else GitHub's, else
    `local/<distribution name>` (what the sandbox pretends to be)."""
    if options.repository:
        return options.repository
    if options.env.get("GITHUB_REPOSITORY"):
        return options.env["GITHUB_REPOSITORY"]
    try:
        name = layout.wheel().name.split("-")[0].replace("_", "-")
    except _Missing:
        name = options.project.resolve().name
    return f"local/{name}"


def _registry(
    options: ReleaseOptions, layout: Layout, policy: Policy, progress: Progress, checked: dict[str, str]
) -> StageResult | None:
    """The .mcpb bundles and the server.json entry, checked before they are signed (None: the release has
    neither)."""
    from pipeline.release import registry

    if not registry.applies(options, layout):
        return None
    progress.step("checking the MCP bundles and server.json")

    def step() -> StageResult:
        stage, digests = registry.run_registry(options, layout, policy)
        checked.update(digests)
        return stage

    return _guarded(registry.STAGE, step)


def _sign(
    options: ReleaseOptions,
    layout: Layout,
    policy: Policy,
    progress: Progress,
    checked: dict[str, str] | None = None,
) -> StageResult:
    from pipeline.release.registry import SERVER_JSON, bundles, confirm_signed
    from pipeline.sign import sign_files

    _discard(layout.record)
    instance = resolve_instance(options.instance, policy, options.env)
    wheels, sdists = sorted(layout.dist.glob("*.whl")), sorted(layout.dist.glob("*.tar.gz"))
    if not wheels:
        raise _Missing(f"nothing to sign in {layout.dist}: run the build stage first")
    files = [*wheels, *sdists, *bundles(layout)]
    if (layout.out / SERVER_JSON).is_file() and options.write_server_json:
        files.append(layout.out / SERVER_JSON)
    gaps = []
    for path in (layout.lock, layout.sbom, layout.manifest):
        if path.is_file():
            files.append(path)
        else:
            gaps.append(path.name)
    env = options.env
    if (
        instance == "sandbox"
    ):  # the repository the sandbox's certificate claims; a real one comes from the token
        env = {**env, "GITHUB_REPOSITORY": default_repository(options, layout)}
    progress.step(f"signing {len(files)} files and their attestations ({instance})")
    stage = sign_files(
        files,
        instance=instance,
        sandbox_dir=_sandbox_dir(options, policy),
        sbom=layout.sbom if layout.sbom.is_file() else None,
        manifest=layout.manifest if layout.manifest.is_file() else None,
        provenance=True,
        record=layout.record,
        env=env,
    )
    if gaps:  # signed what exists; what an earlier stage did not produce is a gap the report must show
        stage.error = f"not signed, an earlier stage did not produce it: {', '.join(gaps)}"
    changed = confirm_signed(checked or {}, layout)
    if changed:
        stage.error = "; ".join([*([stage.error] if stage.error else []), *changed])
    if instance == "sandbox" and options.instance == "auto":
        stage.notes.append(SANDBOX_NOTE)
    return stage


def _sandbox_dir(options: ReleaseOptions, policy: Policy) -> Path:
    return options.sandbox_dir or policy.resolve_path(policy.sign.sandbox_dir)


def _verify(options: ReleaseOptions, layout: Layout, policy: Policy) -> StageResult:
    """The deploy-time gate on the record just written, through the verify command's own signer rules."""
    from pipeline.cli import build_parser

    if not layout.record.is_file():
        raise _Missing(f"no release record at {layout.record}: the sign stage did not produce one")
    instance = resolve_instance(options.instance, policy, options.env)
    argv = [
        "verify",
        "--record",
        str(layout.record),
        "--repository",
        default_repository(options, layout),
        "--instance",
        instance,
        "--sandbox-dir",
        str(_sandbox_dir(options, policy)),
    ]
    args = build_parser(only="verify").parse_args(argv)
    report = args._module.run(args, policy)
    stage: StageResult = report.stages[0]
    return stage
