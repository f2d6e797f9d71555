"""Contract tests: the payloads Slack documents (`tests/payloads/slack/`, each file's source in its
README), fed to twoway, and held against the ones the emulator sends.

Feeding: each payload goes to the real front app as Slack sends it (a signed JSON body for events, a
`payload=` form field for interactions, a form for the slash command), and the test reads what twoway
recorded in the ledger or asked of Slack. The emulator plays the rest of the workspace: it holds the
messages the payloads point at, at the same ts.

Shape: the emulator's own events and interactions, as it delivers them, must carry every key Slack
documents as always there, no key Slack doesn't document, and the same JSON types, all the way down.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import Ack, App, BoltResponse
from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.departures import KEEP_AFTER_LEAVING
from bot.ownership import NOT_OURS_ACTION
from emulator import Emulator, EmulatorSettings
from storage.channels import ensure_channel
from storage.models import Channel, Comment, Post, Snapshot
from tests.support.emulator import BoltOverHttp, get, post
from tests.support.inbox import settled_events
from tests.support.polling import eventually
from tests.support.signing import FORM, signed_request
from tests.support.wiring import SECRET, TEAM, wiring_app

SLACK = Path(__file__).parent / "slack"

SOCIAL, PRIVATE = "C0SOCIAL01", "G0PRIVATE1"
ADA, GRACE, LINUS, BOT_USER = "U0ADA00001", "U0GRACE001", "U0LINUS001", "U0TWOWAYBOT"
POST_URL = "https://x.com/twoway/status/1790000000000000001"
SECOND_URL = "https://x.com/twoway/status/1790000000000000002"
# The messages the payloads point at: Ada's post, Linus's thread reply quoting an audience comment,
# and a comment Grace pasted on its own.
POST_TS, COMMENT_TS, LOOSE_TS = "1712345678.123456", "1712345700.000300", "1712345720.000500"


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((SLACK / f"{name}.json").read_text())
    return payload


def test_every_payload_file_is_named_in_the_readme() -> None:
    readme = (SLACK / "README.md").read_text()
    assert sorted(p.name for p in SLACK.glob("*.json") if p.name not in readme) == []


# Feeding twoway ---------------------------------------------------------------------------------


@dataclass
class Twoway:
    """The front app on a test database, the emulator as its Slack, and how many events it was fed."""

    app: App
    emulator: Emulator
    sessions: sessionmaker[Session]
    fed: int = 0

    def event(self, name: str) -> dict[str, Any]:
        """Deliver an event file as Slack does and wait until its listeners have finished."""
        payload = load(name)
        response = self.app.dispatch(signed_request(json.dumps(payload), secret=SECRET))
        assert response.status == 200, (name, response.body)
        self.fed += 1
        claims = eventually(
            lambda: settled_events(self.sessions, TEAM, expected=self.fed), what=f"{name} handled"
        )
        assert [c.state for c in claims] == ["done"] * self.fed
        return payload

    def interact(self, payload: dict[str, Any]) -> BoltResponse:
        """A button, shortcut or submission, posted as Slack posts it: JSON in a `payload` form field."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        response = self.app.dispatch(signed_request(body, secret=SECRET, content_type=FORM))
        assert response.status == 200, response.body
        return response

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [c for c in get(self.emulator, "/_emulator/calls") if c["method"] == method]

    def live_response_url(self) -> str:
        """A response_url the emulator answers, to stand for hooks.slack.com in a payload."""
        form = {"channel": SOCIAL, "user": ADA, "command": "/twoway", "text": "", "wait": 0}
        url: str = post(self.emulator, "/_emulator/command", form)["response_url"]
        return url

    def rows(self, *columns: Any) -> list[tuple[Any, ...]]:
        with self.sessions.begin() as s:
            return [tuple(row) for row in s.execute(select(*columns))]


