"""Signed interactions shaped unlike what twoway sends: each gets a clean answer and records nothing.

Slack signs what it is given, so a payload with the modal's inputs missing or a button's value mangled
still passes the signature check; the listener must answer it, never raise into a 500.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any, TypeVar

import pytest
from slack_bolt import App, BoltResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.render_ledger import ANSWERED_ACTION, DISMISSED_ACTION, FLAG_MODAL, SNOOZE_ACTION
from bot.render_numbers import (
    EDIT_NUMBERS_ACTION,
    LOG_NUMBERS_ACTION,
    NUMBERS_MODAL,
    REPLIES_AUDIENCE_ACTION,
    REPLIES_OURS_ACTION,
    UNDO_NUMBERS_ACTION,
)
from emulator import Emulator, EmulatorSettings
from storage.channels import ensure_channel
from storage.comments import flag_comment
from storage.models import Comment
from storage.posts import SharedLink, record_share
from storage.workspace_rows import count_rows
from tests.support.polling import eventually
from tests.support.signing import FORM, signed_request
from tests.support.wiring import SECRET, TEAM, wiring_app

CHANNEL = "C0SOCIAL01"
ADA, GRACE, LINUS = "U0ADA00001", "U0GRACE001", "U0LINUS001"
POST = "https://x.com/twoway/status/1790000000000000001"
SHARED_TS, COMMENT_TS = "1700000000.000100", "1700000001.000100"
NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)

T = TypeVar("T")

# Each payload gets its own trigger_id, so that no two bodies (and signatures) are ever the same.
_triggers = count(1)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(host="127.0.0.1", port=0, app_url=None, signing_secret=SECRET)) as emu:
        yield emu


@pytest.fixture
def app(emulator: Emulator, sessions: sessionmaker[Session]) -> App:
    return wiring_app(emulator, sessions, timezone="UTC")


def _open_comment(
    sessions: sessionmaker[Session],
    channel: str,
    *,
    url: str,
    text: str,
    author: str | None,
    flagged_by: str,
    message_ts: str | None,
) -> int:
    """An open comment on a tracked post of ``channel``."""
    link = SharedLink(url=url, canonical_url=url, platform="x")
    with sessions.begin() as s:
        ensure_channel(s, TEAM, channel, now=NOW)
        post, _ = record_share(
            s, TEAM, channel_id=channel, message_ts=SHARED_TS, user_id=ADA, link=link, shared_at=NOW
        )
        comment, _ = flag_comment(
            s,
            TEAM,
            post=post,
            channel_id=channel,
            text=text,
            author=author,
            flagged_by=flagged_by,
            flagged_at=NOW,
            message_ts=message_ts,
        )
        return comment.id


@pytest.fixture
def comment_id(sessions: sessionmaker[Session]) -> int:
    """An open comment on a tracked post: what a well-formed click or submission would change."""
    return _open_comment(
        sessions,
        CHANNEL,
        url=POST,
        text="Any plans for Android?",
        author=LINUS,
        flagged_by=GRACE,
        message_ts=COMMENT_TS,
    )


def _ledger(sessions: sessionmaker[Session]) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """The team's row counts (but the signatures the replay guard keeps), and each comment's state."""
    with sessions.begin() as s:
        comments = s.execute(
            select(
                Comment.id,
                Comment.state,
                Comment.answered_by,
                Comment.dismissed_by,
                Comment.snoozed_until,
                Comment.notice_ts,
            ).order_by(Comment.id)
        )
        rows = {table: n for table, n in count_rows(s, TEAM).items() if table != "seen_requests"}
        return rows, [tuple(row) for row in comments]


def _interact(app: App, payload: dict[str, Any]) -> BoltResponse:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    return app.dispatch(signed_request(body, secret=SECRET, content_type=FORM))


def _warnings(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]


def _calls(emulator: Emulator, method: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(emulator.base_url + "/_emulator/calls", timeout=5) as response:
        calls: list[dict[str, Any]] = json.loads(response.read())
    return [c for c in calls if c["method"] == method]


# The flag modal ---------------------------------------------------------------------------------

_INPUT_BLOCK = {
    "type": "input",
    "block_id": "post_url",
    "label": {"type": "plain_text", "text": "Link to the post it was left on"},
    "element": {"type": "plain_text_input", "action_id": "url"},
}


def submission(*, user: Any = None, **view: Any) -> dict[str, Any]:
    """The flag modal submitted with a link to the tracked post; ``view`` replaces parts of the view."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "twoway-demo"},
        "user": {"id": GRACE, "username": "grace", "team_id": TEAM} if user is None else user,
        "api_app_id": "A0TWOWAY1",
        "token": "legacy-verification-token",
        "trigger_id": f"1.2.{next(_triggers)}",
        "view": {
            "id": "V0FLAG0001",
            "type": "modal",
            "callback_id": FLAG_MODAL,
            "private_metadata": f"{CHANNEL}|{COMMENT_TS}",
            "blocks": [_INPUT_BLOCK],
            "state": {"values": {"post_url": {"url": {"type": "plain_text_input", "value": POST}}}},
            **view,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def _state(value: Any) -> dict[str, Any]:
    return {"values": {"post_url": {"url": value}}}


@pytest.mark.parametrize(
    "view",
    [
        pytest.param({"state": {}}, id="no-values"),
        pytest.param({"state": {"values": {}}}, id="no-block"),
        pytest.param({"state": {"values": {"post_url": {}}}}, id="no-input"),
        pytest.param({"state": {"values": []}}, id="values-a-list"),
        pytest.param({"state": {"values": {"post_url": "x"}}}, id="block-a-string"),
        pytest.param({"state": _state("https://x.com/twoway")}, id="input-a-string"),
        pytest.param({"state": _state({"type": "plain_text_input", "value": 17})}, id="value-a-number"),
        pytest.param({"state": _state({"type": "plain_text_input", "value": [POST]})}, id="value-a-list"),
        pytest.param(
            {"state": _state({"type": "plain_text_input", "value": {"url": POST}})}, id="value-dict"
        ),
    ],
)
def test_a_submission_without_a_usable_link_is_asked_for_one(
    app: App, sessions: sessionmaker[Session], comment_id: int, view: dict[str, Any]
) -> None:
    before = _ledger(sessions)
    response = _interact(app, submission(**view))
    assert response.status == 200, response.body
    answer = json.loads(response.body)
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["post_url"]
    assert _ledger(sessions) == before


@pytest.mark.parametrize(
    ("view", "user"),
    [
        pytest.param({"private_metadata": ""}, None, id="no-metadata"),
        pytest.param({"private_metadata": None}, None, id="metadata-null"),
        pytest.param({"private_metadata": 17}, None, id="metadata-a-number"),
        pytest.param({"private_metadata": "nonsense"}, None, id="metadata-nonsense"),
        pytest.param({"private_metadata": f"{CHANNEL}|"}, None, id="metadata-without-ts"),
        pytest.param({"private_metadata": f"|{COMMENT_TS}"}, None, id="metadata-without-channel"),
        pytest.param({}, {"name": "grace"}, id="user-without-id"),
        pytest.param({}, {"id": 17}, id="user-id-a-number"),
        pytest.param({"blocks": [], "state": {}}, None, id="not-our-modal"),
        pytest.param({"blocks": "x", "state": "x"}, None, id="blocks-and-state-strings"),
    ],
)
def test_a_submission_twoway_cannot_use_is_closed_and_logged(
    app: App,
    sessions: sessionmaker[Session],
    emulator: Emulator,
    comment_id: int,
    caplog: pytest.LogCaptureFixture,
    view: dict[str, Any],
    user: Any,
) -> None:
    caplog.set_level(logging.WARNING)
    before = _ledger(sessions)
    response = _interact(app, submission(user=user, **view))
    assert (response.status, response.body) == (200, "")
    # The listener warns before it acks, and does nothing after.
    assert _warnings(caplog, "handlers.shortcuts")
    assert _ledger(sessions) == before
    assert _calls(emulator, "conversations.history") == []


def test_a_well_formed_submission_still_flags_the_message(
    app: App, sessions: sessionmaker[Session], emulator: Emulator, comment_id: int
) -> None:
    # The comment fixture's message is flagged already; the modal flags another one in the channel.
    posted = _post_message(emulator, LINUS, "Can I use this offline?")
    response = _interact(app, submission(private_metadata=f"{CHANNEL}|{posted}"))
    assert (response.status, response.body) == (200, "")

    def flagged() -> list[tuple[Any, ...]]:
        with sessions.begin() as s:
            rows = s.execute(
                select(Comment.text, Comment.flagged_by, Comment.state).where(Comment.message_ts == posted)
            )
            return [tuple(row) for row in rows]

    assert eventually(flagged, what="the flag") == [("Can I use this offline?", GRACE, "open")]


def _post_message(emulator: Emulator, user: str, text: str) -> str:
    request = urllib.request.Request(
        emulator.base_url + "/_emulator/message",
        data=json.dumps({"team": TEAM, "channel": CHANNEL, "user": user, "text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["ts"])


# The buttons ------------------------------------------------------------------------------------


def click(action_id: str, *, container: Any = None, user: Any = None, **action: Any) -> dict[str, Any]:
    """A button on a notice in the channel clicked; ``action`` replaces parts of the button's action."""
    return {
        "type": "block_actions",
        "user": {"id": ADA, "username": "ada", "team_id": TEAM} if user is None else user,
        "api_app_id": "A0TWOWAY1",
        "token": "legacy-verification-token",
        "container": (
            {"type": "message", "message_ts": COMMENT_TS, "channel_id": CHANNEL, "is_ephemeral": False}
            if container is None
            else container
        ),
        "trigger_id": f"1.2.{next(_triggers)}",
        "team": {"id": TEAM, "domain": "twoway-demo"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": CHANNEL, "name": "social"},
        "state": {"values": {}},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "comment-1",
                "text": {"type": "plain_text", "text": "Mark answered", "emoji": True},
                "type": "button",
                "action_ts": "1700000002.000100",
                **action,
            }
        ],
    }


_NO_VALUE = object()

MALFORMED_VALUES = [
    pytest.param(_NO_VALUE, id="missing"),
    pytest.param(None, id="null"),
    pytest.param("", id="empty"),
    pytest.param("abc", id="letters"),
    pytest.param("12abc", id="digits-then-letters"),
    pytest.param(" 1", id="padded"),
    pytest.param("-1", id="negative"),
    pytest.param("0", id="zero"),
    pytest.param("1.0", id="decimal"),
    pytest.param("\u00b9", id="superscript-one"),
    pytest.param("\u0661", id="arabic-indic-one"),
    pytest.param("9" * 5000, id="5000-digits"),
    pytest.param(str(2**63), id="over-bigint"),
    pytest.param("9" * 20, id="20-digits"),
    pytest.param(1, id="a-number"),
    pytest.param(["1"], id="a-list"),
    pytest.param({"id": "1"}, id="an-object"),
]


@pytest.mark.parametrize("action_id", [ANSWERED_ACTION, DISMISSED_ACTION, SNOOZE_ACTION])
@pytest.mark.parametrize("value", MALFORMED_VALUES)
def test_a_button_with_a_malformed_value_is_answered_and_changes_nothing(
    app: App,
    sessions: sessionmaker[Session],
    emulator: Emulator,
    comment_id: int,
    caplog: pytest.LogCaptureFixture,
    action_id: str,
    value: Any,
) -> None:
    caplog.set_level(logging.WARNING)
    before = _ledger(sessions)
    action = {} if value is _NO_VALUE else {"value": value}
    response = _interact(app, click(action_id, **action))
    assert response.status == 200, response.body
    # Telling the person is the listener's last step.
    [told] = eventually(lambda: _calls(emulator, "chat.postEphemeral"), what="the answer")
    assert _ledger(sessions) == before
    assert _warnings(caplog, "handlers.buttons")
    assert (told["args"]["channel"], told["args"]["user"]) == (CHANNEL, ADA)
    assert "doesn't name a comment" in str(told["args"])


@pytest.mark.parametrize(
    "user",
    [pytest.param({"name": "ada"}, id="without-id"), pytest.param("U0ADA00001", id="a-string")],
)
def test_a_click_by_no_one_twoway_can_name_is_acked_and_changes_nothing(
    app: App,
    sessions: sessionmaker[Session],
    emulator: Emulator,
    comment_id: int,
    caplog: pytest.LogCaptureFixture,
    user: Any,
) -> None:
    caplog.set_level(logging.WARNING)
    before = _ledger(sessions)
    response = _interact(app, click(ANSWERED_ACTION, user=user, value=str(comment_id)))
    assert response.status == 200, response.body
    # Warning is all the listener does.
    eventually(lambda: _warnings(caplog, "handlers.buttons"), what="the warning")
    assert _ledger(sessions) == before
    assert _calls(emulator, "chat.postEphemeral") == []


@pytest.mark.parametrize(
    "container",
    [
        pytest.param("a string", id="a-string"),
        pytest.param({"type": "message", "channel_id": 17}, id="channel-a-number"),
        pytest.param({"type": "message", "is_ephemeral": True}, id="ephemeral-without-response-url"),
    ],
)
def test_a_click_from_nowhere_twoway_can_answer_is_acked_and_answered_nowhere(
    app: App, emulator: Emulator, comment_id: int, caplog: pytest.LogCaptureFixture, container: Any
) -> None:
    caplog.set_level(logging.WARNING)
    response = _interact(app, click(ANSWERED_ACTION, container=container, value="abc"))
    assert response.status == 200, response.body
    eventually(
        lambda: any("could not answer" in w for w in _warnings(caplog, "handlers.buttons")),
        what="the warning that the click can't be answered",
    )
    assert _calls(emulator, "chat.postEphemeral") == []


def test_a_well_formed_click_still_closes_the_comment(
    app: App, sessions: sessionmaker[Session], emulator: Emulator, comment_id: int
) -> None:
    response = _interact(app, click(ANSWERED_ACTION, value=str(comment_id)))
    assert response.status == 200, response.body
    [told] = eventually(lambda: _calls(emulator, "chat.postEphemeral"), what="the answer")
    assert told["args"]["user"] == ADA
    with sessions.begin() as s:
        comment = s.get(Comment, comment_id)
        assert comment is not None
        assert (comment.state, comment.answered_by) == ("answered", ADA)


def _comment_elsewhere(sessions: sessionmaker[Session], channel: str) -> int:
    """An open comment on a post of another channel, as a private channel's would be."""
    return _open_comment(
        sessions, channel, url=POST + "9", text="Private", author=None, flagged_by=ADA, message_ts=None
    )


@pytest.mark.parametrize("action_id", [ANSWERED_ACTION, DISMISSED_ACTION, SNOOZE_ACTION])
def test_a_button_in_one_channel_naming_another_channels_comment_is_no_such_comment(
    app: App, sessions: sessionmaker[Session], emulator: Emulator, comment_id: int, action_id: str
) -> None:
    # A signed click twoway never rendered: the #social notice's button with a private comment's id.
    private = _comment_elsewhere(sessions, "C0PRIV0001")
    before = _ledger(sessions)
    response = _interact(app, click(action_id, value=str(private)))
    assert response.status == 200, response.body
    [told] = eventually(lambda: _calls(emulator, "chat.postEphemeral"), what="the answer")
    assert f"There is no comment #{private} here." in str(told["args"])
    assert _ledger(sessions) == before


def test_a_home_tab_button_acts_only_on_the_clickers_own_comments_in_their_channels(
    app: App, sessions: sessionmaker[Session], emulator: Emulator, comment_id: int
) -> None:
    home = {"type": "view", "view_id": "V0HOME0001"}
    before = _ledger(sessions)
    # The comment is on ada's post: linus, in #social too, can't close it from his Home tab.
    response = _interact(
        app, click(ANSWERED_ACTION, container=home, user=_user(LINUS), value=str(comment_id))
    )
    assert response.status == 200, response.body
    eventually(lambda: _calls(emulator, "views.publish"), what="linus's Home tab again")
    assert _ledger(sessions) == before
    # Nor can ada close her own comment in a channel she isn't in.
    elsewhere = _comment_elsewhere(sessions, "C0PRIV0001")
    before = _ledger(sessions)
    _interact(app, click(ANSWERED_ACTION, container=home, value=str(elsewhere)))
    eventually(lambda: len(_calls(emulator, "views.publish")) == 2, what="ada's Home tab again")
    assert _ledger(sessions) == before
    # Her own comment in #social, she can.
    _interact(app, click(ANSWERED_ACTION, container=home, value=str(comment_id)))
    eventually(lambda: len(_calls(emulator, "views.publish")) == 3, what="ada's Home tab once more")
    assert _ledger(sessions) != before


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "team_id": TEAM}


# The message shortcut ---------------------------------------------------------------------------


def message_shortcut(**fields: Any) -> dict[str, Any]:
    """The flag shortcut on the flagged comment's message; ``fields`` replace parts of the payload."""
    return {
        "type": "message_action",
        "callback_id": "flag_unanswered_comment",
        "team": {"id": TEAM, "domain": "twoway-demo"},
        "user": {"id": GRACE, "name": "grace"},
        "channel": {"id": CHANNEL, "name": "social"},
        "message": {"type": "message", "user": LINUS, "text": "Any plans for Android?", "ts": COMMENT_TS},
        "trigger_id": f"1.2.{next(_triggers)}",
        "response_url": "https://hooks.slack.com/actions/T0TWOWAY1/1/x",
        "api_app_id": "A0TWOWAY1",
        "token": "legacy-verification-token",
        **fields,
    }


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"channel": None}, id="no-channel"),
        pytest.param({"channel": "C0SOCIAL01"}, id="channel-a-string"),
        pytest.param({"channel": {"id": 7}}, id="channel-id-a-number"),
        pytest.param({"message": None}, id="no-message"),
        pytest.param({"message": ["x"]}, id="message-a-list"),
        pytest.param({"message": {"text": "no ts"}}, id="message-without-ts"),
        pytest.param({"user": None}, id="no-user"),
        pytest.param({"user": {"name": "grace"}}, id="user-without-id"),
    ],
)
def test_a_shortcut_on_no_message_twoway_can_name_is_acked_and_changes_nothing(
    app: App,
    sessions: sessionmaker[Session],
    emulator: Emulator,
    comment_id: int,
    caplog: pytest.LogCaptureFixture,
    fields: dict[str, Any],
) -> None:
    caplog.set_level(logging.WARNING)
    before = _ledger(sessions)
    response = _interact(app, message_shortcut(**fields))
    assert response.status == 200
    eventually(lambda: _warnings(caplog, "handlers.shortcuts"), what="the shortcut's warning")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert _ledger(sessions) == before
    assert _calls(emulator, "views.open") == []


