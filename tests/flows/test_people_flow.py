"""A person named in a command as typed text, `@ada` or `me`, rather than picked from Slack's list."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Comment
from tests.support.flows import ADA, GRACE, TEAM, Flow
from tests.support.polling import eventually

POST = "https://www.instagram.com/p/C0ffee123/"
CANONICAL = "https://instagram.com/p/C0ffee123"


def _ada_has_two_waiting(flow: Flow) -> None:
    flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the post")
    for question in ("Do you ship to Canada?", "Is there a vegan one?"):
        flow.reply_text(GRACE, f"flag {CANONICAL} {question}")


def _comment_states(flow: Flow) -> list[tuple[int, str]]:
    with flow.sessions.begin() as s:
        rows = s.execute(
            select(Comment.id, Comment.state).where(Comment.team_id == TEAM).order_by(Comment.id)
        )
        return [(row.id, row.state) for row in rows]


def test_a_typed_name_or_me_lists_that_persons_waiting_comments(flow: Flow) -> None:
    _ada_has_two_waiting(flow)
    linked = flow.reply_text(ADA, f"unanswered <@{ADA}|ada>")
    assert linked.startswith(f"2 comments are waiting for an answer on <@{ADA}>'s posts")

    assert flow.reply_text(GRACE, "unanswered @ada") == linked
    assert flow.reply_text(GRACE, "unanswered @Ada Lovelace") == linked
    assert flow.reply_text(ADA, "unanswered me") == linked
    assert flow.reply_text(GRACE, "unanswered me").startswith("No comments are waiting")
    assert flow.reply_text(ADA, "unanswered @grace").startswith("No comments are waiting")

    assert flow.reply_text(GRACE, "report month @ada") == flow.reply_text(GRACE, f"report month <@{ADA}>")
    assert flow.reply_text(ADA, "report me") == flow.reply_text(ADA, f"report <@{ADA}>")


def test_an_ambiguous_or_unknown_name_says_how_to_name_the_person_and_changes_nothing(flow: Flow) -> None:
    _ada_has_two_waiting(flow)
    flow._post("/_emulator/user", {"team": TEAM, "id": "U0ADA00002", "name": "ada.b", "display_name": "Ada"})
    flow._post("/_emulator/user", {"team": TEAM, "id": "U0GONE0001", "name": "zed", "deleted": True})
    before = _comment_states(flow)

    ambiguous = flow.reply_text(GRACE, "unanswered @ada")
    assert ambiguous.startswith(f"More than one person goes by `@ada`: <@{ADA}>, <@U0ADA00002>.")
    assert "pick them from Slack's list" in ambiguous
    assert flow.reply_text(GRACE, "unanswered @Ada Lovelace").startswith("2 comments are waiting")

    for typed in ("@nobody", "@zed"):
        unknown = flow.reply_text(GRACE, f"report {typed}")
        assert unknown.startswith(f"No one in this workspace goes by `{typed}`.")
    assert _comment_states(flow) == before


def test_a_burst_of_commands_lists_the_workspaces_members_once(flow: Flow) -> None:
    """Slack's Tier 2 allows users.list about 20 times a minute; 30 commands in a minute use one."""
    _ada_has_two_waiting(flow)
    flow._post("/_emulator/limits", {})
    for n in range(30):
        who, typed = (ADA, "me") if n % 3 == 0 else (GRACE, "@ada" if n % 3 == 1 else "@Ada Lovelace")
        assert flow.reply_text(who, f"unanswered {typed}").startswith("2 comments are waiting"), n
    assert len(flow.calls("users.list")) == 1
    assert flow._get("/_emulator/limits")["ratelimited"] == {}