@pytest.fixture
def twoway(sessions: sessionmaker[Session]) -> Iterator[Twoway]:
    settings = EmulatorSettings(host="127.0.0.1", port=0, app_url=None, signing_secret=SECRET)
    with Emulator(settings) as emulator:
        say = {"channel": SOCIAL, "user": ADA, "text": f"New post is up: {POST_URL}", "ts": POST_TS}
        post(emulator, "/_emulator/message", say)
        comment = "From LinkedIn: Any plans for Android?"
        reply = {"channel": SOCIAL, "user": LINUS, "text": comment, "thread_ts": POST_TS, "ts": COMMENT_TS}
        post(emulator, "/_emulator/message", reply)
        loose = "Someone asked on LinkedIn: will there be a webinar?"
        post(
            emulator, "/_emulator/message", {"channel": SOCIAL, "user": GRACE, "text": loose, "ts": LOOSE_TS}
        )
        yield Twoway(wiring_app(emulator, sessions, timezone="UTC"), emulator, sessions)


@pytest.mark.parametrize(
    ("name", "url", "ts"),
    [
        ("event_message", POST_URL, POST_TS),
        ("event_message_me_message", POST_URL, "1712345785.000950"),
        ("event_message_thread_broadcast", SECOND_URL, "1712345765.000750"),
        ("event_message_file_share", SECOND_URL, "1712345770.000800"),
    ],
)
def test_a_message_sharing_a_post_records_it(twoway: Twoway, name: str, url: str, ts: str) -> None:
    twoway.event(name)
    assert twoway.rows(Post.canonical_url, Post.owner_user_id, Post.channel_id, Post.message_ts) == [
        (url, ADA, SOCIAL, ts)
    ]
    [marked] = twoway.calls("reactions.add")
    assert (marked["args"]["timestamp"], marked["args"]["name"]) == (ts, "eyes")


@pytest.mark.parametrize(
    ("name", "counts", "by"),
    [
        ("event_message_thread_reply", (14, 3, 20, 51), ADA),
        ("event_message_bot_message", (12, 2, 9, 40), "B0STATS001"),
    ],
)
def test_a_summary_in_the_posts_thread_records_a_snapshot(
    twoway: Twoway, name: str, counts: tuple[int, ...], by: str
) -> None:
    twoway.event("event_message")
    twoway.event(name)
    columns = (Snapshot.comments_received, Snapshot.replies_sent, Snapshot.shares, Snapshot.likes)
    assert twoway.rows(*columns, Snapshot.recorded_by) == [(*counts, by)]


def test_an_edit_that_links_a_second_post_records_it(twoway: Twoway) -> None:
    twoway.event("event_message")
    twoway.event("event_message_changed")
    shared = twoway.rows(Post.canonical_url, Post.message_ts, Post.withdrawn_at)
    assert sorted(shared) == [(POST_URL, POST_TS, None), (SECOND_URL, POST_TS, None)]


def test_deleting_the_sharing_message_withdraws_its_post(twoway: Twoway) -> None:
    twoway.event("event_message")
    twoway.event("event_message_deleted")
    [(url, withdrawn_at)] = twoway.rows(Post.canonical_url, Post.withdrawn_at)
    assert url == POST_URL
    assert withdrawn_at is not None


def test_the_flag_reaction_on_a_thread_reply_records_a_comment_and_taking_it_back_withdraws_it(
    twoway: Twoway,
) -> None:
    twoway.event("event_message")
    twoway.event("event_reaction_added")
    columns = (Comment.text, Comment.flagged_by, Comment.state, Comment.message_ts)
    assert twoway.rows(*columns) == [("From LinkedIn: Any plans for Android?", GRACE, "open", COMMENT_TS)]
    [notice] = twoway.calls("chat.postMessage")
    assert notice["args"]["thread_ts"] == POST_TS

    twoway.event("event_reaction_removed")
    assert twoway.rows(func.count(Comment.id)) == [(0,)]


def test_twoway_added_to_a_channel_starts_its_ledger_and_says_hello(twoway: Twoway) -> None:
    twoway.event("event_member_joined_channel")
    assert twoway.rows(Channel.team_id, Channel.channel_id) == [(TEAM, SOCIAL)]
    [hello] = twoway.calls("chat.postMessage")
    assert hello["args"]["channel"] == SOCIAL


def _known_channels(twoway: Twoway, *, archived: bool) -> None:
    """#social and the private channel, as twoway knows them after joining each."""
    with twoway.sessions.begin() as s:
        for channel_id in (SOCIAL, PRIVATE):
            ensure_channel(s, TEAM, channel_id, now=datetime.now(UTC)).is_archived = archived


