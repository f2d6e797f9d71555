"""What Slack knows of the installed app from its manifest: the bot scopes its token was granted, and
whether its Messages tab is on. The Web API answers by them, as Slack does.

Scopes per method are from the Facts box of each method's page on docs.slack.dev
(https://docs.slack.dev/reference/methods/<method>). The conversations.* methods need the scope of the
conversation's type: `channels:*` for a public channel, `groups:*` for a private one, `im:*` and
`mpim:*` for direct messages ("The scopes and token types required to use this method vary by
conversation type", docs.slack.dev/reference/methods/conversations.replies).

`missing_scope` answers name the scopes as Slack does, comma-separated without spaces: the one scope of
the conversation's type when the token holds another of the family, all of them (channels, groups,
mpim, im) when it holds none (as in real answers quoted in slackapi issue threads, e.g.
`needed: 'channels:history,groups:history,mpim:history,im:history'`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

# Beside the emulator's package, where the repository keeps the app's manifest.
DEFAULT_MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"

# The one scope each method needs of a bot token; methods absent here and from FAMILY need none
# (auth.test, chat.getPermalink, views.*, oauth.v2.access; apps.connections.open takes an app token).
SCOPES: Mapping[str, str] = {
    "team.info": "team:read",
    "users.info": "users:read",
    "users.list": "users:read",
    "emoji.list": "emoji:read",
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "reactions.add": "reactions:write",
    "reactions.remove": "reactions:write",
    "reactions.get": "reactions:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
    "conversations.join": "channels:join",
}
# Methods whose scope depends on the conversation: the family's scope for each conversation type.
_TYPES = {"channel": "channels", "group": "groups", "mpim": "mpim", "im": "im"}
FAMILY: Mapping[str, Mapping[str, str]] = {
    method: {kind: f"{prefix}:{suffix}" for kind, prefix in _TYPES.items()}
    for method, suffix in (
        ("conversations.info", "read"),
        ("conversations.list", "read"),
        ("users.conversations", "read"),
        ("conversations.members", "read"),
        ("conversations.history", "history"),
        ("conversations.replies", "history"),
    )
}
# The `types` of conversations.list and users.conversations, as conversation kinds.
LIST_TYPES: Mapping[str, str] = {
    "public_channel": "channel",
    "private_channel": "group",
    "mpim": "mpim",
    "im": "im",
}
# conversations.open with a bot token: `im:write` for one person, `mpim:write` for several.
OPEN_SCOPES: Mapping[str, str] = {"im": "im:write", "mpim": "mpim:write"}
# A `message` event's subscription by the conversation's `channel_type`: an app subscribes to
# message.channels, message.groups, message.im and message.mpim apart
# (https://docs.slack.dev/reference/events/message.channels and its siblings).
MESSAGE_SUBSCRIPTIONS: Mapping[str, str] = {
    "channel": "message.channels",
    "group": "message.groups",
    "im": "message.im",
    "mpim": "message.mpim",
}


def subscription_of(event: Mapping[str, Any]) -> str:
    """The bot event subscription under which Slack sends ``event``."""
    if event.get("type") == "message":
        return MESSAGE_SUBSCRIPTIONS.get(str(event.get("channel_type")), "message.channels")
    return str(event.get("type"))


@dataclass(frozen=True)
class AppManifest:
    """The installed app as Slack sees it. ``bot_scopes`` None grants every scope (an app no manifest
    describes); the Messages tab is on unless the manifest turns it off."""

    bot_scopes: frozenset[str] | None = None
    messages_tab: bool = True
    messages_tab_read_only: bool = False
    # The bot events the app subscribes to; None subscribes to every event (no manifest).
    bot_events: frozenset[str] | None = None

    @classmethod
    def from_dict(cls, manifest: Mapping[str, Any]) -> AppManifest:
        home = (manifest.get("features") or {}).get("app_home") or {}
        scopes = ((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
        events = ((manifest.get("settings") or {}).get("event_subscriptions") or {}).get("bot_events") or []
        return cls(
            bot_scopes=frozenset(str(s) for s in scopes),
            bot_events=frozenset(str(e) for e in events),
            # The tab is opt-in since 2021 (a manifest that says nothing leaves it off).
            messages_tab=bool(home.get("messages_tab_enabled", False)),
            messages_tab_read_only=bool(home.get("messages_tab_read_only_enabled", False)),
        )

    @classmethod
    def from_file(cls, path: Path) -> AppManifest:
        return cls.from_dict(yaml.safe_load(path.read_text()) or {})

    @classmethod
    def default(cls) -> AppManifest:
        """The repository's manifest.yml; without one (an installed package), an app granted everything."""
        if DEFAULT_MANIFEST.exists():
            return cls.from_file(DEFAULT_MANIFEST)
        logger.warning("no manifest.yml beside the emulator: every scope is granted; pass --manifest")
        return cls()

    def subscribes(self, event: Mapping[str, Any]) -> bool:
        """Whether Slack sends ``event`` to this app: only events it subscribed to reach an app
        (https://docs.slack.dev/apis/events-api/#subscribing)."""
        return self.bot_events is None or subscription_of(event) in self.bot_events

    def grants(self, scope: str) -> bool:
        return self.bot_scopes is None or scope in self.bot_scopes

    def provided(self) -> str:
        return ",".join(sorted(self.bot_scopes or ()))


def needed_for_family(manifest: AppManifest, family: Mapping[str, str], kind: str) -> str | None:
    """What `missing_scope` names for a conversation of ``kind``, or None when the token may go on."""
    scope = family[kind]
    if manifest.grants(scope):
        return None
    if any(manifest.grants(s) for s in family.values()):
        return scope
    # Slack's order in such answers: channels, groups, mpim, im.
    return ",".join(family[k] for k in ("channel", "group", "mpim", "im"))
