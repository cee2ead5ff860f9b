"""Every README shell block marked ``<!-- example -->`` runs as written.

The blocks run in README order, each with ``bash -e`` (a failing line fails the test),
in one scratch directory laid out like a fresh clone after ``make run``: ``config/`` and
``.venv`` are the repository's (linked), the data directory is new and empty, and the
clock is pinned (``DISTRIBUTOR_TEST_NOW``) so that the run does not depend on the day.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, pinned_now

README = ROOT / "README.md"
EXAMPLE = re.compile(r"<!-- example -->\n```(?:sh|bash|console)\n(.*?)```", re.DOTALL)


def examples(text: str) -> list[str]:
    """The shell blocks marked as examples, in order."""
    return EXAMPLE.findall(text)


def test_the_readme_marks_its_examples() -> None:
    blocks = examples(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    first = blocks[0]
    assert "source .venv/bin/activate" in first  # how to call the CLI is said first
    assert "distributor run" in first


def test_every_readme_example_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "config").symlink_to(ROOT / "config")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))  # the environment `make` made
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    env.update(pinned_now(), DISTRIBUTOR_DATA_DIR=str(tmp_path / "var"), COLUMNS="100")
    # not activated yet: the first block does it, as the README says
    env["PATH"] = os.pathsep.join(
        p
        for p in env.get("PATH", "").split(os.pathsep)
        if Path(p).resolve() != Path(sys.prefix, "bin").resolve()
    )
    script = "\n".join(
        f"# --- block {n}\n{block}"
        for n, block in enumerate(examples(README.read_text("utf-8")), 1)
    )
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{done.stderr[-3000:]}\n--- stdout\n{done.stdout[-2000:]}"
    assert "distributor: error" not in done.stderr
    # what the examples left: the outbox, the Japanese preview, the token file
    assert list((tmp_path / "var" / "outbox" / "mail").glob("daily/**/*.eml"))
    assert (tmp_path / "ja.html").read_text(encoding="utf-8").count('lang="ja"') >= 1
    assert (tmp_path / "cms.token").read_text().startswith("dst_")
    assert "desk@news.example" in done.stdout and "intern@news.example: removed" in done.stdout