NUMBER_BUTTONS = [
    LOG_NUMBERS_ACTION,
    EDIT_NUMBERS_ACTION,
    UNDO_NUMBERS_ACTION,
    REPLIES_OURS_ACTION,
    REPLIES_AUDIENCE_ACTION,
]


@pytest.mark.parametrize("action_id", NUMBER_BUTTONS)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(_NO_VALUE, id="missing"),
        pytest.param(None, id="null"),
        pytest.param("abc", id="letters"),
        pytest.param("1:", id="half-a-pair"),
        pytest.param("9" * 5000, id="5000-digits"),
        pytest.param("9" * 20 + ":1", id="20-digits"),
        pytest.param(["1"], id="a-list"),
    ],
)
def test_a_numbers_button_with_a_malformed_value_is_answered_and_changes_nothing(
    app: App,
    sessions: sessionmaker[Session],
    emulator: Emulator,
    comment_id: int,
    action_id: str,
    value: Any,
) -> None:
    before = _ledger(sessions)
    action = {} if value is _NO_VALUE else {"value": value}
    response = _interact(app, click(action_id, **action))
    assert response.status == 200, response.body
    [told] = eventually(lambda: _calls(emulator, "chat.postEphemeral"), what="the answer")
    assert _ledger(sessions) == before
    assert (told["args"]["channel"], told["args"]["user"]) == (CHANNEL, ADA)
    assert "doesn't name" in str(told["args"]) or "isn't" in str(told["args"])
    assert _calls(emulator, "views.open") == []


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        "",
        "C0SOCIAL01",
        "[1]",
        '{"post": "x", "channel": "C0SOCIAL01"}',
        '{"post": 999, "channel": "C0SOCIAL01"}',
    ],
)
def test_a_numbers_submission_twoway_cannot_place_records_nothing(
    app: App, sessions: sessionmaker[Session], comment_id: int, metadata: str | None
) -> None:
    before = _ledger(sessions)
    view = {
        "id": "V0NUMBERS1",
        "type": "modal",
        "callback_id": NUMBERS_MODAL,
        "private_metadata": metadata,
        "state": {"values": {"comments": {"count": {"type": "plain_text_input", "value": "12"}}}},
    }
    payload = {
        "type": "view_submission",
        "user": {"id": ADA, "username": "ada", "team_id": TEAM},
        "api_app_id": "A0TWOWAY1",
        "token": "legacy-verification-token",
        "trigger_id": f"1.2.{next(_triggers)}",
        "team": {"id": TEAM, "domain": "twoway-demo"},
        "view": view,
    }
    response = _interact(app, payload)
    assert response.status == 200, response.body
    assert _ledger(sessions) == before
