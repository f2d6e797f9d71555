"""`/twoway answered 5 6 7` and `dismiss 5 6`: each id acts on its own, within the channel's reach, and one
answer says what happened to each; a word that isn't an id closes none of them."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Comment
from tests.support.flows import ADA, GRACE, LINUS, TEAM, Flow
from tests.support.polling import eventually

POST = "https://www.instagram.com/p/C0ffee123/"
CANONICAL = "https://instagram.com/p/C0ffee123"
PRIVATE = "C0PRIV0001"
PRIVATE_POST = "https://www.instagram.com/p/Pr1vate42/"


def _states(flow: Flow) -> dict[int, str]:
    with flow.sessions.begin() as s:
        return {c.id: c.state for c in s.scalars(select(Comment).where(Comment.team_id == TEAM))}


def _flag(flow: Flow, text: str, *, channel: str | None = None, post: str = CANONICAL) -> int:
    where = {} if channel is None else {"channel": channel}
    answer = flow.reply_text(GRACE, f"flag {post} {text}", **where)
    assert answer.startswith("Flagged as comment #"), answer
    return int(answer.removeprefix("Flagged as comment #").split(" ", 1)[0].rstrip(";"))


def _tracked(flow: Flow, post: str, channel: str | None = None) -> None:
    where = {} if channel is None else {"channel": channel}
    shared = flow.say(ADA, f"<{post}>", **where)
    eventually(
        lambda: any(c["args"].get("timestamp") == shared for c in flow.calls("reactions.add")),
        what="the share tracked",
    )


def _notices_updated(flow: Flow) -> set[str]:
    return {str(c["args"]["ts"]) for c in flow.calls("chat.update")}


def _notice_of(flow: Flow, comment_id: int) -> str:
    with flow.sessions.begin() as s:
        comment = s.get(Comment, comment_id)
        assert comment is not None
        assert comment.notice_ts
        return comment.notice_ts


def test_answered_several_closes_each_in_reach_and_says_what_happened_to_each(flow: Flow) -> None:
    flow._post(
        "/_emulator/channel",
        {"team": TEAM, "id": PRIVATE, "name": "launch-plans", "is_private": True, "members": [ADA, GRACE]},
    )
    _tracked(flow, POST)
    _tracked(flow, PRIVATE_POST, PRIVATE)
    first, second, closed_before = (_flag(flow, f"Question {n}?") for n in range(3))
    elsewhere = _flag(flow, "Is the launch moved?", channel=PRIVATE, post=PRIVATE_POST)
    unknown = max(first, second, closed_before, elsewhere) + 100
    assert flow.reply_text(LINUS, f"answered {closed_before}").startswith(":white_check_mark:")

    answer = flow.reply_text(
        ADA, f"answered #{first}, #{second}, #{closed_before} and #{elsewhere} {unknown}"
    )

    assert answer == (
        f"Marked #{first} and #{second} answered. #{closed_before} was already answered by <@{LINUS}> "
        f"under a minute ago. There are no comments #{elsewhere} and #{unknown} here."
    )
    assert _states(flow) == {
        first: "answered",
        second: "answered",
        closed_before: "answered",
        elsewhere: "open",
    }
    with flow.sessions.begin() as s:
        by = {c.id: c.answered_by for c in s.scalars(select(Comment).where(Comment.team_id == TEAM))}
    assert (by[first], by[second], by[closed_before]) == (ADA, ADA, LINUS)
    # Each comment closed now has its notice in the thread updated, as a single close does.
    notices = {_notice_of(flow, first), _notice_of(flow, second)}
    eventually(lambda: notices <= _notices_updated(flow), what="the two notices updated")
    assert _notice_of(flow, elsewhere) not in _notices_updated(flow)


def test_dismiss_several_and_one_of_them_already_dismissed(flow: Flow) -> None:
    _tracked(flow, POST)
    first, second = _flag(flow, "Love it!"), _flag(flow, "So cool")
    flow.reply_text(GRACE, f"dismiss {second}")
    answer = flow.reply_text(ADA, f"dismiss {first} {second}")
    assert answer == (
        f"Marked #{first} as needing no reply. #{second} was already marked as needing no reply by "
        f"<@{GRACE}> under a minute ago."
    )
    assert _states(flow) == {first: "dismissed", second: "dismissed"}


def test_a_word_that_isnt_an_id_closes_none_of_them(flow: Flow) -> None:
    _tracked(flow, POST)
    first, second = _flag(flow, "Question 1?"), _flag(flow, "Question 2?")
    refused = flow.reply_text(ADA, f"answered {first} {second} thanks")
    assert refused.startswith("`thanks` isn't a comment id;")
    assert "Nothing was closed." in refused
    too_many = flow.reply_text(ADA, "dismiss " + " ".join(str(first + n) for n in range(21)))
    assert "at most 20 comment ids" in too_many
    assert _states(flow) == {first: "open", second: "open"}
    assert flow.calls("chat.update") == []
