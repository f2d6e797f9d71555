"""Channels archived, renamed, deleted and left, and what Slack answers and sends then.

Errors from each method's Errors table on docs.slack.dev: `is_archived` (chat.postMessage,
chat.postEphemeral, reactions.add, conversations.join), `is_inactive` (chat.update). Events from
docs.slack.dev/reference/events; a bot removed from a channel gets `channel_left`, not
`member_left_channel` (slackapi/node-slack-sdk#931, slackapi/bolt-js#1847).
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from emulator import Emulator
from tests.support.emulator import get, http, post, refused

SOCIAL = "C0SOCIAL01"
ADA, BOT = "U0ADA00001", "U0TWOWAYBOT"


def events(emu: Emulator) -> list[dict[str, Any]]:
    return [e["payload"]["event"] for e in get(emu, "/_emulator/events")]


def test_an_archived_channel_refuses_posts_and_reactions_until_it_is_unarchived(
    emu: Emulator, client: WebClient
) -> None:
    ts = client.chat_postMessage(channel=SOCIAL, text="before")["ts"]
    bot = emu.state.teams["T0TWOWAY1"].bot_user_id

    post(emu, "/_emulator/archive", {"channel": SOCIAL, "user": ADA})

    assert refused(client, "chat_postMessage", channel=SOCIAL, text="after")["error"] == "is_archived"
    assert refused(client, "chat_postEphemeral", channel=SOCIAL, user=ADA, text="x")["error"] == "is_archived"
    assert refused(client, "chat_update", channel=SOCIAL, ts=ts, text="edited")["error"] == "is_inactive"
    assert (
        refused(client, "reactions_add", channel=SOCIAL, timestamp=ts, name="eyes")["error"] == "is_archived"
    )
    assert client.conversations_info(channel=SOCIAL)["channel"]["is_archived"] is True
    post(emu, "/_emulator/unarchive", {"channel": SOCIAL, "user": ADA})
    assert client.chat_postMessage(channel=SOCIAL, text="again")["ok"]

    archived, unarchived = events(emu)
    assert {k: archived[k] for k in ("type", "channel", "user")} == {
        "type": "channel_archive",
        "channel": SOCIAL,
        "user": ADA,
    }
    assert (unarchived["type"], unarchived["channel"], unarchived["user"]) == (
        "channel_unarchive",
        SOCIAL,
        ADA,
    )
    assert bot in emu.state.teams["T0TWOWAY1"].channels[SOCIAL].members


def test_a_rename_says_the_new_name_and_a_deleted_channel_is_not_found(
    emu: Emulator, client: WebClient
) -> None:
    post(emu, "/_emulator/rename", {"channel": SOCIAL, "name": "social-team"})
    assert client.conversations_info(channel=SOCIAL)["channel"]["name"] == "social-team"
    post(emu, "/_emulator/delete", {"channel": SOCIAL})
    assert refused(client, "chat_postMessage", channel=SOCIAL, text="gone?")["error"] == "channel_not_found"

    renamed, deleted = events(emu)
    assert (renamed["type"], renamed["channel"]["id"], renamed["channel"]["name"]) == (
        "channel_rename",
        SOCIAL,
        "social-team",
    )
    assert (deleted["type"], deleted["channel"]) == ("channel_deleted", SOCIAL)


def test_the_bot_removed_hears_channel_left_and_someone_else_leaving_is_member_left_channel(
    emu: Emulator, client: WebClient
) -> None:
    post(emu, "/_emulator/channel", {"id": "G0PRIVATE1", "name": "private", "is_private": True})
    post(emu, "/_emulator/leave", {"channel": SOCIAL, "user": ADA})
    post(emu, "/_emulator/leave", {"channel": SOCIAL})
    post(emu, "/_emulator/leave", {"channel": "G0PRIVATE1"})

    assert (
        refused(client, "chat_postMessage", channel=SOCIAL, text="still here?")["error"] == "not_in_channel"
    )
    someone, bot_public, bot_private = events(emu)
    assert (someone["type"], someone["user"], someone["channel_type"]) == ("member_left_channel", ADA, "C")
    assert (bot_public["type"], bot_public["channel"]) == ("channel_left", SOCIAL)
    assert (bot_private["type"], bot_private["channel"]) == ("group_left", "G0PRIVATE1")
    # Out of the channel, the bot hears nothing more from it.
    assert (
        post(emu, "/_emulator/archive", {"channel": "G0PRIVATE1"})["delivery"]["error"]
        == "bot_not_in_channel"
    )
    assert len(events(emu)) == 3


def test_leaving_a_channel_one_is_not_in_is_a_400(emu: Emulator) -> None:
    status, answer = http(emu, "POST", "/_emulator/leave", {"channel": SOCIAL, "user": "U0NOBODY01"})
    assert (status, answer["error"]) == (400, "not_in_channel")