@pytest.mark.parametrize(
    ("name", "channel_id", "archived_before", "after"),
    [
        ("event_channel_left", SOCIAL, False, (False, False)),
        ("event_group_left", PRIVATE, False, (False, False)),
        ("event_channel_archive", SOCIAL, False, (True, True)),
        ("event_group_archive", PRIVATE, False, (True, True)),
        ("event_channel_unarchive", SOCIAL, True, (True, False)),
        ("event_group_unarchive", PRIVATE, True, (True, False)),
        # Someone else leaving changes nothing of twoway's.
        ("event_member_left_channel", SOCIAL, False, (True, False)),
    ],
)
def test_a_channel_event_stops_or_restarts_its_digests_and_nudges(
    twoway: Twoway, name: str, channel_id: str, archived_before: bool, after: tuple[bool, bool]
) -> None:
    _known_channels(twoway, archived=archived_before)
    twoway.event(name)
    states = dict(
        (row[0], row[1:])
        for row in twoway.rows(Channel.channel_id, Channel.bot_is_member, Channel.is_archived)
    )
    assert states[channel_id] == after
    other = PRIVATE if channel_id == SOCIAL else SOCIAL
    assert states[other] == (True, archived_before), "only the channel the event names"


@pytest.mark.parametrize(
    ("name", "channel_id"), [("event_channel_deleted", SOCIAL), ("event_group_deleted", PRIVATE)]
)
def test_a_deleted_channel_takes_its_ledger_with_it(twoway: Twoway, name: str, channel_id: str) -> None:
    _known_channels(twoway, archived=False)
    twoway.event("event_message")
    twoway.event(name)
    kept = {SOCIAL, PRIVATE} - {channel_id}
    assert {row[0] for row in twoway.rows(Channel.channel_id)} == kept
    assert twoway.rows(func.count(Post.id)) == [(0 if channel_id == SOCIAL else 1,)]


def test_a_mention_is_answered_in_its_thread(twoway: Twoway) -> None:
    mention = load("event_app_mention")["event"]
    said = {"channel": SOCIAL, "user": ADA, "text": mention["text"], "ts": mention["ts"]}
    post(twoway.emulator, "/_emulator/message", said)
    twoway.event("event_app_mention")
    [answer] = twoway.calls("chat.postMessage")
    assert (answer["args"]["channel"], answer["args"]["thread_ts"]) == (SOCIAL, mention["ts"])


def test_opening_the_home_tab_publishes_it(twoway: Twoway) -> None:
    twoway.event("event_app_home_opened")
    [published] = twoway.calls("views.publish")
    assert published["args"]["user_id"] == ADA


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("event_app_uninstalled", "twoway was uninstalled"),
        ("event_tokens_revoked", "twoway's bot token was revoked"),
    ],
)
def test_losing_the_workspace_is_said_in_the_log(
    twoway: Twoway, caplog: pytest.LogCaptureFixture, name: str, why: str
) -> None:
    # One configured bot token: there is no installation to delete, so twoway says what happened, and
    # when the workspace's ledger goes.
    caplog.set_level(logging.WARNING, logger="bot.installs")
    twoway.event(name)
    purge_on = f"{datetime.now(UTC) + KEEP_AFTER_LEAVING:%Y-%m-%d}"
    [said] = [r.getMessage() for r in caplog.records if r.name == "bot.installs"]
    assert said.startswith(
        f"{why} in workspace {TEAM}: SLACK_BOT_TOKEN no longer works there; its schedules stopped, and its "
        f"ledger is deleted on {purge_on} "
    ), said
    assert said.endswith(" UTC unless twoway is started with a new token of that workspace")


