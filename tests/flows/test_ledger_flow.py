"""The everyday surface, end to end: link → post → summary → flag → notice → answered → report."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.comments import NOTICE_PENDING
from storage.models import Comment, Post, PostShare, Snapshot
from storage.posts import post_by_url
from storage.workspace_rows import count_rows
from tests.support.flows import ADA, CHANNEL, GRACE, LINUS, TEAM, Flow
from tests.support.inbox import settled_events
from tests.support.polling import eventually

POST = "https://x.com/twoway/status/1790000000000000001"


def _posts(flow: Flow) -> list[Post]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Post).where(Post.team_id == TEAM).order_by(Post.id)))


def _comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))


def _noticed(flow: Flow) -> list[Comment]:
    """Comments whose notice is posted (not merely claimed)."""
    return [c for c in _comments(flow) if c.notice_ts not in (None, NOTICE_PENDING)]


def _snapshots(flow: Flow) -> list[Snapshot]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Snapshot).where(Snapshot.team_id == TEAM).order_by(Snapshot.id)))


def _reactions(flow: Flow, ts: str) -> list[str]:
    return [c["args"]["name"] for c in flow.calls("reactions.add") if c["args"].get("timestamp") == ts]


def test_link_summary_flag_answer_report(flow: Flow) -> None:
    shared = flow.say(ADA, f"New thread is out: <{POST}?utm_source=slack&s=20|our launch post>")
    [post] = eventually(lambda: _posts(flow), what="the post")
    assert (post.canonical_url, post.platform, post.owner_user_id, post.message_ts) == (
        POST,
        "x",
        ADA,
        shared,
    )
    assert eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction") == ["eyes"]

    summary = flow.say(GRACE, "12 comments, 3 replies, 5 retweets, 1.2k likes", thread_ts=shared)
    [snap] = eventually(lambda: _snapshots(flow), what="the snapshot")
    assert (snap.comments_received, snap.replies_sent, snap.shares, snap.likes) == (12, 3, 5, 1200)
    assert (snap.source, snap.source_ref, snap.recorded_by) == ("thread", summary, GRACE)

    quoted = flow.say(LINUS, "> When does part 2 come out? I need it for my class", thread_ts=shared)
    flow.react(GRACE, quoted, "speech_balloon")
    [comment] = eventually(lambda: _noticed(flow), what="the flagged comment")
    assert (comment.post_id, comment.state, comment.flagged_by) == (post.id, "open", GRACE)
    assert comment.text == "When does part 2 come out? I need it for my class"

    notice = next(m for m in flow.bot_messages() if m["ts"] == comment.notice_ts)
    assert notice["thread_ts"] == shared
    assert f"Comment #{comment.id}" in notice["blocks"][0]["text"]["text"]
    assert f"Owner: <@{ADA}>" in notice["blocks"][0]["text"]["text"]
    assert re.search(r"If it's still open <!date\^\d+\^", notice["blocks"][0]["text"]["text"])
    assert [e["action_id"] for e in notice["blocks"][2]["elements"]] == [
        "comment_answered",
        "comment_dismissed",
        "comment_claim",
    ]

    answer = flow.reply_text(ADA, f"answered {comment.id}")
    assert answer.startswith(f":white_check_mark: Comment #{comment.id} was answered by <@{ADA}> after")
    [closed] = _comments(flow)
    assert (closed.state, closed.answered_by) == ("answered", ADA)
    updated = eventually(
        lambda: [c for c in flow.calls("chat.update") if c["args"].get("ts") == comment.notice_ts],
        what="the notice's update",
    )
    assert "was answered by" in updated[-1]["args"]["text"]

    report = flow.reply_text(ADA, "report")
    for figure in (
        "1 posts",
        "12 comments received",
        "3 replies sent",
        "reply rate 25% (3 replies to 12 comments)",
        "0 one-way posts",
        "0 open comments",
    ):
        assert figure in report, (figure, report)

    again = flow.reply_text(ADA, f"answered {comment.id}")
    assert again == f"Comment #{comment.id} was already answered by <@{ADA}> under a minute ago."


def test_the_same_post_shared_twice_is_one_post_owned_by_the_first(flow: Flow) -> None:
    first = flow.say(ADA, "https://twitter.com/twoway/status/1790000000000000001/")
    eventually(lambda: _reactions(flow, first), what="the :eyes: reaction")
    second = flow.say(GRACE, f"boosting <{POST}?utm_campaign=x&amp;s=09>")
    eventually(lambda: _reactions(flow, second), what="the :eyes: reaction")
    [post] = _posts(flow)
    assert (post.canonical_url, post.owner_user_id) == (POST, ADA)
    with flow.sessions.begin() as s:
        shares = s.scalars(select(PostShare.message_ts).where(PostShare.team_id == TEAM)).all()
    assert sorted(shares) == sorted([first, second])


def test_one_message_with_several_platforms_records_each(flow: Flow) -> None:
    flow.reply_text(ADA, "settings sites blog.twoway.example")
    ts = flow.say(
        ADA,
        "Out everywhere: <https://www.linkedin.com/posts/twoway_launch-activity-7190000000000000000-abcd/> "
        "<https://mastodon.social/@twoway/112233445566778899> and https://blog.twoway.example/launch",
    )
    eventually(lambda: _reactions(flow, ts), what="the :eyes: reaction")
    assert sorted(p.platform for p in _posts(flow)) == ["blog", "linkedin", "mastodon"]
    assert _reactions(flow, ts) == ["eyes"]
    assert not flow.bot_messages(), "no channel message per link"


def test_links_that_are_not_posts_record_nothing(flow: Flow) -> None:
    flow.say(ADA, "see <https://twoway-demo.slack.com/archives/C0SOCIAL01/p1700000000000100>")
    flow.say(ADA, "the banner <https://cdn.twoway.example/banner.png>")
    flow.say(ADA, "code: `https://x.com/twoway/status/1` and ```https://x.com/twoway/status/2```")
    marker = flow.say(ADA, f"finally a real one <{POST}>")
    eventually(lambda: _reactions(flow, marker), what="the :eyes: reaction")
    assert [p.canonical_url for p in _posts(flow)] == [POST]
    assert len(flow.calls("reactions.add")) == 1


def test_an_edit_updates_posts_and_a_deletion_withdraws_them_keeping_comments(flow: Flow) -> None:
    other = "https://www.facebook.com/twoway/posts/pfbid0123"
    ts = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _posts(flow), what="the post")
    flow.edit(ts, f"oops, wrong link: <{other}>")
    eventually(lambda: len(_posts(flow)) == 2 and _posts(flow)[0].withdrawn_at is not None, what="the edit")
    old, new = _posts(flow)
    assert (old.canonical_url, new.platform, new.withdrawn_at) == (POST, "facebook", None)

    quoted = flow.say(LINUS, "Is this available in Europe?", thread_ts=ts)
    flow.react(GRACE, quoted, "speech_balloon")
    eventually(lambda: _comments(flow), what="the comment")

    flow.delete(ts)
    eventually(lambda: _posts(flow)[1].withdrawn_at is not None, what="the withdrawal")
    [comment] = _comments(flow)
    assert comment.post_id == new.id, "comments stay as history"


def test_a_deleted_message_withdraws_only_the_posts_it_alone_brought(flow: Flow) -> None:
    first = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, first), what="the :eyes: reaction")
    second = flow.say(GRACE, f"also <{POST}> and <https://bsky.app/profile/twoway.bsky.social/post/3k2>")
    eventually(lambda: _reactions(flow, second), what="the :eyes: reaction")
    flow.delete(second)
    eventually(lambda: any(p.withdrawn_at for p in _posts(flow)), what="the withdrawal")
    assert {p.platform: p.withdrawn_at is None for p in _posts(flow)} == {"x": True, "bluesky": False}


def test_conversation_in_a_thread_is_ignored_quietly(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    reply = flow.say(GRACE, "I'll answer the 3 comments tonight", thread_ts=shared)
    marker = flow.say(GRACE, "comments=1", thread_ts=shared)
    eventually(lambda: _snapshots(flow), what="the later summary")
    assert _reactions(flow, reply) == []
    assert [s.comments_received for s in _snapshots(flow)] == [1]
    # The summary is read back to its writer; the conversation gets no answer at all (the sharer's note
    # about the post, outside the thread, is no answer to it).
    told = eventually(
        lambda: [
            c
            for c in flow.calls("chat.postEphemeral")
            if c["args"].get("thread_ts") or c["args"]["text"].startswith("Recorded for")
        ],
        what="the summary's read-back",
    )
    assert [c["args"]["text"][: len("Recorded for")] for c in told] == ["Recorded for"]
    assert marker


def test_bots_are_ignored_but_an_integrations_summary_counts(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    bot = {"type": "message", "subtype": "bot_message", "bot_id": "B0METRICS1", "channel": CHANNEL}
    flow.event({**bot, "text": "<https://x.com/other/status/42>", "ts": "1800000000.000100"})
    flow.event(
        {
            **bot,
            "text": "comments=7 replies=0 shares=2 likes=30",
            "ts": "1800000001.000100",
            "thread_ts": shared,
        }
    )
    [snap] = eventually(lambda: _snapshots(flow), what="the integration's snapshot")
    assert (snap.comments_received, snap.recorded_by) == (7, "B0METRICS1")
    assert [p.canonical_url for p in _posts(flow)] == [POST]


def test_a_redelivered_event_is_recorded_once(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>", retries=2)
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    summary = flow.say(GRACE, "comments=4 replies=1", thread_ts=shared, retries=2)
    # Every delivery is acknowledged by now: a redelivery handled again would be done once these settle.
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=2), what="both events handled")
    with flow.sessions.begin() as s:
        counts = count_rows(s, TEAM)
    assert (counts["posts"], counts["post_shares"], counts["snapshots"]) == (1, 1, 1)
    assert summary
    redelivered = [c for c in flow.calls("reactions.add") if c["args"]["timestamp"] == shared]
    assert len(redelivered) == 1


def test_flagging_the_same_message_twice_is_one_comment(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    quoted = flow.say(LINUS, "Why no dark mode?", thread_ts=shared)
    flow.react(GRACE, quoted, "speech_balloon")
    flow.react(LINUS, quoted, "speech_balloon")
    eventually(lambda: _noticed(flow), what="the flag's notice")
    # Once the share, the reply and both flags are handled, a second comment or notice would be in.
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=4), what="all four events handled")
    # Both flags found the reply where twoway kept it from its event: neither read Slack.
    assert flow.calls("conversations.history") == flow.calls("conversations.replies") == []
    assert len(_comments(flow)) == 1
    assert len([m for m in flow.bot_messages() if m.get("thread_ts") == shared]) == 1


def test_taking_the_last_flag_reaction_back_withdraws_the_flag(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    quoted = flow.say(LINUS, "Why no dark mode?", thread_ts=shared)
    flow.react(GRACE, quoted, "speech_balloon")
    [comment] = eventually(lambda: _noticed(flow), what="the flag's notice")
    flow.react(LINUS, quoted, "speech_balloon")
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=4), what="the second flag handled")

    flow.react(GRACE, quoted, "speech_balloon", removed=True)  # Linus's flag still stands
    # The share, the reply, both flags and the removal: a withdrawal would be done by then.
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=5), what="the first removal handled")
    assert len(flow.calls("reactions.get")) == 1, "the removal looks up who still flags the message"
    assert [c.id for c in _comments(flow)] == [comment.id]

    flow.react(LINUS, quoted, "speech_balloon", removed=True)
    eventually(lambda: not _comments(flow), what="the withdrawal")
    updated = eventually(lambda: flow.calls("chat.update"), what="the notice's update")
    assert f"comment #{comment.id} is no longer tracked" in updated[-1]["args"]["text"]


def test_an_answered_comment_is_not_withdrawn_by_taking_the_flag_back(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    quoted = flow.say(LINUS, "Any student discount?", thread_ts=shared)
    flow.react(GRACE, quoted, "speech_balloon")
    [comment] = eventually(lambda: _noticed(flow), what="the flag's notice")
    flow.reply_text(ADA, f"answered {comment.id}")
    flow.react(GRACE, quoted, "speech_balloon", removed=True)
    # The share, the reply, the flag and its removal: a withdrawal would be done by then.
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=4), what="the removal handled")
    [kept] = _comments(flow)
    assert kept.state == "answered"


def test_resolve_and_dismiss_reactions_and_buttons(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    first = flow.say(LINUS, "Love it", thread_ts=shared)
    second = flow.say(LINUS, "Any plans for Android?", thread_ts=shared)
    third = flow.say(LINUS, "Where can I buy it?", thread_ts=shared)
    for ts in (first, second, third):
        flow.react(GRACE, ts, "speech_balloon")
    eventually(lambda: len(_noticed(flow)) == 3, what="three notices")
    by_ts = {c.message_ts: c for c in _comments(flow)}

    flow.react(ADA, first, "no_entry_sign")
    flow.react(ADA, second, "white_check_mark")
    notice = by_ts[third].notice_ts
    assert notice
    flow.click(ADA, notice, "comment_answered", str(by_ts[third].id))
    eventually(lambda: all(c.state != "open" for c in _comments(flow)), what="every comment closed")
    states = {c.message_ts: (c.state, c.answered_by or c.dismissed_by) for c in _comments(flow)}
    assert states == {first: ("dismissed", ADA), second: ("answered", ADA), third: ("answered", ADA)}


def test_flag_by_command_goes_to_the_posts_thread_with_its_author(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    answer = flow.reply_text(GRACE, f'flag {POST}?utm_source=x "Do you ship to Canada?" by @maple_leaf')
    [comment] = _comments(flow)
    assert answer.startswith(f"Flagged as comment #{comment.id}")
    assert (comment.text, comment.author, comment.message_ts) == (
        "Do you ship to Canada?",
        "@maple_leaf",
        None,
    )
    notice = next(m for m in flow.bot_messages() if m["ts"] == comment.notice_ts)
    assert notice["thread_ts"] == shared
    # Shown exactly as typed, in a code span that stops the underscore's formatting (bot.text.literal).
    assert "from `@maple_leaf`" in notice["blocks"][0]["text"]["text"]

    dismissed = flow.reply_text(ADA, f"dismiss #{comment.id}")
    assert "needs no reply" in dismissed


def test_commands_on_unknown_comments_and_bad_input_record_nothing(flow: Flow) -> None:
    with flow.sessions.begin() as s:
        before = count_rows(s, TEAM)
    # A post nobody shared is added by `log` and `flag` (tests/flows/test_untracked_post_flow.py); a
    # link that is no post, or no comment text, adds nothing.
    assert "is an image" in flow.reply_text(ADA, "log https://pbs.twimg.com/media/Fabc.jpg likes=3")
    assert "Add the comment's text" in flow.reply_text(ADA, "flag https://x.com/nobody/status/1")
    assert "There is no comment #999" in flow.reply_text(ADA, "answered 999")
    assert "isn't a twoway command" in flow.reply_text(ADA, "frobnicate")
    assert flow.reply_text(ADA, "log").count("\n") == 0
    with flow.sessions.begin() as s:
        after = count_rows(s, TEAM)
    # Channels may be created on first contact, with the time zone of whoever made it (kept in `people`);
    # request bookkeeping grows with every request.
    kept = ("channels", "people", "seen_requests", "processed_events")
    assert {k: v for k, v in after.items() if k not in kept} == {
        k: v for k, v in before.items() if k not in kept
    }


def test_log_command_records_a_snapshot_in_any_form(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    first = flow.reply_text(ADA, f"log {POST} comments=4 replies=1 shares=2 likes=9")
    assert "4 comments received, 1 replies sent, 2 shares, 9 likes" in first
    second = flow.reply_text(ADA, f"log <{POST}|launch> 1.2k likes, 6 comments")
    assert "6 comments received, 1 replies sent, 2 shares, 1.2k likes" in second
    assert [(s.comments_received, s.likes, s.source) for s in _snapshots(flow)] == [
        (4, 9, "command"),
        (6, 1200, "command"),
    ]
    with flow.sessions.begin() as s:
        assert post_by_url(s, TEAM, POST) is not None


def test_the_shortcut_flags_directly_or_asks_for_the_post_in_a_modal(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    in_thread = flow.say(LINUS, "Will there be a recording?", thread_ts=shared)
    flow.shortcut(GRACE, in_thread)
    [first] = eventually(lambda: _noticed(flow), what="the shortcut's flag")
    assert (first.message_ts, first.flagged_by) == (in_thread, GRACE)

    loose = flow.say(GRACE, "Someone on LinkedIn asked: can I use this offline?")
    flow.shortcut(GRACE, loose)
    [opened] = eventually(lambda: flow.calls("views.open"), what="the modal")
    assert "flag_comment_modal" in str(opened["args"]["view"])

    def submit(url: str) -> dict[str, object]:
        answer: dict[str, object] = flow._post(
            "/_emulator/submit", {"team": TEAM, "user": GRACE, "values": {"post_url": {"url": url}}}
        )
        return answer

    assert "isn't a link to a published post" in str(
        submit("https://twoway-demo.slack.com/archives/C1")["ack"]
    )
    assert "isn't tracking that post" in str(submit("https://x.com/nobody/status/9")["ack"])
    done = submit(f"{POST}?utm_source=li")
    assert done["closed"] is True
    eventually(lambda: len(_noticed(flow)) == 2, what="the modal's flag")
    second = _comments(flow)[-1]
    assert (second.post_id, second.message_ts, second.text) == (
        first.post_id,
        loose,
        "Someone on LinkedIn asked: can I use this offline?",
    )
    notice = next(m for m in flow.bot_messages() if m["ts"] == second.notice_ts)
    assert notice["thread_ts"] == loose


def test_a_flag_on_twoways_notice_is_the_comment_it_notices_not_a_new_one(flow: Flow) -> None:
    """People add the flag reaction to twoway's notice (it quotes the comment) as a "+1", or run the
    message shortcut on it: either is the comment the notice is about, never a second comment."""
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    quoted = flow.say(LINUS, "Is there a student discount?", thread_ts=shared)
    flow.react(GRACE, quoted, "speech_balloon")
    [comment] = eventually(lambda: _noticed(flow), what="the flag's notice")
    assert comment.notice_ts

    flow.react(LINUS, comment.notice_ts, "speech_balloon")
    flow.shortcut(ADA, comment.notice_ts)
    # The share, the reply, both flag reactions: a second comment would be recorded by then.
    eventually(lambda: settled_events(flow.sessions, TEAM, expected=4), what="the flag on the notice")
    told = eventually(
        lambda: [c for c in flow.calls("chat.postEphemeral") if f"#{comment.id}" in c["args"]["text"]],
        what="the reaction's answer",
    )
    assert "already" in told[0]["args"]["text"]
    answered = eventually(lambda: flow.calls("response_url"), what="the shortcut's answer")
    assert f"comment #{comment.id}, which is already flagged" in str(answered[-1]["args"])
    assert [c.id for c in _comments(flow)] == [comment.id]
    assert len([m for m in flow.bot_messages() if m.get("thread_ts") == shared]) == 1


def test_flagging_the_same_comment_twice_by_command_is_one_comment(flow: Flow) -> None:
    shared = flow.say(ADA, f"<{POST}>")
    eventually(lambda: _reactions(flow, shared), what="the :eyes: reaction")
    first = flow.reply_text(GRACE, f'flag {POST} "Do you ship to Canada?" by @maple')
    again = flow.reply_text(LINUS, f"flag <{POST}?utm_source=x> Do you ship to Canada? by @maple")
    [comment] = _comments(flow)
    assert first.startswith(f"Flagged as comment #{comment.id}")
    assert again.startswith(f"That comment is already #{comment.id} on ")
    assert again.endswith(f"flagged by <@{GRACE}> under a minute ago, still waiting.")
    assert len([m for m in flow.bot_messages() if m.get("thread_ts") == shared]) == 1
    # Another author's same words are their own comment.
    flow.reply_text(LINUS, f'flag {POST} "Do you ship to Canada?" by @moose')
    assert len(_comments(flow)) == 2
