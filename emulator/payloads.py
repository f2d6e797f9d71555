"""Builders for what Slack sends and keeps: messages, events, slash commands, interactions, envelopes.

Pure functions of their arguments (ids and timestamps are passed in), shaped after Slack's documented
examples: the Events API wrapper, `block_actions` (from a message or a view), `view_submission` and
`message_action` payloads, the slash command form, and Socket Mode's `hello` and envelopes.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import string
import uuid
from typing import Any

from emulator.control import JSON, WorldError
from emulator.world import VERIFICATION_TOKEN, Channel, Team, User

# A bare URL as a person types it; Slack's clients send it on wrapped in angle brackets.
_BARE_URL = re.compile(r"(?<![<|])\bhttps?://[^\s<>]+")
_ANGLE = re.compile(r"<([^<>]+)>")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def _outside_code(text: str) -> list[tuple[str, str]]:
    """The text in pieces: ("plain", …), ("code", inline code) and ("pre", a ``` block), in order."""
    pieces: list[tuple[str, str]] = []
    last = 0
    for match in _CODE.finditer(text):
        if match.start() > last:
            pieces.append(("plain", text[last : match.start()]))
        code = match.group(0)
        pieces.append(("pre", code[3:-3]) if code.startswith("```") else ("code", code[1:-1]))
        last = match.end()
    if last < len(text):
        pieces.append(("plain", text[last:]))
    return pieces


def _linkify_plain(text: str) -> str:
    out, last = [], 0
    for match in _ANGLE.finditer(text):
        out.append(_BARE_URL.sub(lambda m: f"<{m.group(0)}>", text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_BARE_URL.sub(lambda m: f"<{m.group(0)}>", text[last:]))
    return "".join(out)


def linkify(text: str) -> str:
    """Wraps bare links the way Slack's clients do before a message reaches the app: `<https://…>`.

    Code spans and blocks are left as typed: Slack doesn't turn links inside code into links.
    """
    out = []
    for kind, piece in _outside_code(text):
        if kind == "plain":
            out.append(_linkify_plain(piece))
        elif kind == "code":
            out.append(f"`{piece}`")
        else:
            out.append(f"```{piece}```")
    return "".join(out)


def _unescape(text: str) -> str:
    # Message text carries Slack's three escapes; rich_text elements carry the characters themselves.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def block_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(5))


def with_block_ids(blocks: list[Any]) -> list[Any]:
    """Slack gives every stored block a `block_id`; apps' button clicks name it."""
    out = copy.deepcopy(blocks)
    for block in out:
        if isinstance(block, dict) and "block_id" not in block:
            block["block_id"] = block_id()
    return out


def _section_elements(text: str) -> list[JSON]:
    elements: list[JSON] = []
    last = 0
    for match in _ANGLE.finditer(text):
        if match.start() > last:
            elements.append({"type": "text", "text": _unescape(text[last : match.start()])})
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            elements.append({"type": "user", "user_id": target[1:]})
        elif target.startswith("#"):
            elements.append({"type": "channel", "channel_id": target[1:].split("|")[0]})
        elif target.startswith("!"):
            elements.append({"type": "broadcast", "range": target[1:]})
        else:
            link: JSON = {"type": "link", "url": _unescape(target)}
            if label:
                link["text"] = _unescape(label)
            elements.append(link)
        last = match.end()
    if last < len(text):
        elements.append({"type": "text", "text": _unescape(text[last:])})
    return elements


def rich_text(text: str) -> list[JSON]:
    """The `rich_text` block Slack derives from what a person typed (code kept as code)."""
    elements: list[JSON] = []
    section: list[JSON] = []
    for kind, piece in _outside_code(text):
        if kind == "plain":
            section += _section_elements(piece)
        elif kind == "code":
            section.append({"type": "text", "text": _unescape(piece), "style": {"code": True}})
        else:
            if section:
                elements.append({"type": "rich_text_section", "elements": section})
                section = []
            elements.append(
                {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": _unescape(piece)}]}
            )
    if section or not elements:
        elements.append({"type": "rich_text_section", "elements": section})
    return [
        {
            "type": "rich_text",
            "block_id": block_id(),
            "elements": elements,
        }
    ]


def human_message(
    team: Team,
    user: User,
    text: str,
    ts: str,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    blocks: list[Any] | None = None,
) -> JSON:
    text = linkify(text)
    message: JSON = {
        "user": user.id,
        "type": "message",
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "text": text,
        "team": team.id,
        "blocks": with_block_ids(blocks) if blocks else rich_text(text),
    }
    if thread_ts:
        message["thread_ts"] = thread_ts
        message["parent_user_id"] = parent_user_id
    return message


def bot_profile(team: Team, app_id: str, now: float) -> JSON:
    return {
        "id": team.bot_id,
        "deleted": False,
        "name": "twoway",
        "updated": int(now),
        "app_id": app_id,
        "icons": {"image_36": "https://a.slack-edge.com/80588/img/plugins/app/bot_36.png"},
        "team_id": team.id,
    }


def bot_message(
    team: Team,
    app_id: str,
    ts: str,
    now: float,
    text: str,
    blocks: list[Any] | None = None,
    attachments: list[Any] | None = None,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    reply_broadcast: bool = False,
    metadata: JSON | None = None,
) -> JSON:
    message: JSON = {
        "user": team.bot_user_id,
        "type": "message",
        "ts": ts,
        "bot_id": team.bot_id,
        "app_id": app_id,
        "text": text,
        "team": team.id,
        "bot_profile": bot_profile(team, app_id, now),
    }
    if blocks:
        message["blocks"] = with_block_ids(blocks)
    if attachments:
        message["attachments"] = copy.deepcopy(attachments)
    if thread_ts:
        message["thread_ts"] = thread_ts
        message["parent_user_id"] = parent_user_id
        if reply_broadcast:
            message["subtype"] = "thread_broadcast"
            message["root"] = {"ts": thread_ts}
    if metadata:
        message["metadata"] = copy.deepcopy(metadata)
    return message


def message_event(channel: Channel, message: JSON) -> JSON:
    event = copy.deepcopy(message)
    event.pop("reactions", None)
    event.update({"channel": channel.id, "event_ts": message["ts"], "channel_type": channel.channel_type})
    return event


def message_changed_event(channel: Channel, previous: JSON, current: JSON, ts: str) -> JSON:
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": copy.deepcopy(current),
        "previous_message": copy.deepcopy(previous),
        "channel": channel.id,
        "hidden": True,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel.channel_type,
    }


def message_deleted_event(channel: Channel, previous: JSON, ts: str) -> JSON:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "previous_message": copy.deepcopy(previous),
        "channel": channel.id,
        "hidden": True,
        "ts": ts,
        "deleted_ts": previous["ts"],
        "event_ts": ts,
        "channel_type": channel.channel_type,
    }


def reaction_event(
    removed: bool,
    user_id: str,
    reaction: str,
    channel: Channel,
    ts: str,
    item_user: str | None,
    event_ts: str,
) -> JSON:
    """`reaction_added` or `reaction_removed` on a message; its item names the channel's type, as the
    events' pages on docs.slack.dev show it."""
    event: JSON = {
        "type": "reaction_removed" if removed else "reaction_added",
        "user": user_id,
        "reaction": reaction,
        "item": {"type": "message", "channel": channel.id, "ts": ts, "channel_type": channel.channel_type},
        "event_ts": event_ts,
    }
    if item_user:
        event["item_user"] = item_user
    return event


def event_context(team_id: str, app_id: str, event: JSON) -> str:
    """Opaque to apps; Slack's is a versioned, base64-encoded summary of the event's context."""
    summary = {"et": event.get("type"), "tid": team_id, "aid": app_id, "cid": event.get("channel")}
    encoded = base64.urlsafe_b64encode(json.dumps(summary, separators=(",", ":")).encode()).decode()
    return "4-" + encoded.rstrip("=")


def event_callback(
    team: Team,
    app_id: str,
    event: JSON,
    event_id: str,
    event_time: int,
    authorized: Team | None = None,
    ext_shared: bool = False,
) -> JSON:
    """The Events API envelope of an event that happened in `team`, delivered once to the app.

    `authorizations` names one installation the event is visible to, `authorized` (by default the
    team itself): "at most one", even when several installations see it, as in a channel shared by
    two workspaces that both installed the app; apps.event.authorizations.list gives the rest
    (docs.slack.dev/changelog/2020-09-15-events-api-truncate-authed-users). In Enterprise Grid the
    envelope and the authorization carry the org's `enterprise_id`.
    """
    authorized = authorized or team
    payload: JSON = {
        "token": VERIFICATION_TOKEN,
        "team_id": team.id,
    }
    if team.enterprise_id is not None:
        payload["enterprise_id"] = team.enterprise_id
    payload.update(
        {
            "context_team_id": team.id,
            "context_enterprise_id": team.enterprise_id,
            "api_app_id": app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": event_time,
            "authorizations": [
                {
                    "enterprise_id": authorized.enterprise_id,
                    "team_id": authorized.id,
                    "user_id": authorized.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": ext_shared,
            "event_context": event_context(team.id, app_id, event),
        }
    )
    return payload


def slash_command(
    team: Team,
    app_id: str,
    channel: Channel,
    user: User,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """The form fields of a slash command request, in Slack's order."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team.id,
        "team_domain": team.domain,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.is_im else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": app_id,
        **(
            {"enterprise_id": team.enterprise_id, "enterprise_name": team.enterprise_name or ""}
            if team.enterprise_id
            else {}
        ),
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def _team(team: Team) -> JSON:
    """The `team` object of interactive payloads: the acting person's workspace, and its org in Grid."""
    out: JSON = {"id": team.id, "domain": team.domain}
    if team.enterprise_id is not None:
        out.update({"enterprise_id": team.enterprise_id, "enterprise_name": team.enterprise_name or ""})
    return out


def _interaction_user(user: User) -> JSON:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id}


def find_buttons(blocks: list[Any], action_id: str) -> list[tuple[str, JSON]]:
    """Every (block_id, element) button with that action_id, in actions blocks or section accessories."""
    found: list[tuple[str, JSON]] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if (
                isinstance(element, dict)
                and element.get("type") == "button"
                and element.get("action_id") == action_id
            ):
                found.append((str(block.get("block_id", "")), element))
    return found


def find_button(blocks: list[Any], action_id: str, value: str | None = None) -> tuple[str, JSON] | None:
    """The button with that action_id, preferring one whose value is `value` when several share it."""
    found = find_buttons(blocks, action_id)
    matching = [(b, e) for b, e in found if value is not None and e.get("value") == value]
    chosen = matching or found
    return chosen[0] if chosen else None


def _button_action(block_id_: str, button: JSON, value: str | None, action_ts: str) -> JSON:
    action: JSON = {
        "action_id": button["action_id"],
        "block_id": block_id_,
        "text": button.get("text", {"type": "plain_text", "text": "", "emoji": True}),
        "value": value if value is not None else button.get("value", ""),
        "type": "button",
        "action_ts": action_ts,
    }
    if "style" in button:
        action["style"] = button["style"]
    return action


def block_actions(
    team: Team,
    app_id: str,
    channel: Channel,
    user: User,
    message: JSON,
    block_id_: str,
    button: JSON,
    value: str | None,
    action_ts: str,
    response_url: str,
    trigger_id: str,
    *,
    ephemeral: bool = False,
) -> JSON:
    """A button clicked in a message. In an ephemeral one, the container says so and there is no
    `message`: Slack keeps no copy of it to send."""
    payload: JSON = {
        "type": "block_actions",
        "user": _interaction_user(user),
        "api_app_id": app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel.id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id,
        "team": _team(team),
        "enterprise": team.enterprise(),
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [_button_action(block_id_, button, value, action_ts)],
    }
    if ephemeral:
        del payload["message"]
    return payload


def view_block_actions(
    team: Team,
    app_id: str,
    user: User,
    view: JSON,
    block_id_: str,
    button: JSON,
    action_ts: str,
    trigger_id: str,
) -> JSON:
    """A button clicked in a view (the App Home tab): no channel, message or response_url; the view's
    own `state` carries the values of its inputs."""
    return {
        "type": "block_actions",
        "user": _interaction_user(user),
        "api_app_id": app_id,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": trigger_id,
        "team": _team(team),
        "enterprise": team.enterprise(),
        "is_enterprise_install": False,
        "view": copy.deepcopy(view),
        "actions": [_button_action(block_id_, button, None, action_ts)],
    }


# What an input element reports in `view.state.values`: the key of its value, the key of the initial
# value it starts from, and what it reports when left empty.
_INPUT_STATE: dict[str, tuple[str, str, Any]] = {
    "plain_text_input": ("value", "initial_value", None),
    "email_text_input": ("value", "initial_value", None),
    "url_text_input": ("value", "initial_value", None),
    "number_input": ("value", "initial_value", None),
    "static_select": ("selected_option", "initial_option", None),
    "external_select": ("selected_option", "initial_option", None),
    "radio_buttons": ("selected_option", "initial_option", None),
    "multi_static_select": ("selected_options", "initial_options", []),
    "multi_external_select": ("selected_options", "initial_options", []),
    "checkboxes": ("selected_options", "initial_options", []),
    "users_select": ("selected_user", "initial_user", None),
    "multi_users_select": ("selected_users", "initial_users", []),
    "conversations_select": ("selected_conversation", "initial_conversation", None),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", []),
    "channels_select": ("selected_channel", "initial_channel", None),
    "multi_channels_select": ("selected_channels", "initial_channels", []),
    "datepicker": ("selected_date", "initial_date", None),
    "timepicker": ("selected_time", "initial_time", None),
}
_TEXT_INPUTS = frozenset({"plain_text_input", "email_text_input", "url_text_input", "number_input"})


def with_input_action_ids(blocks: list[Any]) -> list[Any]:
    """Slack gives an input block's element an `action_id` when the app left it out."""
    out = copy.deepcopy(blocks)
    for block in out:
        element = block.get("element") if isinstance(block, dict) and block.get("type") == "input" else None
        if isinstance(element, dict) and "action_id" not in element:
            element["action_id"] = block_id()
    return out


def submitted_state(blocks: list[Any], values: Any) -> JSON:
    """`view.state.values` of a modal submitted with `values` ({block_id: {action_id: text or {...}}}):
    every input block, typed text as `value`, other elements' fields as given (`{"selected_option": …}`),
    untouched inputs at their initial values. Slack's client never submits an empty required input or
    ids the view does not have, so neither does this: they raise a 400 `WorldError`."""
    if not isinstance(values, dict):
        raise WorldError("invalid_values", 400)
    inputs = {
        str(b.get("block_id")): b["element"]
        for b in blocks
        if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("element"), dict)
    }
    for block_id_, given in values.items():
        if block_id_ not in inputs:
            raise WorldError("unknown_block_id", 400)
        if not isinstance(given, dict) or any(a != inputs[block_id_].get("action_id") for a in given):
            raise WorldError("unknown_action_id", 400)
    optional = {str(b.get("block_id")): bool(b.get("optional")) for b in blocks if isinstance(b, dict)}
    state: JSON = {}
    for block_id_, element in inputs.items():
        kind = str(element.get("type", ""))
        key, initial, empty = _INPUT_STATE.get(kind, ("value", "initial_value", None))
        entry: JSON = {"type": kind}
        given = values.get(block_id_, {}).get(element["action_id"])
        if given is None:
            entry[key] = copy.deepcopy(element.get(initial, empty))
        elif isinstance(given, str) and kind in _TEXT_INPUTS:
            entry[key] = given or None
        elif isinstance(given, dict) and given.get("type", kind) == kind:
            # A person picks among the options the element shows; Slack's client sends no other.
            options = element.get("options")
            picked = given.get("selected_option")
            if isinstance(options, list) and picked is not None and picked not in options:
                raise WorldError("invalid_value", 400)
            entry.update(copy.deepcopy(given))
        else:
            raise WorldError("invalid_value", 400)
        if not optional.get(block_id_) and entry.get(key) in (None, "", []):
            raise WorldError("required_input_missing", 400)
        state[block_id_] = {element["action_id"]: entry}
    return state


def view_submission(team: Team, app_id: str, user: User, view: JSON, values: JSON, trigger_id: str) -> JSON:
    """A modal submitted, with what was entered in its inputs as `view.state.values`."""
    submitted = copy.deepcopy(view)
    submitted["state"] = {"values": copy.deepcopy(values)}
    return {
        "type": "view_submission",
        "team": _team(team),
        "user": _interaction_user(user),
        "api_app_id": app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": team.enterprise(),
    }


def message_action(
    team: Team,
    channel: Channel,
    user: User,
    message: JSON,
    callback_id: str,
    action_ts: str,
    response_url: str,
    trigger_id: str,
) -> JSON:
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": action_ts,
        "team": _team(team),
        "user": _interaction_user(user),
        "channel": {"id": channel.id, "name": channel.name},
        "is_enterprise_install": False,
        "enterprise": team.enterprise(),
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": message,
    }


def hello(num_connections: int, app_id: str, host: str, connected_for: int) -> JSON:
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": host,
            "build_number": 1,
            "approximate_connection_time": connected_for,
        },
        "connection_info": {"app_id": app_id},
    }


def envelope(
    kind: str, payload: Any, accepts_response_payload: bool, retry_attempt: int = 0, retry_reason: str = ""
) -> JSON:
    """A Socket Mode envelope; `kind` is events_api, slash_commands or interactive."""
    out: JSON = {
        "envelope_id": str(uuid.uuid4()),
        "payload": payload,
        "type": kind,
        "accepts_response_payload": accepts_response_payload,
    }
    if kind == "events_api":
        out["retry_attempt"] = retry_attempt
        out["retry_reason"] = retry_reason
    return out
