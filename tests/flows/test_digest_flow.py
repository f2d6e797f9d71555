"""The digest through Slack: preview, post now (exactly once), and schedules changed at once."""

from __future__ import annotations

import json

from tests.support.flows import ADA, CHANNEL, GRACE, LINUS, Flow
from tests.support.polling import eventually

POST = "https://x.com/twoway/status/1790000000000000001"


def test_preview_shows_the_digest_to_the_asker_only(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the :eyes: reaction")
    flow.say(GRACE, "comments=8 replies=0 likes=20", thread_ts=shared)
    flow.reply_text(LINUS, f"flag {POST} Where can I read more?")
    [shown] = flow.command(ADA, "digest preview")
    assert shown["response_type"] == "ephemeral"
    assert shown["text"].startswith("Preview, only you see it: this week so far.")
    text = json.dumps(shown["blocks"])
    assert "Where can I read more?" in text
    assert len(shown["blocks"]) <= 50
    assert not [c for c in flow.calls("chat.postMessage") if "metadata" in c["args"]]


def test_digest_now_posts_once_with_its_metadata(flow: Flow) -> None:
    first = flow.reply_text(ADA, "digest now")
    assert first.startswith("Posted the digest of last week (to")
    posted = [
        m for m in flow.bot_messages() if (m.get("metadata") or {}).get("event_type") == "twoway_digest"
    ]
    assert len(posted) == 1
    assert posted[0]["metadata"]["event_payload"]["channel_id"] == CHANNEL
    again = flow.reply_text(GRACE, "digest now")
    assert "is in <#C0SOCIAL01> already" in again
    assert len([m for m in flow.bot_messages() if m.get("metadata")]) == 1


def test_schedule_show_set_and_off_change_the_job_at_once(flow: Flow) -> None:
    schedules = flow.runtime.schedules
    assert schedules is not None
    job_id = f"digest:T0TWOWAY1:{CHANNEL}"

    shown = flow.reply_text(ADA, "schedule")
    # Ada first set the channel up, so it is on her time zone.
    assert "posted every Monday at 09:00 (Europe/London)" in shown

    changed = flow.reply_text(ADA, "schedule thu 17:30 Europe/Paris")
    assert changed.startswith("Saved. This channel's digest is posted every Thursday at 17:30 (Europe/Paris)")
    job = schedules.scheduler.get_job(job_id)
    assert job is not None
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("thu", "17", "30")
    assert str(job.trigger.timezone) == "Europe/Paris"

    off = flow.reply_text(ADA, "schedule off")
    assert "digest is off" in off
    assert schedules.scheduler.get_job(job_id) is None

    bad = flow.reply_text(ADA, "schedule someday 25:00")
    assert bad.startswith("I couldn't read `someday 25:00` as a weekday, a time or a time zone")
