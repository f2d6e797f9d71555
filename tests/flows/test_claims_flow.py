""" "I'm on it" through Slack as the emulator plays it: claimed from the notice, the digest, a nudge and
the Home tab; a second claim refused with who and since when; let go; handed on with the person picker;
nudges held while a claim is fresh; and a lapsed claim released with one line to the claimer, however
many replicas sweep."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.claims import Releaser
from bot.nudges import NUDGE_EVENT_TYPE
from bot.render_ledger import (
    CLAIM_ACTION,
    REASSIGN_ACTION,
    REASSIGN_MODAL,
    REASSIGN_MODAL_BLOCK,
    REASSIGN_MODAL_INPUT,
    RELEASE_ACTION,
)
from bot.scheduler import REFRESH_JOB_ID
from storage.channels import get_channel
from storage.models import Comment
from tests.flows.conftest import running_flow
from tests.support.flows import ADA, CHANNEL, GRACE, LINUS, TEAM, Flow, Later
from tests.support.polling import eventually

POST = "https://www.instagram.com/p/C0ffee123/"
CANONICAL = "https://instagram.com/p/C0ffee123"
BOT = "U0TWOWAYBOT"


@pytest.fixture
def later() -> Later:
    return Later()


@pytest.fixture
def flow(db_url: str, later: Later) -> Iterator[Flow]:
    with running_flow(db_url, clock=later) as running:
        yield running


def _flag(flow: Flow, text: str = "Is there a size chart?") -> Comment:
    """Ada shares a post, Grace flags a comment on it; returns the comment once its notice is posted."""
    flow.say(ADA, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="the post")
    flow.command(GRACE, f"flag {CANONICAL} {text}")
    eventually(lambda: _with_button(flow, CLAIM_ACTION), what="the notice")
    [comment] = _comments(flow)
    return comment


def _comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))


def _with_button(flow: Flow, action_id: str) -> list[dict[str, Any]]:
    """twoway's messages in the channel and its threads that carry the button, oldest first."""
    return [m for m in flow.bot_messages() if f'"action_id": "{action_id}"' in json.dumps(m.get("blocks"))]


def _said_to(flow: Flow, user: str) -> str:
    """What twoway last showed ``user`` alone (an ephemeral message)."""
    return str(
        eventually(
            lambda: [c for c in flow.calls("chat.postEphemeral") if c["args"]["user"] == user],
            what=f"an answer for {user}",
        )[-1]["args"]["text"]
    )


def _click(flow: Flow, user: str, message: dict[str, Any], action_id: str, comment_id: int) -> None:
    before = len(flow.calls("chat.postEphemeral"))
    clicked = flow.click(user, message["ts"], action_id, str(comment_id))
    assert clicked["ack"]["status"] == 200, clicked
    eventually(lambda: len(flow.calls("chat.postEphemeral")) > before, what=f"the answer to {action_id}")


def _home(flow: Flow, user: str) -> dict[str, Any]:
    before = len(flow.calls("views.publish"))
    flow.event({"type": "app_home_opened", "user": user, "channel": "D0" + user[2:], "tab": "home"})
    published = eventually(
        lambda: [c for c in flow.calls("views.publish")[before:] if c["args"]["user_id"] == user],
        what=f"{user}'s Home tab",
    )
    view = published[-1]["args"]["view"]
    return dict(json.loads(view) if isinstance(view, str) else view)


def _home_click(flow: Flow, user: str, action_id: str, comment_id: int) -> dict[str, Any]:
    clicked: dict[str, Any] = flow._post(
        "/_emulator/action",
        {"team": TEAM, "user": user, "view": "home", "action_id": action_id, "value": str(comment_id)},
    )
    assert clicked["ack"]["status"] == 200, clicked
    return clicked


def test_claimed_from_the_notice_a_second_claim_is_refused_with_who_and_since(flow: Flow) -> None:
    comment = _flag(flow)
    [notice] = _with_button(flow, CLAIM_ACTION)
    schedules = flow.runtime.schedules
    assert schedules is not None
    # Held, so that Linus still sees the notice's "I'm on it" when he clicks it after Grace did.
    schedules.scheduler.pause_job(REFRESH_JOB_ID)

    _click(flow, GRACE, notice, CLAIM_ACTION, comment.id)
    assert _said_to(flow, GRACE).startswith(
        f"You're on comment #{comment.id} on <{CANONICAL}|Instagram post>."
    )
    [claimed] = _comments(flow)
    assert (claimed.claimed_by, claimed.claim_assigned_by) == (GRACE, None)
    assert claimed.claimed_at is not None

    _click(flow, LINUS, notice, CLAIM_ACTION, comment.id)
    refused = _said_to(flow, LINUS)
    # Named as Slack shows her, without a ping, and since when, in each reader's own time zone.
    assert refused.startswith(
        f"grace is already on #{comment.id} since <!date^{int(claimed.claimed_at.timestamp())}^"
    ), refused
    assert "<@" not in refused
    assert _comments(flow)[0].claimed_by == GRACE

    _click(flow, GRACE, notice, CLAIM_ACTION, comment.id)
    assert _said_to(flow, GRACE).startswith(f"You're already on comment #{comment.id}, since ")
    assert _comments(flow)[0].claimed_at == claimed.claimed_at

    # Once drawn again, the notice says who is on it and offers Let it go instead of I'm on it.
    schedules.scheduler.resume_job(REFRESH_JOB_ID)
    schedules.refresh_soon()
    eventually(lambda: not _with_button(flow, CLAIM_ACTION), what="the notice drawn again")
    [drawn] = _with_button(flow, RELEASE_ACTION)
    assert drawn["ts"] == notice["ts"]
    assert "grace is on it" in json.dumps(drawn["blocks"])


