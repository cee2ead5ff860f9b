"""``distributor posts`` and ``distributor stats posts``: the queue from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from distributor.cli import main
from tests.conftest import pinned_now, write_config

SOCIAL = """
[social.desk]
provider = "file"
approval = "editor"
languages = ["ja", "ar"]
timezone = "Asia/Tokyo"
slots = ["09:00", "18:00"]
max_chars = 60
"""


def _cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], env=pinned_now())


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_review_edit_schedule_post_and_the_errors(tmp_path: Path) -> None:
    config = write_config(tmp_path, social=SOCIAL)
    assert _cli(config, "run").exit_code in (0, 3)
    drafts = _json(_cli(config, "posts", "list", "--channel", "desk", "--json"))
    assert drafts and {d["state"] for d in drafts} == {"draft"}
    assert {d["language"] for d in drafts} == {"ja", "ar"}
    first = drafts[0]
    pid = str(first["id"])

    over = _cli(config, "posts", "edit", pid, "--text", "長" * 61)
    assert over.exit_code == 1 and over.stderr.count("\n") == 1
    assert "over file's limit of 60" in over.stderr and "Traceback" not in over.output

    edited = _json(
        _cli(config, "posts", "edit", pid, "--text", "閣僚が合意",
             "--if-version", str(first["version"]), "--json")
    )  # fmt: skip
    assert edited["text"] == "閣僚が合意" and edited["text_version"] == 2
    stale = _cli(config, "posts", "approve", pid, "--if-version", str(first["version"]))
    assert stale.exit_code == 1 and "changed by someone else" in stale.stderr

    approved = _json(_cli(config, "posts", "approve", pid, "--json"))
    # 07:00 UTC is 16:00 in Tokyo: the next slot is 18:00 Tokyo
    assert approved["state"] == "approved" and approved["at_local"].startswith(
        "2026-11-28T18:00:00+09:00"
    )
    moved = _json(_cli(config, "posts", "move", pid, "--json"))
    assert moved["at_local"].startswith("2026-11-29T09:00:00+09:00")
    bad = _cli(config, "posts", "move", pid, "--to", "10:00")
    assert bad.exit_code == 1 and "not a slot of desk" in bad.stderr
    pinned = _json(_cli(config, "posts", "schedule", pid, "--at", "2026-11-28 20:15", "--json"))
    assert pinned["state"] == "scheduled" and pinned["at"] == "2026-11-28T11:15:00+00:00"

    second = str(drafts[1]["id"])
    now = _cli(config, "posts", "post-now", second, "--json")
    assert now.exit_code == 0, now.output
    assert json.loads(now.stdout)["state"] == "posted"
    gone = _json(_cli(config, "posts", "cancel", pid, "--reason", "old news", "--json"))
    assert gone["state"] == "cancelled" and gone["reason"] == "old news"
    late = _cli(config, "posts", "edit", pid, "--text", "x")
    assert late.exit_code == 1 and "too late to edit" in late.stderr

    shown = _json(_cli(config, "posts", "show", second, "--json"))
    assert shown["posted_version"] == 1 and shown["count"]["limit"] == 60
    assert [c["action"] for c in shown["changes"]][:2] == ["create", "schedule"]
    text = _cli(config, "posts", "show", second)
    assert text.exit_code == 0 and "posted" in text.stdout

    days = _json(_cli(config, "posts", "calendar", "--tz", "Asia/Tokyo", "--days", "3", "--json"))
    assert [d["date"] for d in days] == ["2026-11-28", "2026-11-29", "2026-11-30"]
    assert any(p["id"] == int(second) for p in days[0]["posts"].get("desk", []))
    zone = _cli(config, "posts", "calendar", "--tz", "Mars/Olympus")
    assert zone.exit_code == 1 and "unknown time zone 'Mars/Olympus'" in zone.stderr

    stats = _json(_cli(config, "stats", "posts", "--json"))
    assert [r["id"] for r in stats["posts"]] == [int(second)]
    assert stats["posts"][0]["likes"] is None  # the file channel exposes no counts
    missing = _cli(config, "posts", "show", "9999")
    assert missing.exit_code == 1 and "no post with id 9999" in missing.stderr
