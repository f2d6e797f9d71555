"""Every `/twoway` subcommand, the Home tab, workspaces kept apart, and Slack's refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from storage.channels import ensure_channel
from storage.models import Channel, Comment
from storage.workspace_rows import count_rows
from tests.support.flows import ADA, CHANNEL, GRACE, LINUS, TEAM, Flow, views_of
from tests.support.polling import eventually

POST = "https://www.instagram.com/p/C0ffee123/"
CANONICAL = "https://instagram.com/p/C0ffee123"


def _share_and_flag(flow: Flow, count: int, *, text: str = "Question number {n}?") -> str:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the post")
    for n in range(count):
        flow.reply_text(GRACE, f"flag {CANONICAL} {text.format(n=n)}")
    return shared


def _comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))


def test_unanswered_lists_oldest_first_with_buttons_and_says_how_many_more(flow: Flow) -> None:
    _share_and_flag(flow, 12)
    [shown] = flow.command(ADA, "unanswered")
    assert shown["text"].startswith("12 comments are waiting for an answer in this channel")
    blocks = shown["blocks"]
    ids = [c.id for c in _comments(flow)]
    buttons = [b for b in blocks if b["type"] == "actions"]
    assert [b["elements"][0]["value"] for b in buttons] == [str(i) for i in ids[:10]]
    assert "and 2 more" in json.dumps(blocks[-1])
    assert len(blocks) <= 50

    mine = flow.reply_text(ADA, f"unanswered <@{ADA}|ada>")
    assert mine.startswith(f"12 comments are waiting for an answer on <@{ADA}>'s posts")
    assert flow.reply_text(ADA, f"unanswered <@{LINUS}>").startswith("No comments are waiting")
    assert flow.reply_text(ADA, "unanswered @ada") == mine  # typed out, not picked from Slack's list


def test_long_and_hostile_comment_text_is_shown_literally_and_within_limits(flow: Flow) -> None:
    hostile = "<!channel> <@U0LINUS001> *bold* ```x``` '; DROP TABLE comments; -- " + "é" * 3500
    _share_and_flag(flow, 1, text="{n}")
    shared_comment = _comments(flow)[0]
    with flow.sessions.begin() as s:
        comment = s.get(Comment, shared_comment.id)
        assert comment is not None
        comment.text = hostile
    [shown] = flow.command(ADA, "unanswered")
    sections = [b["text"]["text"] for b in shown["blocks"] if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert not any("<!channel>" in text or "<@U0LINUS001>" in text for text in sections)
    assert any("&lt;!channel&gt; &lt;@U0LINUS001&gt;" in text for text in sections)
    with flow.sessions.begin() as s:
        stored = s.get(Comment, shared_comment.id)
        assert stored is not None
        assert stored.text == hostile


def test_settings_show_change_and_refuse(flow: Flow) -> None:
    shown = flow.reply_text(ADA, "settings")
    assert "nudged after 24 hours" in shown
    assert ":speech_balloon: to flag" in shown
    changed = flow.reply_text(ADA, "settings threshold 6h flag :raising_hand: resolve :+1:")
    assert changed.startswith("Saved. In this channel, open comments are nudged after 6 hours")
    with flow.sessions.begin() as s:
        channel = s.scalars(
            select(Channel).where(Channel.team_id == TEAM, Channel.channel_id == CHANNEL)
        ).one()
        assert (channel.unanswered_threshold_hours, channel.flag_emoji, channel.resolve_emoji) == (
            6,
            "raising_hand",
            "+1",
        )
    clash = flow.reply_text(ADA, "settings dismiss raising_hand")
    assert clash.startswith("The flag, resolve and dismiss reactions must differ")
    refused = flow.reply_text(ADA, "settings threshold 0")
    assert "\n" not in refused
    assert "/twoway settings" in refused

    shared = flow.say(ADA, f"<{POST}>")
    quoted = flow.say(LINUS, "is there a discount?", thread_ts=shared)
    flow.react(GRACE, quoted, "speech_balloon")  # the old flag reaction no longer flags
    flow.react(GRACE, quoted, "raising_hand")
    [comment] = eventually(lambda: _comments(flow), what="the comment flagged by the new reaction")
    assert comment.text == "is there a discount?"


def test_report_counts_one_way_posts_and_open_comments(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the :eyes: reaction")
    flow.reply_text(ADA, f"log {CANONICAL} comments=5 replies=0 likes=80")
    flow.reply_text(GRACE, f"flag {CANONICAL} Is the blue one back in stock?")
    report = flow.reply_text(ADA, "report month")
    assert "The last 30 days in" in report
    for figure in (
        "1 posts",
        "5 comments received",
        "0 replies sent",
        "reply rate 0% (0 replies to 5 comments)",
    ):
        assert figure in report
    assert "1 open comments" in report
    assert "score" not in report.lower()
    assert shared
    assert flow.reply_text(ADA, f"report week <@{LINUS}>").count("0 posts") == 1
    [personal] = flow.command(GRACE, f"report month <@{ADA}>")
    shown = personal["text"] + json.dumps(personal["blocks"])
    assert "1 posts, 5 comments received, 0 replies sent" in personal["text"]
    # A person's percentage isn't shown to the channel; the team's report keeps its rate.
    assert "%" not in shown.replace("100%", "")
    assert "Reply rate" not in shown
    assert "reply rate 0%" in report


def test_export_sends_csv_files_in_a_direct_message(flow: Flow) -> None:
    _share_and_flag(flow, 2)
    answer = flow.reply_text(ADA, "export")
    assert answer == "Sent you 3 CSV files in a direct message: posts, snapshots, comments."
    [opened] = flow.calls("conversations.open")
    assert opened["args"]["users"] == ADA
    completed = flow.calls("files.completeUploadExternal")
    assert completed
    uploads = flow.calls("upload_url")
    assert len(uploads) == 3


def test_home_tab_shows_the_viewers_queue_and_its_buttons_work(flow: Flow) -> None:
    _share_and_flag(flow, 2)
    flow.event({"type": "app_home_opened", "user": ADA, "channel": "D0ADA00001", "tab": "home"})
    published = eventually(lambda: flow.calls("views.publish"), what="the Home tab")
    view = (
        json.loads(published[-1]["args"]["view"])
        if isinstance(published[-1]["args"]["view"], str)
        else (published[-1]["args"]["view"])
    )
    text = json.dumps(view["blocks"])
    assert "Waiting for your answer" in text
    assert "Question number 0?" in text
    assert "Your reply rate this week" in text
    comment_buttons = [b for b in view["blocks"] if b.get("block_id", "").startswith("comment-")]
    assert [b["elements"][0]["value"] for b in comment_buttons] == [str(c.id) for c in _comments(flow)]
    assert views_of(flow, ADA)

    oldest = _comments(flow)[0]
    clicked = flow._post(
        "/_emulator/action",
        {"team": TEAM, "user": ADA, "view": "home", "action_id": "comment_answered", "value": str(oldest.id)},
    )
    assert clicked["ack"]["status"] == 200
    eventually(lambda: _comments(flow)[0].state == "answered", what="the Home click")
    republished = eventually(lambda: flow.calls("views.publish")[1:], what="the Home tab again")
    assert "Question number 0?" not in json.dumps(republished[-1]["args"]["view"])

    flow.event({"type": "app_home_opened", "user": LINUS, "channel": "D0LIN00001", "tab": "home"})
    eventually(lambda: len(flow.calls("views.publish")) == 3, what="Linus's Home tab")
    other = flow.calls("views.publish")[-1]["args"]["view"]
    assert "Question number" not in json.dumps(other)


def test_workspaces_see_only_their_own_ledger(flow: Flow) -> None:
    _share_and_flag(flow, 1)
    other_team, other_channel = "T0OTHER001", "C0OTHER001"
    flow._post("/_emulator/team", {"id": other_team, "domain": "other"})
    flow._post(
        "/_emulator/channel", {"team": other_team, "id": other_channel, "name": "social", "bot_member": True}
    )
    # This process serves one workspace's token, which can't see the other's channels; the other
    # workspace's channel is one twoway is in, as an install there would have recorded it.
    with flow.sessions.begin() as s:
        ensure_channel(s, other_team, other_channel, now=datetime.now(UTC))
    seen = flow.command(ADA, "unanswered", team=other_team, channel=other_channel)
    assert seen[0]["text"].startswith("No comments are waiting")
    answered = flow.command(ADA, f"answered {_comments(flow)[0].id}", team=other_team, channel=other_channel)
    assert "There is no comment" in answered[0]["text"]
    assert _comments(flow)[0].state == "open"
    with flow.sessions.begin() as s:
        assert count_rows(s, other_team)["comments"] == 0


def test_a_notice_slack_refuses_is_shown_to_the_flagger_and_the_comment_stays(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the :eyes: reaction")
    flow._post("/_emulator/faults", {"method": "chat.postMessage", "status": 500})
    shown = flow.command(GRACE, f"flag {CANONICAL} Where is the FAQ?")
    texts = [s["text"] for s in shown]
    assert any(t.startswith("Comment #") and "is waiting for an answer" in t for t in texts), texts
    [comment] = _comments(flow)
    assert (comment.text, comment.notice_ts) == ("Where is the FAQ?", None)
    # Never repeated blindly: Slack may have kept a post it answered 500 to (bot.deps.ONCE_ONLY).
    assert len(flow.calls("chat.postMessage")) == 1
    assert shared


def test_snooze_from_the_home_tab_holds_the_comment(flow: Flow) -> None:
    _share_and_flag(flow, 1)
    [comment] = _comments(flow)
    flow.event({"type": "app_home_opened", "user": ADA, "channel": "D0ADA00001", "tab": "home"})
    published = eventually(lambda: flow.calls("views.publish"), what="the Home tab")
    assert "Snooze 1 day" in json.dumps(published[-1]["args"]["view"])
    clicked = flow._post(
        "/_emulator/action",
        {"team": TEAM, "user": ADA, "view": "home", "action_id": "comment_snooze", "value": str(comment.id)},
    )
    assert clicked["ack"]["status"] == 200
    snoozed = eventually(lambda: _comments(flow)[0].snoozed_until, what="the snooze")
    assert snoozed > comment.flagged_at
    assert _comments(flow)[0].state == "open"
    republished = eventually(lambda: flow.calls("views.publish")[1:], what="the Home tab again")
    assert "snoozed until" in json.dumps(republished[-1]["args"]["view"])
