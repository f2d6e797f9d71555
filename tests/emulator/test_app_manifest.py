"""The installed app as Slack sees it: the bot scopes its manifest grants, and its Messages tab.

Scopes per method are from the Facts box of each method page on docs.slack.dev; `missing_scope`'s
`needed` and `provided` are comma-separated, as in Slack's own answers quoted in slackapi issues.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from slack_sdk import WebClient

from emulator import Emulator, EmulatorSettings
from emulator.app_manifest import DEFAULT_MANIFEST, AppManifest
from tests.support.emulator import get, post, refused

ADA = "U0ADA00001"
SOCIAL = "C0SOCIAL01"
PRIVATE = "G0PRIVATE1"


@contextmanager
def slack(scopes: set[str], *, messages_tab: bool = True) -> Iterator[tuple[Emulator, WebClient]]:
    """An emulator whose installed app was granted ``scopes``, with a private channel beside #social."""
    manifest = AppManifest(bot_scopes=frozenset(scopes), messages_tab=messages_tab)
    with Emulator(EmulatorSettings(manifest=manifest)) as emu:
        post(emu, "/_emulator/channel", {"id": PRIVATE, "name": "private", "is_private": True})
        yield emu, WebClient(token="xoxb-test", base_url=emu.api_url)


def test_a_method_without_its_scope_answers_missing_scope_naming_what_is_needed_and_provided() -> None:
    with slack({"reactions:read", "channels:history"}) as (emu, client):
        answer = refused(client, "chat_postMessage", channel=SOCIAL, text="hi")
        assert answer == {
            "ok": False,
            "error": "missing_scope",
            "needed": "chat:write",
            "provided": "channels:history,reactions:read",
        }
        assert emu.calls("chat.postMessage")[0]["error"] == "missing_scope"
        assert [m for m in emu.state.teams["T0TWOWAY1"].channels[SOCIAL].messages.values()] == []


def test_a_conversation_method_needs_the_scope_of_the_conversations_type() -> None:
    with slack({"channels:history"}) as (_, client):
        assert client.conversations_history(channel=SOCIAL)["ok"]
        answer = refused(client, "conversations_history", channel=PRIVATE)
        assert (answer["error"], answer["needed"]) == ("missing_scope", "groups:history")
    with slack({"chat:write"}) as (_, client):
        answer = refused(client, "conversations_replies", channel=SOCIAL, ts="1700000000.000100")
        assert answer["needed"] == "channels:history,groups:history,mpim:history,im:history"
    with slack({"channels:read"}) as (_, client):
        assert client.conversations_list()["ok"]
        answer = refused(client, "conversations_list", types="public_channel,im")
        assert answer["needed"] == "im:read"


def test_the_apps_direct_message_history_needs_im_history_and_keeps_the_messages_metadata() -> None:
    # docs.slack.dev/reference/methods/conversations.history: a bot token reads "any conversation the
    # relevant bot is a member of" with the relevant *:history scope, im:history for a direct message.
    metadata = {"event_type": "twoway_weekly_dm", "event_payload": {"user_id": ADA}}
    with slack({"chat:write", "im:write"}) as (_, client):
        dm = client.conversations_open(users=ADA)["channel"]["id"]
        assert client.chat_postMessage(channel=dm, text="Your week", metadata=metadata)["ok"]
        answer = refused(client, "conversations_history", channel=dm)
        # Holding none of the family, Slack names all four.
        assert (answer["error"], answer["needed"]) == (
            "missing_scope",
            "channels:history,groups:history,mpim:history,im:history",
        )
    with slack({"chat:write", "im:write", "channels:history"}) as (_, client):
        dm = client.conversations_open(users=ADA)["channel"]["id"]
        answer = refused(client, "conversations_history", channel=dm)
        assert (answer["error"], answer["needed"]) == ("missing_scope", "im:history")
    with slack({"chat:write", "im:write", "im:history"}) as (_, client):
        dm = client.conversations_open(users=ADA)["channel"]["id"]
        ts = client.chat_postMessage(channel=dm, text="Your week", metadata=metadata)["ts"]
        [kept] = client.conversations_history(channel=dm, include_all_metadata=True)["messages"]
        assert (kept["ts"], kept["metadata"]["event_payload"]) == (ts, {"user_id": ADA})


