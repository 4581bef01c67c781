"""release.yml and verify-deploy.yml end to end under act, with stand-ins for the third-party actions and the
sandbox signer (see conftest.py): every job succeeds, every stage reports its verdict into the artifacts the
jobs hand each other, the deploy gate passes the release, and refuses it from another run once a wheel in it
is swapped and an unlisted one added."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.release import STAGES
from pipeline.verify.checker import DIGEST, UNLISTED
from tests.act.conftest import ActWorld

pytestmark = pytest.mark.slow

RELEASE_JOBS = (
    "Build",
    "SBOM, lock, audit, tool manifest, scan",
    "Sign, attest, verify",
    "Report",
    "Code scanning",
)
DEPLOY_JOB = "Verify the release and the deployment"
WHEEL = "weather_notes_mcp-0.2.0-py3-none-any.whl"
OTHER_RUN = "41"  # deploy-other-run.yml's release-run-id


def job_results(log: str) -> dict[str, str]:
    """act's last word on each job, by job name: "[caller/workflow/job name   ] 🏁  Job succeeded"."""
    found = re.findall(r"^\[([^\]]+)\] 🏁  Job (succeeded|failed)", log, re.MULTILINE)
    return {path.split("/")[-1].strip(): verdict for path, verdict in found}


def job_log(log: str, job: str) -> str:
    """The lines act printed for one job."""
    return "\n".join(line for line in log.splitlines() if re.match(rf"^\[[^\]]*/{re.escape(job)}\s*\]", line))


def stage_reports(folder: Path) -> dict[str, dict[str, Any]]:
    """`N-stage.json` reports in a folder, by stage: each one stage's report as `mcp-harden release` wrote it."""
    reports = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        (stage,) = data["stages"]
        assert path.name == f"{STAGES.index(stage['stage']) + 1}-{stage['stage']}.json"
        reports[stage["stage"]] = data
    return reports


@pytest.fixture(scope="module")
def released(act_world: ActWorld) -> str:
    done = act_world.run("release-and-deploy.yml")
    (act_world.base / "release-and-deploy.log").write_text(done.stdout, encoding="utf-8")
    jobs = job_results(done.stdout)
    assert done.returncode == 0, done.stdout[-8000:]
    for job in (*RELEASE_JOBS, "outputs", DEPLOY_JOB):
        assert jobs.get(job) == "succeeded", (job, jobs, done.stdout[-8000:])
    return done.stdout


def test_every_stage_reports_its_verdict_through_the_artifacts(act_world: ActWorld, released: str) -> None:
    run = act_world.artifacts / "1"
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith(".")) == [
        "mcp-harden-build-report",
        "mcp-harden-dist",
        "mcp-harden-evidence",
        "mcp-harden-release",
        "mcp-harden-sarif",
    ]
    # Each job's artifact holds the reports of the stages it ran, and the next job's on top.
    by_artifact = {
        "mcp-harden-build-report": ("build",),
        "mcp-harden-evidence/reports": ("sbom", "audit", "manifest", "scan-tools"),
        "mcp-harden-release/reports": ("sbom", "audit", "manifest", "scan-tools", "sign", "verify"),
    }
    for where, stages in by_artifact.items():
        reports = stage_reports(run / where)
        assert tuple(reports) == stages, where
        for stage, report in reports.items():
            assert report["exit_code"] == 0 and report["stages"][0]["status"] == "passed", (stage, report)
    # upload-artifact's path rules: the folder's contents at the root, the excluded folders left out.
    dist = sorted(p.name for p in (run / "mcp-harden-dist").iterdir())
    assert dist == [WHEEL, "weather_notes_mcp-0.2.0.tar.gz"]
    evidence = {
        p.relative_to(run / "mcp-harden-evidence").parts[0] for p in (run / "mcp-harden-evidence").rglob("*")
    }
    assert {"sbom.cdx.json", "requirements.lock.txt", "mcp-manifest.json", "reports"} <= evidence
    assert not evidence & {"dist", ".work"}
    release = run / "mcp-harden-release"
    assert (release / "release.json").is_file() and (release / "release.json.sigstore.json").is_file()
    assert (release / "dist" / f"{WHEEL}.sigstore.json").is_file() and not (release / ".work").exists()
    # The sign stage signed with the sandbox the caller named, the one whose root the project pins.
    sign = stage_reports(release / "reports")["sign"]["stages"][0]
    assert sign["summary"]["instance"] == "sandbox"
    assert "example/weather-notes-mcp" in sign["summary"]["identity"]
    # The report job merged all seven and said so; upload-sarif got a SARIF document with runs.
    report_log = job_log(released, "Report")
    for stage in STAGES:
        assert re.search(rf"\[PASS \].*\b{re.escape(stage)}\b", report_log), (stage, report_log[-3000:])
    assert "Result: PASSED (exit 0)" in report_log
    (sarif,) = (run / ".code-scanning" / "mcp-harden").glob("*.sarif")
    assert isinstance(json.loads(sarif.read_text(encoding="utf-8"))["runs"], list)


def test_the_release_outputs_reach_the_caller(released: str) -> None:
    outputs = job_log(released, "outputs")
    assert "exit-code=0 dist=mcp-harden-dist evidence=mcp-harden-evidence" in outputs
    assert re.search(rf"[0-9a-f]{{64}}  {re.escape(WHEEL)}", outputs)


def test_the_deploy_gate_passes_the_release(released: str) -> None:
    deploy = job_log(released, DEPLOY_JOB)
    assert re.search(r"\[PASS \].*\bverify\b.*artifacts: 5", deploy), deploy[-3000:]
    assert "Result: PASSED (exit 0)" in deploy and "deployment not verified" not in deploy


def test_the_deploy_gate_refuses_a_tampered_release_from_another_run(
    act_world: ActWorld, released: str
) -> None:
    store = act_world.base / "tampered-artifacts"
    tampered = store / OTHER_RUN / "mcp-harden-release"
    shutil.copytree(act_world.artifacts / "1" / "mcp-harden-release", tampered)
    wheel = tampered / "dist" / WHEEL
    wheel.write_bytes(wheel.read_bytes() + b"\0")  # a swapped wheel: same name, other bytes
    shutil.copyfile(wheel, tampered / "dist" / "extra_server-1.0-py3-none-any.whl")  # unlisted
    done = act_world.run("deploy-other-run.yml", "-s", "GITHUB_TOKEN=act-local", artifacts=store)
    (act_world.base / "deploy-other-run.log").write_text(done.stdout, encoding="utf-8")
    assert done.returncode != 0
    assert job_results(done.stdout) == {DEPLOY_JOB: "failed"}
    deploy = job_log(done.stdout, DEPLOY_JOB)
    assert f"downloaded mcp-harden-release (run {OTHER_RUN})" in deploy
    assert DIGEST.id in deploy and UNLISTED.id in deploy, deploy[-4000:]
    assert "deployment not verified: mcp-harden exited 1" in deploy