def test_the_log_command_records_a_snapshot_of_the_post(twoway: Twoway) -> None:
    twoway.event("event_message")
    form = {**load("command_twoway"), "response_url": twoway.live_response_url()}
    body = urllib.parse.urlencode(form)
    response = twoway.app.dispatch(signed_request(body, secret=SECRET, content_type=FORM))
    assert response.status == 200, response.body

    [answer] = eventually(lambda: twoway.calls("response_url"), what="the answer")
    assert answer["args"]["response_type"] == "ephemeral"
    assert twoway.rows(Post.canonical_url, Post.owner_user_id) == [(POST_URL, ADA)]
    assert twoway.rows(Snapshot.comments_received, Snapshot.recorded_by) == [(3, ADA)]


def test_the_shortcut_flags_the_thread_reply(twoway: Twoway) -> None:
    twoway.event("event_message")
    shortcut = {**load("shortcut_flag_unanswered_comment"), "response_url": twoway.live_response_url()}
    twoway.interact(shortcut)
    flagged = eventually(
        lambda: twoway.rows(Comment.text, Comment.flagged_by, Comment.message_ts), what="flag"
    )
    assert flagged == [("From LinkedIn: Any plans for Android?", GRACE, COMMENT_TS)]


def test_the_modal_flags_the_message_on_the_post_it_names(twoway: Twoway) -> None:
    twoway.event("event_message")
    response = twoway.interact(load("view_submission_flag_comment_modal"))
    assert response.body == ""
    flagged = eventually(
        lambda: twoway.rows(Comment.text, Comment.flagged_by, Comment.message_ts), what="flag"
    )
    assert flagged == [("Someone asked on LinkedIn: will there be a webinar?", GRACE, LOOSE_TS)]


@pytest.mark.parametrize(
    ("name", "state", "answered_by", "dismissed_by", "snoozed", "answered_in"),
    [
        ("block_actions_comment_answered", "answered", ADA, None, False, "chat.postEphemeral"),
        ("block_actions_comment_dismissed", "dismissed", None, ADA, False, "chat.postEphemeral"),
        ("block_actions_comment_snooze", "open", None, None, True, "chat.postEphemeral"),
        ("block_actions_comment_answered_home", "answered", ADA, None, False, "views.publish"),
    ],
)
def test_a_button_on_a_comment_acts_on_it(
    twoway: Twoway,
    name: str,
    state: str,
    answered_by: str | None,
    dismissed_by: str | None,
    snoozed: bool,
    answered_in: str,
) -> None:
    twoway.event("event_message")
    twoway.event("event_reaction_added")
    [(comment_id,)] = twoway.rows(Comment.id)
    click = load(name)
    # The comment's id is the ledger's to give; the button carries it as its value.
    click["actions"][0]["value"] = str(comment_id)
    if "response_url" in click:
        click["response_url"] = twoway.live_response_url()
    twoway.interact(click)

    # The share's own note to its sharer (asking whether the post is the team's) is no answer to the click.
    [told] = eventually(
        lambda: [c for c in twoway.calls(answered_in) if NOT_OURS_ACTION not in json.dumps(c["args"])],
        what="the answer",
    )
    assert (told["args"]["user"] if "user" in told["args"] else told["args"]["user_id"]) == ADA
    [(now_state, by, dismissed, snoozed_until)] = twoway.rows(
        Comment.state, Comment.answered_by, Comment.dismissed_by, Comment.snoozed_until
    )
    assert (now_state, by, dismissed, snoozed_until is not None) == (
        state,
        answered_by,
        dismissed_by,
        snoozed,
    )


# The emulator's shapes ----------------------------------------------------------------------------

