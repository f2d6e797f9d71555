"""`twoway demo` as a user runs it: the Monday digest printed, and posted through the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import base_env

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "options",
    [
        pytest.param([], id="internal"),
        # Slack's 2025 rule for apps outside the Marketplace: conversations.history and .replies once a
        # minute (docs.slack.dev/changelog/2025/05/29/rate-limit-changes-for-non-marketplace-apps).
        pytest.param(["--app-kind", "non-marketplace"], id="non-marketplace"),
        pytest.param(["--rate-limits"], id="rate-limits"),
    ],
)
def test_demo_prints_the_digest_it_posted(tmp_path: Path, options: list[str]) -> None:
    calls_file = tmp_path / "calls.json"
    done = subprocess.run(
        [sys.executable, "-m", "twoway.cli", "demo", "--save-calls", str(calls_file), *options],
        env=base_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in (
        "the Monday digest",
        "Waiting for an answer: 8 comments, oldest first",
        # Replies nobody copied into Slack, read from the emulated Bluesky and Mastodon.
        "@linus · from maria.bsky.social · seen on Bluesky",
        "seen on Mastodon",
        "The counts of 2 of the 6 new posts were fetched from Bluesky and Mastodon",
        "linus: the last 4 posts with comments drew 21 comments and no replies",
        "[ Open the oldest comment ]",
        "Conversations",
        "Reply rate: 38% (43 replies to 112 comments)",
        "[ Mark answered ] [ No reply needed ]",
        "its chart, saved to",
        # The nudges due at 09:00 ride in the digest.
        "Waiting for you",
        "@grace: 1 comment waits for you, oldest 2 days",
        # Grace is on one of the digest's comments and Ada answered another: the digest is drawn again.
        "the same digest at 09:07",
        "grace is on it since",
        "[ Let it go ] [ Ask someone else ]",
        # Tuesday's sweep: what still waits is one nudge for several comments.
        "twoway's nudge, Tuesday 10:00",
        "Can anyone take these? 2 comments still wait",
    ):
        assert expected in out, (expected, out)
    monday = out.split("the same digest at 09:07", 1)[0]
    # A reply Grace flagged in Slack is the one twoway then found on Bluesky: one comment, not two.
    assert monday.lower().count("which hardware did you run these on") == 1
    assert "· from perf-nerd.bsky.social" in monday
    live = out.split("the same digest at 09:07", 1)[1]
    assert "8 comments wait for an answer" in out.split("the same digest at 09:07", 1)[0]
    assert "7 comments wait for an answer" in live
    # The kinder one-way line names Linus without a ping and offers the next step.
    assert "linus: the last 4 posts" in live
    assert "Next: pick one question" in live
    assert "Traceback" not in done.stderr

    calls = json.loads(calls_file.read_text())
    # Every flag of the fortnight found its message where twoway kept it: no read, so no wait for one.
    reads = [c for c in calls if c["method"] in ("conversations.history", "conversations.replies")]
    assert reads == []
    digests = [
        c
        for c in calls
        if c["method"] == "chat.postMessage"
        and c["ok"]
        and "twoway_digest" in json.dumps(c["args"].get("metadata") or "")
    ]
    # Posted, that is: with Slack's limits on, a post Slack refused with a 429 is tried again later.
    assert len(digests) == 2, "last Monday's and this Monday's"
    latest = digests[-1]["args"]
    assert latest["channel"] == "C0SOCIAL01"
    blocks = latest["blocks"] if isinstance(latest["blocks"], list) else json.loads(latest["blocks"])
    assert len(blocks) <= 50
    assert "Waiting for an answer" in json.dumps(blocks)
    # The chart went into the thread of a message posted at the digest's moment: Monday 09:00.
    [upload] = [
        c for c in calls if c["method"] == "files.completeUploadExternal" and c["at"] >= digests[-1]["at"]
    ]
    assert float(upload["args"]["thread_ts"]) == pytest.approx(digests[-1]["at"], abs=1)
    # Digests, notices and nudges alike: no message twoway posts previews the posts it links.
    posts = [c["args"] for c in calls if c["method"] == "chat.postMessage" and c["ok"]]
    assert {"digest", "notice", "nudge"} <= {_kind(p) for p in posts}
    # The digest was edited in place, not posted again.
    updates = [c for c in calls if c["method"] == "chat.update" and c["ok"]]
    assert any(u["args"]["ts"] for u in updates)
    unfurled = [
        p for p in posts if _off(p.get("unfurl_links")) is not True or _off(p.get("unfurl_media")) is not True
    ]
    assert unfurled == []
    chart = Path(out.split("saved to ", 1)[1].split()[0])
    assert chart.read_bytes().startswith(b"\x89PNG")


def _off(value: object) -> bool | None:
    """An unfurl argument as sent, form-encoded or JSON: True when it turns previews off."""
    if value is None:
        return None
    return str(value).lower() in ("false", "0")


def _kind(args: dict[str, object]) -> str:
    metadata = json.dumps(args.get("metadata") or "")
    if "twoway_digest" in metadata:
        return "digest"
    if "twoway_nudge" in metadata:
        return "nudge"
    return "notice" if args.get("thread_ts") else "other"
