"""A comment is flagged once: a second flag, by any way there is (the reaction, the message shortcut, its
modal, `/twoway flag <post> "text"`, `/twoway flag <post> <reply link>`), answers with the comment's id,
who flagged it and where it stands, and records no second comment and posts no second notice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import Comment
from tests.support.flows import ADA, GRACE, LINUS, TEAM, Flow
from tests.support.inbox import settled_events
from tests.support.polling import eventually

POST = "https://x.com/acme/status/1790000000000000001"
REPLY = "https://x.com/maple/status/1790000000000000002"


def _comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))


def _notices(flow: Flow) -> list[dict[str, Any]]:
    """The flag notices twoway posted (each is updated in place once its comment is closed)."""
    posted = flow.calls("chat.postMessage")
    return [c for c in posted if "is waiting for an answer" in str(c["args"].get("text"))]


def _share(flow: Flow) -> str:
    shared = flow.say(ADA, f"Launch: <{POST}>")
    eventually(
        lambda: any(c["args"].get("timestamp") == shared for c in flow.calls("reactions.add")),
        what="the share tracked",
    )
    return shared


def _already(comment: Comment, by: str) -> str:
    return f"That comment is already #{comment.id} on <{POST}|X post>, flagged by <@{by}> under a minute ago"


def _told(flow: Flow, user: str) -> list[str]:
    """What twoway told ``user`` of a comment already flagged (a sharer is told other things too)."""
    told = [str(c["args"]["text"]) for c in flow.calls("chat.postEphemeral") if c["args"]["user"] == user]
    return [t for t in told if t.startswith("That comment is already")]


def _responded(flow: Flow) -> list[str]:
    return [str(c["args"].get("text")) for c in flow.calls("response_url")]


def test_a_reply_flagged_by_reaction_then_by_shortcut_is_one_comment_and_each_is_told_its_id(
    flow: Flow,
) -> None:
    shared = _share(flow)
    question = flow.say(LINUS, "Do you ship to Canada?", thread_ts=shared)
    flow.react(GRACE, question, "speech_balloon")
    [comment] = eventually(lambda: _comments(flow), what="the flag")
    eventually(lambda: _notices(flow), what="its notice")

    flow.react(ADA, question, "speech_balloon")
    [told] = eventually(lambda: _told(flow, ADA), what="the second flagger told")
    assert told == _already(comment, GRACE) + ", still waiting."

    flow.shortcut(LINUS, question)
    answered = eventually(
        lambda: [t for t in _responded(flow) if "already" in t], what="the shortcut's answer"
    )
    assert answered == [_already(comment, GRACE) + ", still waiting."]

    # Once it is answered, a flag says so.
    flow.reply_text(ADA, f"answered {comment.id}")
    flow.react(LINUS, question, "speech_balloon")
    later = eventually(lambda: _told(flow, LINUS), what="the flag of an answered comment")
    assert later == [_already(comment, GRACE) + f", answered by <@{ADA}> under a minute ago."]

    eventually(lambda: settled_events(flow.sessions, TEAM, expected=5), what="every event handled")
    assert [c.id for c in _comments(flow)] == [comment.id]
    assert len(_notices(flow)) == 1


def test_the_shortcuts_modal_flags_a_loose_message_once(flow: Flow) -> None:
    _share(flow)
    loose = flow.say(GRACE, "Someone on X asked: is there an Android app?")

    def flag_in_modal(user: str) -> None:
        before = len(flow.calls("views.open"))
        flow.shortcut(user, loose)
        eventually(lambda: len(flow.calls("views.open")) > before, what="the modal")
        done = flow._post(
            "/_emulator/submit", {"team": TEAM, "user": user, "values": {"post_url": {"url": POST}}}
        )
        assert done["closed"] is True

    flag_in_modal(GRACE)
    [comment] = eventually(lambda: _comments(flow), what="the modal's flag")
    eventually(lambda: _notices(flow), what="its notice")
    flag_in_modal(LINUS)
    [told] = eventually(lambda: _told(flow, LINUS), what="the second flagger told")
    assert told == _already(comment, GRACE) + ", still waiting."
    assert [c.id for c in _comments(flow)] == [comment.id]
    assert len(_notices(flow)) == 1


def test_a_reply_flagged_by_its_link_is_one_comment_however_it_is_flagged_again(flow: Flow) -> None:
    shared = _share(flow)
    first = flow.reply_text(GRACE, f'flag {POST} {REPLY} "Is there an Android app?" by @maple')
    [comment] = _comments(flow)
    assert first.startswith(f"Flagged as comment #{comment.id}")
    # The same reply by its link, in other words: the link names the comment.
    again = flow.reply_text(LINUS, f"flag <{POST}> <{REPLY}> Android app when?")
    assert again == _already(comment, GRACE) + ", still waiting."
    # The same words by command, however the link is written.
    words = flow.reply_text(LINUS, f'flag {POST}?utm_source=x {REPLY} "Is there an Android app?" by @maple')
    assert words == again

    # Someone pastes the reply's link under the post and flags that message.
    pasted = flow.say(LINUS, f"<{REPLY}>", thread_ts=shared)
    flow.react(ADA, pasted, "speech_balloon")
    [told] = eventually(lambda: _told(flow, ADA), what="the reaction's answer")
    assert told == _already(comment, GRACE) + ", still waiting."

    eventually(lambda: settled_events(flow.sessions, TEAM, expected=3), what="every event handled")
    assert [c.id for c in _comments(flow)] == [comment.id]
    assert len(_notices(flow)) == 1