def test_claimed_on_the_home_tab_listed_under_youre_on_and_let_go_only_by_the_claimer(flow: Flow) -> None:
    comment = _flag(flow)
    # Linus owns no post: the Home tab offers what is waiting in his channels only once he is on one.
    _home(flow, LINUS)
    [notice] = _with_button(flow, CLAIM_ACTION)
    _click(flow, LINUS, notice, CLAIM_ACTION, comment.id)

    view = _home(flow, LINUS)
    text = json.dumps(view["blocks"])
    assert view["blocks"][0]["text"]["text"] == "You're on"
    assert "linus is on it since" in text
    assert "Is there a size chart?" in text
    assert f'"action_id": "{RELEASE_ACTION}"' in text
    assert f'"action_id": "{REASSIGN_ACTION}"' in text

    # Ada owns the post: her Home tab shows who is on its comment, and she can't let it go for him.
    ada = json.dumps(_home(flow, ADA)["blocks"])
    assert "linus is on it since" in ada
    before = len(flow.calls("views.publish"))
    _home_click(flow, ADA, RELEASE_ACTION, comment.id)
    eventually(lambda: len(flow.calls("views.publish")) > before, what="Ada's Home tab again")
    assert _comments(flow)[0].claimed_by == LINUS

    before = len(flow.calls("views.publish"))
    _home_click(flow, LINUS, RELEASE_ACTION, comment.id)
    eventually(lambda: _comments(flow)[0].claimed_by is None, what="the claim let go")
    eventually(lambda: len(flow.calls("views.publish")) > before, what="Linus's Home tab again")
    assert _comments(flow)[0].claimed_at is None

    # And claimed again from the Home tab itself.
    assert "I'm on it" in json.dumps(_home(flow, ADA)["blocks"])
    _home_click(flow, ADA, CLAIM_ACTION, comment.id)
    eventually(lambda: _comments(flow)[0].claimed_by == ADA, what="Ada's claim from her Home tab")


def test_claimed_from_the_digest_which_then_shows_who_is_on_it(flow: Flow) -> None:
    comment = _flag(flow)
    assert flow.reply_text(ADA, "digest now").startswith("Posted the digest")
    [digest] = [m for m in _with_button(flow, CLAIM_ACTION) if "Weekly digest" in json.dumps(m["blocks"])]
    _click(flow, LINUS, digest, CLAIM_ACTION, comment.id)
    assert _comments(flow)[0].claimed_by == LINUS

    # The week's digest is posted once; its preview shows what the next one will say.
    [preview] = flow.command(ADA, "digest preview")
    shown = json.dumps(preview["blocks"])
    assert "linus is on it since" in shown
    assert f"<@{LINUS}>" not in shown
    assert f'"action_id": "{RELEASE_ACTION}"' in shown


