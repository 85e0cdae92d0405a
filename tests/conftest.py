"""Shared fixtures: shipped mappings and their compiled modules."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from accoil_map import check, compile_source
from accoil_map.modules import import_source

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = sorted((ROOT / "mappings").glob("*.yaml"))
SHIPPED = ("amplitude", "segment", "posthog", "rudderstack")


#: A guard against runaway work (exponential backtracking, an unbounded expansion), not a
#: speed measurement: linear work here takes milliseconds to a second, so a limit far
#: above that cannot be tripped by a loaded machine, and a runaway case still fails.
RUNAWAY_SECONDS = 60


@contextlib.contextmanager
def no_runaway():
    """Fail the block if it takes longer than RUNAWAY_SECONDS (see there)."""
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    assert elapsed < RUNAWAY_SECONDS, f"took {elapsed:.0f} s: runaway work"


def venv_tool(name: str) -> str | None:
    """A command-line tool of the test environment: beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if os.access(beside, os.X_OK) else shutil.which(name)


@pytest.fixture(autouse=True, scope="session")
def _private_module_cache(tmp_path_factory):
    """`run` caches compiled mappings: the tests (and the CLIs they start) use their own."""
    patch = pytest.MonkeyPatch()
    patch.setenv("ACCOIL_MAP_CACHE_DIR", str(tmp_path_factory.mktemp("module-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="module")
def deep(request):
    """Skip unless the deep tests were asked for (`-m deep` or ACCOIL_DEEP=1)."""
    markexpr = request.config.getoption("markexpr", "") or ""
    selected = "deep" in markexpr and "not deep" not in markexpr
    if not selected and os.environ.get("ACCOIL_DEEP") != "1":
        pytest.skip("deep run: select with -m deep or set ACCOIL_DEEP=1")


@functools.cache
def compiled(mapping: Path):
    """(source, module, checked) for a mapping file, compiled once per test session."""
    checked = check(mapping)
    source = compile_source(checked)
    return source, import_source(source, checked.mapping.name), checked
