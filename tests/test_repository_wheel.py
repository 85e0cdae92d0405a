"""A new repository of mappings, with accoil-map installed from its wheel, outside the checkout.

The wheel is built once (from a copy of the sources, so the checkout gets no
build folder) and installed into a fresh venv with `--no-index`; the venv
reaches the test environment's dependencies through a `.pth` file, so no
network is needed. In a new git repository: `accoil-map init amplitude`,
`accoil-map test`, `pytest` (the plugin), `accoil-map golden add`, `test` and
`pytest` again, then `validate` on the committed mapping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOURCES = ("compiler", "schemas", "mappings", "samples", "pyproject.toml", "README.md")


def sh(cwd: Path, *argv, env=None) -> subprocess.CompletedProcess:
    """Run a command; its output is in the failure message when it fails."""
    argv = [str(a) for a in argv]
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A venv with the wheel of this checkout installed; its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        source, target = ROOT / name, work / "src" / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, target)
    build_env = {**os.environ, "PIP_CONSTRAINT": str(ROOT / "requirements" / "build.txt")}
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    sh(work, *pip, "wheel", "-q", "--no-deps", "-w", work / "dist", work / "src", env=build_env)
    (wheel,) = (work / "dist").glob("accoil_map-*.whl")
    sh(work, sys.executable, "-m", "venv", "--without-pip", work / "venv")
    python = work / "venv" / "bin" / "python"
    purelib = sh(work, python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    deps = Path(purelib.stdout.strip()) / "test-environment.pth"
    deps.write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    sh(work, *pip, "--python", python, "install", "-q", "--no-index", "--no-deps",
       "--ignore-installed", wheel)  # fmt: skip
    return work / "venv" / "bin"


def test_a_new_repository_from_the_wheel(venv, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PATH"] = f"{venv}{os.pathsep}{env['PATH']}"
    repo = tmp_path / "analytics"
    repo.mkdir()
    assert not repo.is_relative_to(ROOT)

    def run(*argv) -> list[str]:
        return sh(repo, *argv, env=env).stdout.splitlines()

    where = run(venv / "python", "-c", "import accoil_map.pytest_plugin as p; print(p.__file__)")
    assert where[0].startswith(str(venv.parent))  # the wheel's copy, not the checkout's
    run("git", "init", "-q")
    assert run("accoil-map", "init", "amplitude")[-4:] == [
        "next:",
        "  accoil-map validate mappings/amplitude.yaml",
        "  accoil-map test",
        "  accoil-map golden add amplitude samples/amplitude.ndjson:1",
    ]
    assert run("accoil-map", "test") == ["amplitude: 4 cases: ok"]
    pytest_run = (venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert "4 passed" in run(*pytest_run)[-1]

    assert run("accoil-map", "golden", "add", "amplitude", "samples/amplitude.ndjson:3") == [
        "golden/amplitude/cases/export_downloaded.json: no call",
        "golden/amplitude/expected/export_downloaded.json: its expected result",
    ]
    assert run("accoil-map", "test") == ["amplitude: 5 cases: ok"]
    collected = run(*pytest_run, "--collect-only")
    assert "amplitude::export_downloaded" in collected
    assert "5 passed" in run(*pytest_run)[-1]

    run("git", "add", "-A")
    run("git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "mappings")
    assert run("accoil-map", "validate", "mappings/amplitude.yaml") == [
        "mappings/amplitude.yaml: ok (4 rules)"
    ]

    # A change under review: what it does to the samples, and CI's annotations.
    mapping = repo / "mappings" / "amplitude.yaml"
    text = mapping.read_text(encoding="utf-8")
    renamed = text.replace(
        "    plan_type: {path: user_properties.plan_type}\n",
        "    plan: {path: user_properties.plan_type}\n",
    )
    mapping.write_text(renamed, encoding="utf-8")
    argv = ("diff", "mappings/amplitude.yaml", "--base", "HEAD", "-i", "samples/amplitude.ndjson")
    report = json.loads("\n".join(run("accoil-map", *argv, "--format", "json")))
    assert (report["events"], report["changed"]) == (10, 3)
    assert [key["path"] for key in report["keys"]] == [
        "track.properties.plan",
        "track.properties.plan_type",
    ]
    mapping.write_text(text.replace('userId: "{{ user }}"', 'userId: "{{ usr }}"', 1), "utf-8")
    github = subprocess.run(
        ["accoil-map", "validate", "--format", "github", "mappings/amplitude.yaml"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert github.returncode == 1
    assert github.stdout.startswith(
        "::error file=mappings/amplitude.yaml,line=45,col=19,title=AM202::unknown name 'usr'"
    ), github.stdout