def test_a_fresh_claim_holds_the_nudges_then_lapses_with_one_line_to_the_claimer(
    flow: Flow, later: Later
) -> None:
    comment = _flag(flow)
    schedules = flow.runtime.schedules
    assert schedules is not None
    with flow.sessions.begin() as s:
        channel = get_channel(s, TEAM, CHANNEL)
        assert channel is not None
        # Whatever day the test runs, nudges fall due a threshold on, not on the Monday after.
        channel.nudge_weekends = True

    def nudges() -> list[dict[str, Any]]:
        return [
            m for m in flow.bot_messages() if (m.get("metadata") or {}).get("event_type") == NUDGE_EVENT_TYPE
        ]

    # The first nudge comes a day on (the channel's threshold), with "I'm on it".
    later.ahead = timedelta(hours=25)
    schedules.run_sweep()
    [nudge] = eventually(nudges, what="the first nudge")
    _click(flow, GRACE, nudge, CLAIM_ACTION, comment.id)
    assert _comments(flow)[0].claimed_by == GRACE

    # The follow-up falls due while Grace's claim is fresh: nobody is nudged.
    later.ahead = timedelta(hours=48, minutes=30)
    schedules.run_sweep()
    assert len(nudges()) == 1
    assert _comments(flow)[0].claimed_by == GRACE

    # A day after the claim it lapses: two replicas sweep at once, Grace hears it once.
    later.ahead = timedelta(hours=25 + 24, minutes=1)
    replicas = [Releaser(flow.sessions, lambda _: flow.runtime.deps.client, later) for _ in range(2)]
    start = threading.Barrier(2)
    released: list[object] = []

    def sweep(releaser: Releaser) -> None:
        start.wait()
        released.extend(releaser.sweep(TEAM))

    threads = [threading.Thread(target=sweep, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(released) == 1
    assert _comments(flow)[0].claimed_by is None
    dms = [c["args"] for c in flow.calls("chat.postMessage") if c["args"].get("channel") == GRACE]
    assert [dm["text"] for dm in dms] == [
        f"Your claim on comment #{comment.id} (on <{CANONICAL}|Instagram post>) lapsed after 1 day; "
        "it is open to anyone again."
    ]
    # It is in the app's Messages tab with Grace, as Slack keeps it.
    assert any("lapsed after 1 day" in m["text"] for m in flow.messages(channel="D0GRACE001") or [])

    # Open to anyone again: the follow-up goes out on the next sweep, and no second line to Grace.
    schedules.run_sweep()
    eventually(lambda: len(nudges()) == 2, what="the follow-up")
    assert len([c for c in flow.calls("chat.postMessage") if c["args"].get("channel") == GRACE]) == 1


def test_ask_someone_else_opens_a_person_picker_and_says_so_in_the_thread(flow: Flow) -> None:
    comment = _flag(flow)
    [notice] = _with_button(flow, CLAIM_ACTION)
    _click(flow, GRACE, notice, CLAIM_ACTION, comment.id)

    assert "Ask someone else" in json.dumps(_home(flow, GRACE)["blocks"])
    clicked = _home_click(flow, GRACE, REASSIGN_ACTION, comment.id)
    opened = eventually(lambda: flow.calls("views.open"), what="the person picker")
    assert opened[-1]["args"]["trigger_id"] == clicked["trigger_id"]

    def submit(picked: str, by: str = GRACE) -> dict[str, Any]:
        values = {
            REASSIGN_MODAL_BLOCK: {REASSIGN_MODAL_INPUT: {"type": "users_select", "selected_user": picked}}
        }
        answer: dict[str, Any] = flow._post(
            "/_emulator/submit", {"team": TEAM, "user": by, "callback_id": REASSIGN_MODAL, "values": values}
        )
        return answer

    def refused(answer: dict[str, Any], reason: str) -> None:
        assert answer["ack"]["body"]["response_action"] == "errors"
        assert answer["ack"]["body"]["errors"][REASSIGN_MODAL_BLOCK].startswith(reason)
        assert answer["closed"] is False

    # A bot, or oneself, is refused under the picker, and the modal stays open.
    refused(submit(BOT), "Pick a person: a bot or a deactivated account can't answer a comment.")
    refused(submit(GRACE), "Pick someone else")
    assert _comments(flow)[0].claimed_by == GRACE

    accepted = submit(LINUS)
    assert accepted["closed"] is True
    [handed] = _comments(flow)
    assert (handed.claimed_by, handed.claim_assigned_by) == (LINUS, GRACE)
    asked = eventually(
        lambda: [m for m in flow.bot_messages() if "to take comment" in m.get("text", "")], what="the ask"
    )
    assert asked[-1]["text"] == f"<@{GRACE}> asked <@{LINUS}> to take comment #{comment.id}."
    assert asked[-1].get("thread_ts") == comment.thread_ts

    # Ada asks for Linus too, who is on it already: said under the picker, by his name.
    assert "linus is on it since" in json.dumps(_home(flow, ADA)["blocks"])
    _home_click(flow, ADA, REASSIGN_ACTION, comment.id)
    eventually(lambda: len(flow.calls("views.open")) == 2, what="Ada's person picker")
    refused(submit(LINUS, by=ADA), f"linus is already on comment #{comment.id}.")
    assert _comments(flow)[0].claim_assigned_by == GRACE


def test_the_claim_time_is_a_channel_setting_and_a_bad_one_records_nothing(flow: Flow) -> None:
    _flag(flow)
    assert "an “I'm on it” holds for 1 day" in flow.reply_text(ADA, "settings")
    assert "an “I'm on it” holds for 36 hours" in flow.reply_text(ADA, "settings claim 36h")
    saved = flow.reply_text(ADA, "settings claim 2d")
    assert saved.startswith("Saved.")
    assert "holds for 2 days" in saved
    for bad in ("claim 15d", "claim 0h", "claim two", "claim 2d threshold 0"):
        answer = flow.reply_text(ADA, f"settings {bad}")
        assert "isn't a" in answer, answer
    with flow.sessions.begin() as s:
        channel = get_channel(s, TEAM, CHANNEL)
        assert channel is not None
        assert (channel.claim_hours, channel.unanswered_threshold_hours) == (48, 24)