def test_users_conversations_lists_a_persons_channels_by_scope_and_shared_membership() -> None:
    # docs.slack.dev/reference/methods/users.conversations: scopes by `types`, as conversations.list;
    # "Private channel membership is only listed when the calling user, bot user, or app shares
    # membership".
    with slack({"channels:read"}) as (emu, client):
        assert (
            refused(client, "users_conversations", user=ADA, types="private_channel")["needed"]
            == "groups:read"
        )
    with slack({"channels:read", "groups:read"}) as (emu, client):
        shared, hidden = "C0SHARED01", "C0HIDDEN01"
        post(emu, "/_emulator/channel", {"id": shared, "name": "plans", "is_private": True, "members": [ADA]})
        post(
            emu,
            "/_emulator/channel",
            {"id": hidden, "name": "hidden", "is_private": True, "bot_member": False, "members": [ADA]},
        )
        # One a page, as slack_sdk follows the cursor; #general counts though the bot isn't in it.
        pages = client.users_conversations(user=ADA, types="public_channel,private_channel", limit=1)
        listed = [c["id"] for page in pages for c in page["channels"]]
        assert sorted(listed) == sorted(["C0GENERAL1", SOCIAL, shared])
        assert all("is_member" not in c for c in client.users_conversations(user=ADA)["channels"])


def test_opening_a_dm_needs_im_write_and_methods_without_scopes_need_none() -> None:
    with slack(set()) as (_, client):
        assert refused(client, "conversations_open", users=ADA)["needed"] == "im:write"
        assert client.auth_test()["ok"]
        # No scope, so whatever else is wrong with the call, it is not that.
        assert refused(client, "chat_getPermalink", channel=SOCIAL, message_ts="1.000100")["error"] != (
            "missing_scope"
        )


def test_a_dm_to_a_user_fails_while_the_apps_messages_tab_is_off() -> None:
    with slack({"chat:write", "im:write"}, messages_tab=False) as (_, client):
        assert refused(client, "chat_postMessage", channel=ADA, text="hi")["error"] == "messages_tab_disabled"
        dm = client.conversations_open(users=ADA)["channel"]["id"]
        assert refused(client, "chat_postMessage", channel=dm, text="hi")["error"] == "messages_tab_disabled"
        # A channel is not the Messages tab.
        assert client.chat_postMessage(channel=SOCIAL, text="hi")["ok"]
    with slack({"chat:write", "im:write"}, messages_tab=True) as (_, client):
        assert client.chat_postMessage(channel=ADA, text="hi")["ok"]


def test_the_default_emulator_grants_what_the_repositorys_manifest_asks_for(tmp_path: Path) -> None:
    manifest = yaml.safe_load(DEFAULT_MANIFEST.read_text())
    app = AppManifest.default()
    assert app.bot_scopes == frozenset(manifest["oauth_config"]["scopes"]["bot"])
    assert app.messages_tab is manifest["features"]["app_home"]["messages_tab_enabled"]
    assert app.bot_events == frozenset(manifest["settings"]["event_subscriptions"]["bot_events"])
    # A manifest that says nothing of the Messages tab leaves it off, as Slack has since 2021.
    bare = tmp_path / "manifest.yml"
    bare.write_text(yaml.safe_dump({"oauth_config": {"scopes": {"bot": ["chat:write"]}}}))
    assert AppManifest.from_file(bare) == AppManifest(
        bot_scopes=frozenset({"chat:write"}), messages_tab=False, bot_events=frozenset()
    )


def test_only_the_events_the_app_subscribes_to_are_sent() -> None:
    # https://docs.slack.dev/apis/events-api/#subscribing: an app hears only the events it subscribed
    # to, and message events by conversation type (message.channels, message.groups…).
    manifest = AppManifest(bot_events=frozenset({"message.channels", "reaction_added"}))
    with Emulator(EmulatorSettings(manifest=manifest)) as emu:
        post(
            emu,
            "/_emulator/channel",
            {"id": PRIVATE, "name": "private", "is_private": True, "bot_member": True},
        )
        public = post(emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "hi"})
        private = post(emu, "/_emulator/message", {"channel": PRIVATE, "user": ADA, "text": "hi"})
        archived = post(emu, "/_emulator/archive", {"channel": SOCIAL, "user": ADA})
        assert public["event_id"] is not None
        assert (private["event_id"], private["delivery"]["error"]) == (None, "not_subscribed")
        assert (archived["event_id"], archived["delivery"]["error"]) == (None, "not_subscribed")
        assert [e["payload"]["event"]["channel"] for e in get(emu, "/_emulator/events")] == [SOCIAL]
