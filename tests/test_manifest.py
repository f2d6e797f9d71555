"""manifest.yml: valid against Slack's published schema, and in step with the listeners twoway registers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
import yaml
from slack_bolt import App
from slack_sdk import WebClient

from bot.installs import BOT_SCOPES
from emulator.app_manifest import FAMILY, OPEN_SCOPES, SCOPES
from emulator.web_api import METHODS
from handlers import register_all

ROOT = Path(__file__).resolve().parents[1]
# Slack's published manifest schema (slackapi/manifest-schema, MIT: tests/slack/manifest.schema.LICENSE).
SCHEMA = Path(__file__).resolve().parent / "slack" / "manifest.schema.1.0.0.json"

# The scope each subscribed bot event requires (Slack's event reference).
EVENT_SCOPES: dict[str, set[str]] = {
    "app_home_opened": set(),
    "app_mention": {"app_mentions:read"},
    "app_uninstalled": set(),
    "tokens_revoked": set(),
    "member_joined_channel": {"channels:read", "groups:read"},
    "member_left_channel": {"channels:read", "groups:read"},
    # https://docs.slack.dev/reference/events/channel_left and its siblings: public channels' events
    # need channels:read, private channels' (group_*) groups:read.
    **{f"channel_{change}": {"channels:read"} for change in ("archive", "deleted", "left", "unarchive")},
    **{f"group_{change}": {"groups:read"} for change in ("archive", "deleted", "left", "unarchive")},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "reaction_added": {"reactions:read"},
    "reaction_removed": {"reactions:read"},
}
# slack_sdk's calls that are not named after one Web API method: the method whose scope they need.
SDK_CALLS = {"files_upload_v2": "files.completeUploadExternal"}


def _scope_of(sdk_method: str) -> str | None:
    """The bot scope a slack_sdk call needs in a public channel or a DM, from the emulator's one table."""
    method = SDK_CALLS.get(sdk_method) or sdk_method.replace("_", ".", 1)
    assert method in METHODS, f"the emulator doesn't answer {method}, which twoway calls"
    if method in FAMILY:
        return FAMILY[method]["channel"]
    if method == "conversations.open":
        return OPEN_SCOPES["im"]
    return SCOPES.get(method)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load((ROOT / "manifest.yml").read_text()))


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(manifest, schema)


def test_the_schema_check_rejects_a_broken_manifest(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = {**manifest, "features": {**manifest["features"], "shortcuts": [{"name": "x" * 30}]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


class RecordingApp:
    """Stands in for a Bolt App and records what each handler module registers."""

    def __init__(self) -> None:
        self.events: set[str] = set()
        self.commands: set[str] = set()
        self.shortcuts: set[str] = set()

    def _record(self, into: set[str], name: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        into.add(name if isinstance(name, str) else name.get("callback_id", repr(name)))
        return lambda listener: listener

    def event(
        self, name: Any, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._record(self.events, name)

    def command(
        self, name: Any, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._record(self.commands, name)

    def shortcut(
        self, name: Any, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._record(self.shortcuts, name)

    def message(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._record(self.events, "message")

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # action, view, options and the rest are not declared in a manifest.
        return lambda *args, **kwargs: lambda listener: listener


def _bolt_event(manifest_event: str) -> str:
    # message.channels and message.groups both arrive as `message` events.
    return manifest_event.split(".", 1)[0]


def test_listeners_and_manifest_match_both_ways(manifest: dict[str, Any], deps: Any) -> None:
    recorder = RecordingApp()
    register_all(cast(App, recorder), deps)

    declared_events = {_bolt_event(e) for e in manifest["settings"]["event_subscriptions"]["bot_events"]}
    declared_commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    declared_shortcuts = {s["callback_id"] for s in manifest["features"]["shortcuts"]}

    assert recorder.events == declared_events
    assert recorder.commands == declared_commands
    assert recorder.shortcuts == declared_shortcuts


def _methods_called_by_twoway() -> set[str]:
    api_methods = {name for name in dir(WebClient) if not name.startswith("_")}
    called: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            if "emulator" in path.parts:
                continue
            called |= set(re.findall(r"\.(\w+)\(", path.read_text())) & api_methods
    return called - {"api_call", "close"}


def test_bot_scopes_are_exactly_what_the_features_need(manifest: dict[str, Any]) -> None:
    called = _methods_called_by_twoway()

    needed: set[str] = {"commands"}  # the slash command and the message shortcut
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        needed |= EVENT_SCOPES[event]
    needed |= {scope for method in called if (scope := _scope_of(method))}
    # A weekly direct message whose sender died looks for it in the app's conversation with the person
    # (`bot.weekly`) before sending it again.
    needed.add("im:history")
    if "channels:read" in needed or "channels:history" in needed:
        # twoway works in private channels too, which need the groups:* twin of each.
        needed |= {s.replace("channels:", "groups:") for s in needed if s.startswith("channels:")}

    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed


def test_an_install_asks_for_exactly_the_manifests_bot_scopes(manifest: dict[str, Any]) -> None:
    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])
    assert len(set(BOT_SCOPES)) == len(BOT_SCOPES)


def test_manifest_turns_on_socket_mode_interactivity_and_home(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    # `/twoway export` sends its CSV files in a direct message, which lands in the Messages tab; people
    # read it there but can't write to twoway, which would not answer.
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is True
    assert manifest["features"]["slash_commands"][0]["usage_hint"]
    assert [s["type"] for s in manifest["features"]["shortcuts"]] == ["message"]


def test_the_readme_says_why_for_every_scope_and_event_the_manifest_asks_for(
    manifest: dict[str, Any],
) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### What twoway asks of Slack, and why", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([a-z_.:]+)`", row.split("|")[1])}
    assert named == {
        *manifest["oauth_config"]["scopes"]["bot"],
        *manifest["settings"]["event_subscriptions"]["bot_events"],
    }