# Keys Slack documents as sometimes absent: the emulator may leave them out.
OPTIONAL = frozenset(
    {
        # bolt-js's EnvelopedEvent: present on most deliveries, not all.
        "context_team_id",
        "context_enterprise_id",
        "is_ext_shared_channel",
        # A message event: client_msg_id only when a person typed it, team and blocks not on every
        # client's messages, thread fields only in threads, edited only once edited.
        "event.client_msg_id",
        "event.team",
        "event.blocks",
        "event.thread_ts",
        "event.parent_user_id",
        *(
            f"event.{inner}.{key}"
            for inner in ("message", "previous_message")
            for key in ("client_msg_id", "team", "blocks", "thread_ts", "parent_user_id", "edited")
        ),
        # A text object's emoji is optional (the text object reference); Slack's views show the app's.
        "view.title.emoji",
        "view.close.emoji",
        "view.submit.emoji",
        # block_actions: a message in a thread names its thread; only styled buttons have a style.
        "container.thread_ts",
        "actions[].style",
    }
)
# And those only some payloads may leave out.
OPTIONAL_IN = {
    # "Some messages aren't authored by users … reaction_added events … will not include an item_user".
    "event_reaction_added": frozenset({"event.item_user"}),
    "event_reaction_removed": frozenset({"event.item_user"}),
    # inviter only when someone invited them.
    "event_member_joined_channel": frozenset({"event.inviter", "event.enterprise"}),
    # `is_moved?` in channel_archive; group_archive's is always there.
    "event_channel_archive": frozenset({"event.is_moved"}),
}
# Keys whose value Slack documents as an object or null: enterprises outside Enterprise Grid, and a
# view's title, close and submit (the view object reference: they are for modals, not Home tabs).
NULLABLE = frozenset(
    {
        "enterprise",
        "context_enterprise_id",
        "authorizations[].enterprise_id",
        "view.title",
        "view.close",
        "view.submit",
        "view.previous_view_id",
    }
)
# Block Kit (checked against Slack's rules by emulator/block_kit.py) and icon maps keyed by size vary
# by message: only their JSON type is compared.
OPAQUE = frozenset({"blocks", "icons"})


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def shape_differences(
    documented: Any, emulated: Any, optional: frozenset[str] = OPTIONAL, path: str = ""
) -> list[str]:
    """Where ``emulated`` has another shape than ``documented``: keys missing (unless OPTIONAL) or not
    documented, and JSON types that differ (NULLABLE keys may be null), recursively; every element of a
    list is compared with the documented list's first."""
    name = path.rsplit(".", 1)[-1].removesuffix("[]")
    if path in NULLABLE and None in (documented, emulated):
        return []
    if _kind(documented) != _kind(emulated):
        return [f"{path}: {_kind(emulated)}, Slack's is {_kind(documented)}"]
    if name in OPAQUE:
        return []
    if isinstance(documented, dict):
        found = []
        for key in sorted(documented.keys() | emulated.keys()):
            at = f"{path}.{key}" if path else key
            if key not in emulated:
                found += [] if at in optional else [f"{at}: missing"]
            elif key not in documented:
                found.append(f"{at}: not in Slack's payload")
            else:
                found += shape_differences(documented[key], emulated[key], optional, at)
        return found
    if isinstance(documented, list) and documented:
        return [d for item in emulated for d in shape_differences(documented[0], item, optional, f"{path}[]")]
    return []


@pytest.mark.parametrize(
    ("documented", "emulated", "differences"),
    [
        ({"a": 1, "b": "x"}, {"a": 2, "b": "y"}, []),
        ({"a": 1}, {}, ["a: missing"]),
        ({}, {"a": 1}, ["a: not in Slack's payload"]),
        ({"a": {"b": [{"c": 1}]}}, {"a": {"b": [{"c": "1"}]}}, ["a.b[].c: str, Slack's is int"]),
        ({"context_team_id": "T1"}, {}, []),
        ({"enterprise": {"id": "E1"}}, {"enterprise": None}, []),
        ({"team": {"id": "T1"}}, {"team": None}, ["team: null, Slack's is dict"]),
        ({"blocks": [{"type": "section"}]}, {"blocks": [{"type": "rich_text", "elements": []}]}, []),
    ],
)
def test_shapes_are_compared_key_by_key_and_type_by_type(
    documented: Any, emulated: Any, differences: list[str]
) -> None:
    assert shape_differences(documented, emulated) == differences


def differences_from(name: str, emulated: dict[str, Any]) -> list[str]:
    """How an emulated payload differs from the documented one in ``name``.json."""
    return shape_differences(load(name), emulated, OPTIONAL | OPTIONAL_IN.get(name, frozenset()))


def _events(emu: Emulator) -> list[dict[str, Any]]:
    return [e["payload"] for e in get(emu, "/_emulator/events")]


