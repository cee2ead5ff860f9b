"""The Makefile: ``make run`` installs only what running needs; ``make test`` adds the
extras, also after ``make run`` (separate stamps); ``make demo`` exists.  Read with
``make -n`` (nothing is run) on a scratch environment directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _plan(venv: Path, target: str, *variables: str) -> str:
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), f"VENV={venv}", *variables, target],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MAKEFLAGS": ""},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _fake_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\n")
    return venv


def test_run_installs_only_what_running_needs(tmp_path: Path) -> None:
    plan = _plan(_fake_venv(tmp_path), "run")
    assert "pip install -qq -e ." in plan
    assert "[test" not in plan and "scale" not in plan
    assert "distributor run" in plan


def test_test_adds_the_extras_even_after_run(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path)
    after = max(time.time(), (ROOT / "pyproject.toml").stat().st_mtime) + 1

    def stamp(name: str, at: float) -> None:
        (venv / name).touch()
        os.utime(venv / name, (at, at))

    stamp(".installed-run", after)  # `make run` was done, `make test` never
    plan = _plan(venv, "test")
    assert "-e '.[test,scale]'" in plan
    assert "pip install -qq -e .\n" not in plan  # the run stamp is current
    stamp(".installed", after + 1)  # both current: nothing is installed
    assert "pip install" not in _plan(venv, "test")
    stamp(".installed-run", after + 2)  # the run stamp redone: the extras are redone too
    assert "-e '.[test,scale]'" in _plan(venv, "test")


def test_demo_starts_the_dashboard_on_the_sample(tmp_path: Path) -> None:
    plan = _plan(_fake_venv(tmp_path), "demo")
    assert "[test" not in plan
    assert "DISTRIBUTOR_DATA_DIR=var/demo" in plan
    assert "DISTRIBUTOR_WEB_BASE_URL=http://localhost:8000" in plan
    assert "distributor demo --port 8000" in plan
    other = _plan(_fake_venv(tmp_path / "b"), "demo", "DEMO_PORT=8765")
    assert "DISTRIBUTOR_WEB_BASE_URL=http://localhost:8765" in other
    assert "distributor demo --port 8765" in other
