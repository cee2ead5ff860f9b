"""``distributor editions``: the life cycle from the command line, JSON and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from distributor.cli import main
from tests.conftest import write_config


def _cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def _json(result: Result) -> dict:  # type: ignore[type-arg]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_draft_edit_approve_send_and_the_errors(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        social="",
        list_extra='approval = "editor"\ntest_recipients = ["desk@news.example"]',
    )
    assert _cli(config, "stories", "fetch").exit_code == 0
    made = _json(_cli(config, "editions", "draft", "--list", "daily", "--json"))
    assert made["state"] == "draft" and made["recipients"] == 24 and made["send_at"]
    eid = str(made["id"])
    ar = next(v for v in made["variants"] if v["language"] == "ar" and not v["segment"])
    first = ar["stories"][-1]["id"]

    intro = tmp_path / "intro.md"
    intro.write_text("**مرحبا** بكم", encoding="utf-8")
    edited = _json(
        _cli(
            config, "editions", "edit", eid,
            "--pin", first,
            "--intro-file", f"ar={intro}",
            "--subject", "ar=عنوان خاص",
            "--if-version", str(made["version"]),
            "--json",
        )
    )  # fmt: skip
    ar = next(v for v in edited["variants"] if v["language"] == "ar" and not v["segment"])
    assert ar["stories"][0]["id"] == first and edited["intros"]["ar"] == "**مرحبا** بكم"

    stale = _cli(config, "editions", "edit", eid, "--subject", "en=x", "--if-version", "1")
    assert stale.exit_code == 1 and stale.stderr.count("\n") == 1
    assert "changed by someone else" in stale.stderr

    bad = _cli(config, "editions", "edit", eid, "--intro", "ar=<script>x</script>")
    assert bad.exit_code == 1 and "<script>" in bad.stderr and "Traceback" not in bad.output

    preview = _json(_cli(config, "editions", "preview", eid, "--lang", "ar", "--json"))
    assert preview["subject"] == "عنوان خاص" and preview["stories"][0] == first

    test = _json(_cli(config, "editions", "test", eid, "--lang", "ar", "--json"))
    assert test["results"][0]["to"] == "desk@news.example"
    assert test["results"][0]["state"] == "sent"

    refused = _cli(config, "editions", "send", eid)  # no terminal: no confirm, nothing sent
    assert refused.exit_code == 1 and "not sent" in refused.stderr

    approved = _json(_cli(config, "editions", "approve", eid, "--json"))
    assert approved["state"] == "approved" and approved["approved_by"].startswith("cli")

    sent = _json(_cli(config, "editions", "send", eid, "--yes", "--json"))
    assert sent["state"] == "sent" and sent["report"]["emails"]["sent"] == 24
    again = _cli(config, "editions", "approve", eid)
    assert again.exit_code == 1 and "is sent: it cannot be approved" in again.stderr

    listed = _json(_cli(config, "editions", "list", "--json"))
    assert [e["id"] for e in listed["editions"]] == [made["id"]]
    assert listed["next_slots"]["daily"]
    shown = _json(_cli(config, "editions", "show", eid, "--changes", "--json"))
    assert [c["action"] for c in shown["changes"]] == [
        "create", "edit", "approve", "send_now", "send", "sent",
    ]  # fmt: skip
    assert (
        _cli(config, "editions", "show", "99").stderr
        == "distributor: error: no edition with id 99\n"
    )


def test_one_off_schedule_and_cancel(tmp_path: Path) -> None:
    config = write_config(tmp_path, social="")
    assert _cli(config, "stories", "fetch").exit_code == 0
    stories = json.loads(_cli(config, "stories", "list", "--json").stdout)
    published = [s for s in stories if s["status"] == "published"]
    made = _json(
        _cli(
            config, "editions", "draft", "--list", "daily", "--story", published[0]["id"], "--json"
        )
    )
    assert made["kind"] == "one_off"
    eid = str(made["id"])
    past = _cli(config, "editions", "schedule", eid, "--at", "2000-01-01T10:00+00:00")
    assert past.exit_code == 1 and "in the past" in past.stderr
    naive = _cli(config, "editions", "schedule", eid, "--at", "2999-01-01T10:00")
    assert naive.exit_code == 1 and "no zone offset" in naive.stderr
    scheduled = _json(
        _cli(config, "editions", "schedule", eid, "--at", "2999-01-01T10:00+01:00", "--json")
    )
    assert scheduled["state"] == "scheduled" and scheduled["send_at"] == "2999-01-01T09:00:00+00:00"
    cancelled = _json(_cli(config, "editions", "cancel", eid, "--reason", "wrong story", "--json"))
    assert cancelled["state"] == "cancelled" and cancelled["reason"] == "wrong story"
    run = _json(_cli(config, "run", "--json"))
    assert all(e["list"] == "daily" for e in run["editions"])
    assert made["id"] not in run["sent_editions"]