def _file_of(payload: dict[str, Any]) -> str:
    event = payload["event"]
    subtype = event.get("subtype")
    if event["type"] == "message" and subtype in ("message_changed", "message_deleted"):
        return f"event_{subtype}"
    if event["type"] == "message" and subtype:
        return f"event_message_{subtype}"
    if event["type"] == "message" and "thread_ts" in event:
        return "event_message_thread_reply"
    return f"event_{event['type']}"


def _originate_events(emu: Emulator) -> None:
    """People act in the emulator's world, and the bot leaves: every event it has an act for is sent."""
    said = {"channel": SOCIAL, "user": ADA, "text": f"New post: {POST_URL}"}
    shared = post(emu, "/_emulator/message", said)
    summary = {"channel": SOCIAL, "user": ADA, "text": "14 comments, 3 replies", "thread_ts": shared["ts"]}
    reply = post(emu, "/_emulator/message", summary)
    # An edit of a message without replies: a thread's parent also carries its thread summary.
    alone = post(emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "draft"})
    post(
        emu, "/_emulator/message_changed", {"channel": SOCIAL, "ts": alone["ts"], "text": f"Out: {POST_URL}"}
    )
    reacted = {"channel": SOCIAL, "ts": reply["ts"], "user": GRACE, "reaction": "speech_balloon"}
    post(emu, "/_emulator/reaction", reacted)
    post(emu, "/_emulator/reaction", {**reacted, "removed": True})
    oops = post(emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "oops"})
    post(emu, "/_emulator/message_deleted", {"channel": SOCIAL, "ts": oops["ts"]})
    post(emu, "/_emulator/join", {"channel": SOCIAL, "user": "U0NEWCOMER"})
    post(emu, "/_emulator/leave", {"channel": SOCIAL, "user": LINUS})
    for private in (PRIVATE, "G0PRIVATE2"):
        post(emu, "/_emulator/channel", {"id": private, "name": private.lower(), "is_private": True})
    post(emu, "/_emulator/channel", {"id": "C0GONE0001", "name": "gone"})
    for act, channel in [
        ("archive", SOCIAL),
        ("unarchive", SOCIAL),
        ("delete", "C0GONE0001"),
        ("archive", PRIVATE),
        ("unarchive", PRIVATE),
        ("delete", PRIVATE),
    ]:
        post(emu, f"/_emulator/{act}", {"channel": channel, "user": ADA})
    post(emu, "/_emulator/leave", {"channel": "G0PRIVATE2"})
    post(emu, "/_emulator/leave", {"channel": SOCIAL})


# What the emulator has no act for: a mention, the Home tab, installs ending, and the message subtypes
# people make with clients and integrations the emulator doesn't play.
NOT_ORIGINATED = frozenset(
    {
        "event_app_mention",
        "event_app_home_opened",
        "event_app_uninstalled",
        "event_tokens_revoked",
        "event_message_me_message",
        "event_message_file_share",
        "event_message_thread_broadcast",
        "event_message_bot_message",
    }
)


def test_the_events_the_emulator_sends_have_slacks_shape(bolt_http: BoltOverHttp) -> None:
    _originate_events(bolt_http.emu)
    emulated = {_file_of(p): p for p in _events(bolt_http.emu)}
    files = {p.stem for p in SLACK.glob("event_*.json")}
    assert sorted(emulated) == sorted(files - NOT_ORIGINATED)
    found = {name: differences_from(name, emulated[name]) for name in sorted(emulated)}
    assert {name: d for name, d in found.items() if d} == {}


@pytest.mark.parametrize("name", sorted(NOT_ORIGINATED))
def test_the_emulators_envelope_has_slacks_shape(emu_alone: Emulator, name: str) -> None:
    documented = load(name)
    [sent] = [post(emu_alone, "/_emulator/event", {"event": documented["event"]})]
    [envelope] = _events(emu_alone)
    assert sent["event_id"] == envelope["event_id"]
    del documented["event"], envelope["event"]
    assert shape_differences(documented, envelope) == []


@pytest.fixture
def emu_alone() -> Iterator[Emulator]:
    """An emulator with no app to deliver to: it keeps what it would have sent."""
    with Emulator(EmulatorSettings(host="127.0.0.1", port=0, app_url=None)) as emulator:
        yield emulator


