"""Listeners called alone, as plain functions: ``Deps``, the event, a context and a fake Slack client.

No Bolt app, no HTTP: each listener is a module-level function that takes its dependencies as
arguments, so a test hands it what Bolt would and reads back the Slack calls it made.
"""

from __future__ import annotations

from typing import Any, cast

from slack_bolt import BoltContext
from slack_sdk import WebClient
from sqlalchemy import select

from bot.deps import Deps
from handlers.app_home import home_opened
from handlers.buttons import comment_id_of
from handlers.channel_events import joined, mentioned
from handlers.message_events import on_message
from storage.models import Channel, Post

TEAM, CHANNEL = "T0TWOWAY1", "C0SOCIAL01"
ADA, BOT_USER, BOT_ID = "U0ADA00001", "U0TWOWAY01", "B0TWOWAY01"
POST_URL = "https://x.com/acme/status/1790000000000000001"


class FakeSlack:
    """Stands in for `WebClient`: every method call is recorded and answers ``{"ok": true}``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((method, kwargs))
            return {"ok": True}

        return call

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]


def context() -> BoltContext:
    return BoltContext({"team_id": TEAM, "bot_user_id": BOT_USER, "bot_id": BOT_ID})


def test_a_mention_is_answered_in_its_thread(deps: Deps) -> None:
    slack = FakeSlack()

    mentioned(deps, {"channel": CHANNEL, "user": ADA, "ts": "1.000100"}, cast(WebClient, slack))

    [(method, args)] = slack.calls
    assert method == "chat_postMessage"
    assert (args["channel"], args["thread_ts"]) == (CHANNEL, "1.000100")
    assert (args["unfurl_links"], args["unfurl_media"]) == (False, False)
    assert f"<@{ADA}>" in args["text"]


def test_twoway_joining_a_channel_starts_its_ledger_and_says_hello_once(deps: Deps) -> None:
    slack = FakeSlack()

    joined(deps, {"user": ADA, "channel": CHANNEL}, context(), cast(WebClient, slack))
    assert slack.calls == []

    joined(deps, {"user": BOT_USER, "channel": CHANNEL}, context(), cast(WebClient, slack))
    assert slack.methods() == ["chat_postMessage"]
    with deps.sessions.begin() as s:
        assert s.scalars(select(Channel.channel_id).where(Channel.team_id == TEAM)).all() == [CHANNEL]


def test_the_home_tab_is_published_for_its_viewer_only_on_the_home_tab(deps: Deps) -> None:
    slack = FakeSlack()

    home_opened(deps, {"user": ADA, "tab": "messages"}, context(), cast(WebClient, slack))
    assert slack.calls == []

    home_opened(deps, {"user": ADA, "tab": "home"}, context(), cast(WebClient, slack))
    [(method, args)] = slack.calls
    assert method == "views_publish"
    assert args["user_id"] == ADA
    assert args["view"].to_dict()["type"] == "home"


def test_a_shared_link_is_recorded_and_marked_but_twoways_own_message_is_not(deps: Deps) -> None:
    slack = FakeSlack()
    message = {"type": "message", "channel": CHANNEL, "user": ADA, "ts": "1.000100", "text": f"<{POST_URL}>"}
    own = {**message, "user": BOT_USER, "bot_id": BOT_ID, "ts": "1.000200"}

    on_message(deps, own, context(), cast(WebClient, slack))
    assert slack.calls == []

    on_message(deps, message, context(), cast(WebClient, slack))
    # Marked, then its sharer is asked whether the post is the team's: the channel named no accounts.
    assert slack.calls[0] == ("reactions_add", {"channel": CHANNEL, "timestamp": "1.000100", "name": "eyes"})
    assert [(method, args["user"]) for method, args in slack.calls[1:]] == [("chat_postEphemeral", ADA)]
    with deps.sessions.begin() as s:
        [post] = s.scalars(select(Post).where(Post.team_id == TEAM)).all()
        assert (post.canonical_url, post.owner_user_id, post.channel_id) == (POST_URL, ADA, CHANNEL)


def test_a_button_value_names_a_comment_only_when_it_is_a_positive_bigint() -> None:
    assert comment_id_of("12") == 12
    assert [comment_id_of(v) for v in ("0", "-1", "1e3", "x", None, 12, "9" * 20, str(2**63))] == [None] * 8