NOTICE_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Comment #1 is waiting for an answer."}},
    {
        "type": "actions",
        "block_id": "comment-1",
        "elements": [
            {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": "1",
                **({"style": "primary"} if action_id == "comment_answered" else {}),
            }
            for action_id, label in [
                ("comment_answered", "Mark answered"),
                ("comment_dismissed", "No reply needed"),
                ("comment_snooze", "Snooze 1 day"),
            ]
        ],
    },
]
FLAG_MODAL = {
    "type": "modal",
    "callback_id": "flag_comment_modal",
    "title": {"type": "plain_text", "text": "Flag comment"},
    "submit": {"type": "plain_text", "text": "Flag"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "private_metadata": f"{SOCIAL}|{LOOSE_TS}",
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Which post was this comment left on?"}},
        {
            "type": "input",
            "block_id": "post_url",
            "label": {"type": "plain_text", "text": "Link to the post it was left on"},
            "element": {"type": "plain_text_input", "action_id": "url"},
        },
    ],
}


@dataclass
class Heard:
    """What the emulator delivered to the listening app, by the file it should look like."""

    bodies: queue.Queue[tuple[str, dict[str, Any]]] = field(default_factory=queue.Queue)

    def all(self, expected: int) -> dict[str, dict[str, Any]]:
        got: dict[str, dict[str, Any]] = {}
        for _ in range(expected):
            try:
                name, body = self.bodies.get(timeout=10)
            except queue.Empty:
                raise AssertionError(f"heard only {sorted(got)}") from None
            got[name] = body
        return got


def test_the_interactions_the_emulator_sends_have_slacks_shape(bolt_http: BoltOverHttp) -> None:
    app, emu, heard = bolt_http.app, bolt_http.emu, Heard()

    @app.command("/twoway")
    def command(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        heard.bodies.put(("command_twoway", body))

    @app.shortcut("flag_unanswered_comment")
    def shortcut(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=FLAG_MODAL)
        heard.bodies.put(("shortcut_flag_unanswered_comment", body))

    @app.action(re.compile("comment_(answered|dismissed|snooze)"))
    def clicked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        home = "_home" if body["container"]["type"] == "view" else ""
        heard.bodies.put((f"block_actions_{body['actions'][0]['action_id']}{home}", body))

    @app.view("flag_comment_modal")
    def submitted(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        heard.bodies.put(("view_submission_flag_comment_modal", body))

    client = WebClient(token="xoxb-test", base_url=emu.api_url)
    shared = post(
        emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": f"New post: {POST_URL}"}
    )
    asked = {"channel": SOCIAL, "user": LINUS, "text": "Any plans for Android?", "thread_ts": shared["ts"]}
    comment = post(emu, "/_emulator/message", asked)
    notice = client.chat_postMessage(
        channel=SOCIAL, thread_ts=shared["ts"], text="Comment #1 is waiting", blocks=NOTICE_BLOCKS
    )
    client.views_publish(user_id=ADA, view={"type": "home", "blocks": NOTICE_BLOCKS})

    post(
        emu,
        "/_emulator/command",
        {"channel": SOCIAL, "user": ADA, "command": "/twoway", "text": "help", "wait": 0},
    )
    shortcut_at = {"channel": SOCIAL, "user": GRACE, "message_ts": comment["ts"], "wait": 0}
    post(emu, "/_emulator/shortcut", {**shortcut_at, "callback_id": "flag_unanswered_comment"})
    for action_id in ("comment_answered", "comment_dismissed", "comment_snooze"):
        click = {"channel": SOCIAL, "user": ADA, "message_ts": notice["ts"], "action_id": action_id}
        post(emu, "/_emulator/action", {**click, "wait": 0})
    post(emu, "/_emulator/action", {"user": ADA, "view": "home", "action_id": "comment_answered", "wait": 0})
    post(emu, "/_emulator/submit", {"user": GRACE, "values": {"post_url": {"url": POST_URL}}})

    emulated = heard.all(7)
    files = sorted(p.stem for p in SLACK.glob("*.json") if not p.stem.startswith("event_"))
    assert sorted(emulated) == files
    found = {name: differences_from(name, emulated[name]) for name in files}
    assert {name: d for name, d in found.items() if d} == {}
