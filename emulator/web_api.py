"""The Web API methods the emulator answers, in Slack's shapes and with Slack's errors, and the routes
that serve them.

`handle_call` takes one call already parsed (method, merged arguments, token) and returns the HTTP
status, headers and JSON body to answer with. It does no I/O, so every method is a plain function of
the world in `State`. Arguments arrive as strings from forms and as JSON values from JSON bodies;
`Args` reads both.

`WebApi` is the HTTP side: `/api/<method>` (a form, JSON or a query string, the token as a bearer or an
argument), and the URLs where Slack would host files: `POST /_emulator/upload/{file_id}`, where
`files.getUploadURLExternal` sends the upload, and `GET /_emulator/files/{file_id}/{name}`, a file's
`url_private`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import mimetypes
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from emulator import block_kit, payloads
from emulator.app_manifest import FAMILY, LIST_TYPES, OPEN_SCOPES, SCOPES, needed_for_family
from emulator.control import JSON, WorldError
from emulator.rate_limits import NON_MARKETPLACE_METHODS, NON_MARKETPLACE_PAGE, POST_MESSAGE
from emulator.world import (
    Channel,
    Ephemeral,
    Modal,
    State,
    StoredFile,
    Team,
    decode_cursor,
    encode_cursor,
    is_ts,
    ts_key,
)

# Arguments that Slack takes JSON-encoded in forms; parsed for the calls log so it reads naturally.
JSON_ARGS = frozenset({"blocks", "attachments", "metadata", "view", "files"})
# Message text: chat.postMessage truncates past MAX_TEXT; chat.update refuses past UPDATE_TEXT ("The
# text field cannot exceed 4,000 characters", docs.slack.dev/reference/methods/chat.update), and
# chat.postEphemeral documents `msg_too_long` without a number, so it refuses past MAX_TEXT.
MAX_TEXT = 40_000
UPDATE_TEXT = 4_000
# App-level tokens (xapp-) work for these only; bot tokens work for all but apps.connections.open.
APP_TOKEN_METHODS = frozenset({"apps.connections.open", "auth.test"})


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def invalid_arguments(*messages: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})


class Args:
    """A call's arguments, from a form (all strings) or a JSON body (any JSON values)."""

    def __init__(self, values: JSON) -> None:
        self.values = values

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, dict | list):
            return json.dumps(value)
        return value if isinstance(value, str) else str(value)

    def required(self, name: str, error: str | None = None) -> str:
        value = self.get(name)
        if value is None:
            raise SlackError(error) if error else invalid_arguments(f"missing required field: {name}")
        return value

    def parsed(self, name: str, error: str = "invalid_arguments") -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise SlackError(error) from None
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)

    def integer(self, name: str, default: int, error: str = "invalid_arguments") -> int:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SlackError(error) from None


@dataclass
class Context:
    state: State
    team: Team
    token_kind: str
    base_url: str

    @property
    def now(self) -> float:
        return self.state.now()


@dataclass
class ApiResult:
    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)
    # Close the connection instead of answering: the call was done, the caller never learns it.
    drop: bool = False


Handler = Callable[[Context, Args], JSON]
METHODS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name] = fn
        return fn

    return register


def loggable_args(args: JSON) -> JSON:
    out: JSON = {}
    for key, value in args.items():
        if key == "token":
            continue  # never listed: the calls log is for reading, not for leaking credentials
        if key in JSON_ARGS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    return out


def handle_call(state: State, name: str, args: JSON, token: str | None, base_url: str) -> ApiResult:
    """One Web API call, recorded in the calls log whatever its outcome."""
    with state.lock:
        result, team_id = _dispatch(state, name, args, token, base_url)
        state.call_log.record(
            name,
            loggable_args(args),
            team_id,
            bool(result.body.get("ok")),
            result.body.get("error"),
            result.status,
            token,
        )
        return result


def _dispatch(
    state: State, name: str, values: JSON, token: str | None, base_url: str
) -> tuple[ApiResult, str | None]:
    handler = METHODS.get(name)
    if handler is None:
        return ApiResult(200, {"ok": False, "error": "unknown_method"}), None
    if not token:
        return ApiResult(200, {"ok": False, "error": "not_authed"}), None
    if token == "xoxb-invalid" or not token.startswith(("xoxb-", "xapp-")):  # noqa: S105
        return ApiResult(200, {"ok": False, "error": "invalid_auth"}), None
    kind = "app" if token.startswith("xapp-") else "bot"
    if (kind == "app" and name not in APP_TOKEN_METHODS) or (
        kind == "bot" and name == "apps.connections.open"
    ):
        return ApiResult(200, {"ok": False, "error": "not_allowed_token_type"}), None
    team = state.team_for_token(token)
    if kind == "bot":
        needed = _missing_scope(state, team, name, values)
        if needed is not None:
            body = {"ok": False, "error": "missing_scope", "needed": needed, "provided": state.app.provided()}
            return ApiResult(200, body), team.id
    fault = state.faults.trip(name)
    if fault is not None:
        body, headers = fault.answer()
        return ApiResult(fault.status, body, headers), team.id
    # The stricter first, so that a call it refuses takes nothing from the other's buckets.
    limiters = [state.non_marketplace if name in NON_MARKETPLACE_METHODS else None, state.limiter]
    for limiter in (x for x in limiters if x is not None):
        channel = _limited_channel(team, values) if name == POST_MESSAGE else None
        retry_after = limiter.admit(team.id, name, channel)
        if retry_after is not None:
            body = {"ok": False, "error": "ratelimited"}
            return ApiResult(429, body, {"Retry-After": str(retry_after)}), team.id
    try:
        body = handler(Context(state, team, kind, base_url), Args(values))
    except SlackError as e:
        return ApiResult(200, {"ok": False, "error": e.error, **e.extra}), team.id
    except WorldError as e:
        return ApiResult(200, {"ok": False, "error": e.error}), team.id
    kept = state.faults.trip(name, kept=True)
    if kept is not None:
        answer, headers = kept.answer()
        return ApiResult(kept.status, answer, headers, drop=kept.drop), team.id
    return ApiResult(200, {"ok": True, **body}), team.id


def _missing_scope(state: State, team: Team, name: str, values: JSON) -> str | None:
    """The scopes a bot token lacks for this call, as `missing_scope` names them; None when it has them.

    A conversation twoway can't find is left to the method, which answers `channel_not_found`.
    """
    app = state.app
    if name in SCOPES:
        return None if app.grants(SCOPES[name]) else SCOPES[name]
    if name in ("conversations.list", "users.conversations"):
        kinds = [
            LIST_TYPES.get(t.strip(), "channel")
            for t in str(values.get("types") or "public_channel").split(",")
        ]
        lacking = [n for kind in kinds if (n := needed_for_family(app, FAMILY[name], kind)) is not None]
        return ",".join(dict.fromkeys(lacking)) or None
    if name in FAMILY:
        kind = _conversation_kind(state, team, values.get("channel"))
        return None if kind is None else needed_for_family(app, FAMILY[name], kind)
    if name == "conversations.open":
        users = [u for u in str(values.get("users") or "").split(",") if u.strip()]
        if users:
            scope = OPEN_SCOPES["im" if len(users) == 1 else "mpim"]
            return None if app.grants(scope) else scope
        kind = _conversation_kind(state, team, values.get("channel"))
        by_kind = OPEN_SCOPES.get(kind or "")
        if by_kind is not None and not app.grants(by_kind):
            return by_kind
    return None


def _conversation_kind(state: State, team: Team, ref: object) -> str | None:
    if not isinstance(ref, str) or not ref:
        return None
    if ref[:1] in ("U", "W") and ref in team.users:
        return "im"
    try:
        return state.channel(team, ref).channel_type
    except WorldError:
        return None


def _limited_channel(team: Team, values: JSON) -> str | None:
    """The channel a post counts against: its id, also when named by `#name`."""
    ref = values.get("channel")
    if not isinstance(ref, str) or not ref:
        return None
    if ref in team.channels:
        return ref
    name = ref.removeprefix("#")
    return next((c.id for c in team.channels.values() if c.name == name and not c.is_im), ref)


# ---- shared checks ------------------------------------------------------------------------------


def _conversation(ctx: Context, ref: str | None, need_member: bool = True) -> Channel:
    """The channel as the bot sees it: private ones it is not in do not exist for it."""
    if ref is None:
        raise SlackError("channel_not_found")
    team = ctx.team
    if ref[:1] in ("U", "W") and ref in team.users:
        return ctx.state.im_channel(team, ref)
    channel = ctx.state.channel(team, ref)
    is_member = team.bot_user_id in channel.members
    if not is_member and (channel.is_private or channel.is_im):
        raise SlackError("channel_not_found")
    if need_member and not is_member:
        raise SlackError("not_in_channel")
    return channel


def _open(channel: Channel, error: str = "is_archived") -> Channel:
    """The channel, unless it is archived: chat.postMessage, chat.postEphemeral, reactions.add and
    conversations.join answer `is_archived`, chat.update `is_inactive` (their Errors tables on
    docs.slack.dev)."""
    if channel.archived:
        raise SlackError(error)
    return channel


def _to_app_messages(ctx: Context, channel: Channel) -> Channel:
    """The channel, unless it is a direct message with the app while its Messages tab is off.

    chat.postMessage and chat.postEphemeral answer `messages_tab_disabled` then (their Errors tables on
    docs.slack.dev). Files shared into such a DM would land in the same hidden tab, so the upload's
    completion refuses them too; Slack does not document that case.
    """
    if channel.is_im and not ctx.state.app.messages_tab:
        raise SlackError("messages_tab_disabled")
    return channel


def _thread_ts(ctx: Context, channel: Channel, value: str | None) -> tuple[str | None, str | None]:
    """(thread_ts, parent_user_id) to post under; a reply's ts threads under its parent, as in Slack."""
    if value is None:
        return None, None
    if not is_ts(value):
        raise SlackError("invalid_thread_ts")
    parent = ctx.state.thread_parent(channel, value)
    return parent["ts"], parent.get("user")


def _blocks(args: Args) -> list[Any] | None:
    """A message's blocks, checked as Slack checks them (`emulator.block_kit`)."""
    blocks = args.parsed("blocks", error="invalid_blocks_format")
    if blocks is None:
        return None
    try:
        found = block_kit.problems(blocks, limit=block_kit.MESSAGE_BLOCKS)
    except block_kit.Malformed:
        raise SlackError("invalid_blocks_format") from None
    if found:
        raise SlackError(
            "invalid_blocks", errors=found, response_metadata={"messages": [f"[ERROR] {p}" for p in found]}
        )
    return list(blocks)


def _text(args: Args, limit: int | None) -> str | None:
    """A message's text: over ``limit`` characters it is `msg_too_long`; without one, Slack keeps the
    first MAX_TEXT (chat.postMessage: "Slack will truncate messages containing more than 40,000
    characters", docs.slack.dev/reference/methods/chat.postMessage)."""
    text = args.get("text")
    if text is None:
        return None
    if limit is not None and len(text) > limit:
        raise SlackError("msg_too_long")
    return text[:MAX_TEXT]


def _page_size(args: Args, default: int, maximum: int) -> int:
    limit = args.integer("limit", default, error="invalid_limit")
    if limit <= 0:
        limit = default
    return min(limit, maximum)


def _history_page(ctx: Context, args: Args, default: int, maximum: int) -> int:
    """Page size for conversations.history and .replies: 15 at most, and by default, outside the
    Marketplace (`emulator.rate_limits.NON_MARKETPLACE_PAGE`)."""
    if ctx.state.app_kind == "non-marketplace":
        return _page_size(args, NON_MARKETPLACE_PAGE, NON_MARKETPLACE_PAGE)
    return _page_size(args, default, maximum)


def _bound(args: Args, name: str) -> int | None:
    value = args.get(name)
    if value is None:
        return None
    if not is_ts(value) and not value.isdigit():
        raise SlackError(f"invalid_ts_{name}")
    return ts_key(value)


def _in_bounds(ts: str, oldest: int | None, latest: int | None, inclusive: bool) -> bool:
    key = ts_key(ts)
    if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
        return False
    return not (latest is not None and (key > latest or (key == latest and not inclusive)))


# ---- auth, team, users --------------------------------------------------------------------------


@method("auth.test")
def auth_test(ctx: Context, args: Args) -> JSON:
    team = ctx.team
    return {
        "url": team.url,
        "team": team.name,
        "user": team.users[team.bot_user_id].name,
        "team_id": team.id,
        "user_id": team.bot_user_id,
        "bot_id": team.bot_id,
        # In Enterprise Grid, the org the workspace belongs to (a workspace install, not an org-wide one).
        **({"enterprise_id": team.enterprise_id} if team.enterprise_id else {}),
        "is_enterprise_install": False,
    }


@method("team.info")
def team_info(ctx: Context, args: Args) -> JSON:
    return {"team": ctx.team.to_slack()}


@method("users.info")
def users_info(ctx: Context, args: Args) -> JSON:
    user = ctx.team.users.get(args.required("user", error="user_not_found"))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_slack(ctx.now)}


@method("emoji.list")
def emoji_list(ctx: Context, args: Args) -> JSON:
    """The workspace's custom emoji, name → image URL or `alias:<name>` (docs.slack.dev/reference/methods/
    emoji.list: emoji:read, Tier 2); the standard set isn't listed."""
    return {"emoji": dict(ctx.team.emoji), "cache_ts": f"{int(ctx.now)}.000000"}


@method("users.list")
def users_list(ctx: Context, args: Args) -> JSON:
    """Every member of the workspace, deactivated ones and bots included and flagged (`deleted`,
    `is_bot`), in pages: without `limit` Slack tries to answer the whole list, with one it answers that
    many and a `response_metadata.next_cursor` for the rest (docs.slack.dev/reference/methods/users.list:
    "no more than 200 results at a time" recommended; `invalid_cursor` for a cursor it didn't give).
    """
    users = sorted(ctx.team.users.values(), key=lambda u: u.id)
    page, metadata = _offset_page(args, users, default=max(len(users), 1), most=1000)
    members = [u.to_slack(ctx.now) for u in page]
    return {"members": members, "cache_ts": int(ctx.now), "response_metadata": metadata}


# ---- chat ---------------------------------------------------------------------------------------


@method("chat.postMessage")
def chat_post_message(ctx: Context, args: Args) -> JSON:
    channel = _open(_to_app_messages(ctx, _conversation(ctx, args.get("channel"))))
    text, blocks = _text(args, None), _blocks(args)
    attachments = args.parsed("attachments", error="invalid_attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    thread_ts, parent_user = _thread_ts(ctx, channel, args.get("thread_ts"))
    metadata = args.parsed("metadata", error="invalid_metadata_format")
    if metadata is not None and not (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and "event_payload" in metadata
    ):
        raise SlackError("invalid_metadata_format")
    message = payloads.bot_message(
        ctx.team,
        ctx.state.app_id,
        ctx.state.next_ts(),
        ctx.now,
        text or "",
        blocks=blocks,
        attachments=attachments,
        thread_ts=thread_ts,
        parent_user_id=parent_user,
        reply_broadcast=args.flag("reply_broadcast"),
        metadata=metadata,
    )
    ctx.state.keep_message(channel, message)
    return {"channel": channel.id, "ts": message["ts"], "message": ctx.state.render(channel, message)}


@method("chat.postEphemeral")
def chat_post_ephemeral(ctx: Context, args: Args) -> JSON:
    channel = _open(_to_app_messages(ctx, _conversation(ctx, args.get("channel"))))
    user = args.required("user", error="user_not_in_channel")
    if user not in channel.members:
        raise SlackError("user_not_in_channel")
    if not _text(args, MAX_TEXT) and not _blocks(args) and not args.parsed("attachments"):
        raise SlackError("no_text")
    thread_ts, _ = _thread_ts(ctx, channel, args.get("thread_ts"))
    # Seen only by `user` and never kept in the channel's history; kept aside so that they can click
    # its buttons (a `block_actions` whose container says `is_ephemeral`).
    ts = ctx.state.next_ts()
    shown: JSON = {"type": "message", "ts": ts, "text": args.get("text") or "", "bot_id": ctx.team.bot_id}
    blocks = _blocks(args)
    if blocks is not None:
        shown["blocks"] = payloads.with_block_ids(blocks)
    if thread_ts is not None:
        shown["thread_ts"] = thread_ts
    ctx.state.ephemerals[(ctx.team.id, channel.id, ts)] = Ephemeral(user, shown)
    return {"message_ts": ts}


def _own_message(ctx: Context, channel: Channel, ts: str | None, error: str) -> JSON:
    if ts is None:
        raise SlackError("message_not_found")
    message = ctx.state.message(channel, ts)
    if message.get("bot_id") != ctx.team.bot_id:
        raise SlackError(error)
    return message


@method("chat.update")
def chat_update(ctx: Context, args: Args) -> JSON:
    channel = _open(_conversation(ctx, args.get("channel")), "is_inactive")
    message = _own_message(ctx, channel, args.get("ts"), "cant_update_message")
    text, blocks = _text(args, UPDATE_TEXT), _blocks(args)
    attachments = args.parsed("attachments", error="invalid_attachments")
    if text is None and blocks is None and attachments is None:
        raise SlackError("no_text")
    if text is not None:
        message["text"] = text
    if blocks is not None:
        message["blocks"] = payloads.with_block_ids(blocks)
    elif text is not None:
        # "If the text argument is provided and blocks are not provided, the blocks will be removed".
        message.pop("blocks", None)
    if attachments is not None:
        message["attachments"] = attachments
    if message.get("blocks"):
        # "If blocks are used … the edited flag will not be displayed on the message".
        message.pop("edited", None)
    else:
        message["edited"] = {"user": ctx.team.bot_user_id, "ts": ctx.state.next_ts()}
    rendered = ctx.state.render(channel, message)
    return {"channel": channel.id, "ts": message["ts"], "text": message["text"], "message": rendered}


@method("chat.delete")
def chat_delete(ctx: Context, args: Args) -> JSON:
    channel = _conversation(ctx, args.get("channel"))
    message = _own_message(ctx, channel, args.get("ts"), "cant_delete_message")
    ctx.state.remove_message(channel, message["ts"])
    return {"channel": channel.id, "ts": message["ts"]}


@method("chat.getPermalink")
def chat_get_permalink(ctx: Context, args: Args) -> JSON:
    channel = _conversation(ctx, args.get("channel"), need_member=False)
    message = ctx.state.message(channel, args.required("message_ts", error="message_not_found"))
    link = f"{ctx.team.url}archives/{channel.id}/p{message['ts'].replace('.', '')}"
    if message.get("thread_ts") not in (None, message["ts"]):
        link += f"?thread_ts={message['thread_ts']}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


# ---- reactions ----------------------------------------------------------------------------------


def _reaction_target(ctx: Context, args: Args) -> tuple[Channel, JSON, str]:
    channel_ref, ts = args.get("channel"), args.get("timestamp")
    if channel_ref is None or ts is None:
        raise SlackError("no_item_specified")
    name = (args.get("name") or "").strip(":")
    if not name:
        raise SlackError("invalid_name")
    if not is_ts(ts):
        raise SlackError("bad_timestamp")
    channel = _conversation(ctx, channel_ref)
    return channel, ctx.state.message(channel, ts), name


@method("reactions.add")
def reactions_add(ctx: Context, args: Args) -> JSON:
    channel, message, name = _reaction_target(ctx, args)
    _open(channel)
    if not ctx.state.add_reaction(message, name, ctx.team.bot_user_id):
        raise SlackError("already_reacted")
    return {}


@method("reactions.remove")
def reactions_remove(ctx: Context, args: Args) -> JSON:
    _, message, name = _reaction_target(ctx, args)
    if not ctx.state.remove_reaction(message, name, ctx.team.bot_user_id):
        raise SlackError("no_reaction")
    return {}


@method("reactions.get")
def reactions_get(ctx: Context, args: Args) -> JSON:
    channel_ref, ts = args.get("channel"), args.get("timestamp")
    if channel_ref is None or ts is None:
        raise SlackError("no_item_specified")
    channel = _conversation(ctx, channel_ref)
    message = ctx.state.message(channel, ts)
    return {"type": "message", "channel": channel.id, "message": ctx.state.render(channel, message)}


# ---- conversations ------------------------------------------------------------------------------


@method("conversations.info")
def conversations_info(ctx: Context, args: Args) -> JSON:
    channel = _conversation(ctx, args.get("channel"), need_member=False)
    return {"channel": channel.to_slack(ctx.team.bot_user_id, args.flag("include_num_members"), ctx.team.id)}


@method("conversations.list")
def conversations_list(ctx: Context, args: Args) -> JSON:
    types = set((args.get("types") or "public_channel").split(","))
    bot = ctx.team.bot_user_id
    out = []
    for channel in ctx.team.channels.values():
        kind = "im" if channel.is_im else "private_channel" if channel.is_private else "public_channel"
        visible = kind == "public_channel" or bot in channel.members
        if kind in types and visible:
            out.append(channel.to_slack(bot, context_team_id=ctx.team.id))
    return {"channels": out, "response_metadata": {"next_cursor": ""}}


def _cursor_start(args: Args) -> int | None:
    """Where a paginated read resumes: the message ts its cursor names, or None on the first page."""
    cursor = args.get("cursor")
    if cursor is None:
        return None
    decoded = decode_cursor(cursor, "next_ts")
    if decoded is None:
        raise SlackError("invalid_cursor")
    return ts_key(decoded)


@method("conversations.history")
def conversations_history(ctx: Context, args: Args) -> JSON:
    channel = _conversation(ctx, args.get("channel"))
    limit = _history_page(ctx, args, 100, 999)
    oldest, latest = _bound(args, "oldest"), _bound(args, "latest")
    inclusive = args.flag("inclusive")
    start = _cursor_start(args)
    newest_first = [
        m
        for m in reversed(ctx.state.timeline(channel))
        if _in_bounds(m["ts"], oldest, latest, inclusive) and (start is None or ts_key(m["ts"]) <= start)
    ]
    page, rest = newest_first[:limit], newest_first[limit:]
    include_metadata = args.flag("include_all_metadata")
    return {
        "messages": [ctx.state.render(channel, m, include_metadata) for m in page],
        "has_more": bool(rest),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": encode_cursor("next_ts", rest[0]["ts"]) if rest else ""},
    }


@method("conversations.replies")
def conversations_replies(ctx: Context, args: Args) -> JSON:
    channel = _conversation(ctx, args.get("channel"))
    ts = args.required("ts", error="thread_not_found")
    if not is_ts(ts):
        raise SlackError("thread_not_found")
    parent = ctx.state.thread_parent(channel, ts)
    limit = _history_page(ctx, args, 1000, 1000)
    oldest, latest = _bound(args, "oldest"), _bound(args, "latest")
    inclusive = args.flag("inclusive")
    start = _cursor_start(args)
    replies = [
        r
        for r in ctx.state.replies_of(channel, parent["ts"])
        if _in_bounds(r["ts"], oldest, latest, inclusive) and (start is None or ts_key(r["ts"]) >= start)
    ]
    # The first page starts with the thread's parent, also when `ts` names a reply, and `limit` counts
    # it; later pages (with a cursor) hold replies only (docs.slack.dev/reference/methods/
    # conversations.replies: "ts: Unique identifier of either a thread's parent message or a message in
    # the thread"; its example answer lists the parent first).
    listed = replies if start is not None else [parent, *replies]
    page, rest = listed[:limit], listed[limit:]
    include_metadata = args.flag("include_all_metadata")
    return {
        "messages": [ctx.state.render(channel, m, include_metadata) for m in page],
        "has_more": bool(rest),
        "response_metadata": {"next_cursor": encode_cursor("next_ts", rest[0]["ts"]) if rest else ""},
    }


@method("conversations.members")
def conversations_members(ctx: Context, args: Args) -> JSON:
    channel = _conversation(ctx, args.get("channel"), need_member=False)
    page, metadata = _offset_page(args, sorted(channel.members), default=100, most=1000)
    return {"members": page, "response_metadata": metadata}


def _offset_page(args: Args, items: list[Any], *, default: int, most: int) -> tuple[list[Any], JSON]:
    """One page of ``items`` from the offset the cursor names, and the metadata naming the next one."""
    limit = _page_size(args, default, most)
    offset = 0
    cursor = args.get("cursor")
    if cursor is not None:
        decoded = decode_cursor(cursor, "offset")
        if decoded is None or not decoded.isdigit():
            raise SlackError("invalid_cursor")
        offset = int(decoded)
    more = offset + limit < len(items)
    return items[offset : offset + limit], {
        "next_cursor": encode_cursor("offset", str(offset + limit)) if more else ""
    }


@method("users.conversations")
def users_conversations(ctx: Context, args: Args) -> JSON:
    """The conversations a person is in (the bot itself without `user`): every public channel they are a
    member of, but private channels and direct messages only where the bot is a member too ("Private
    channel membership is only listed when the calling user, bot user, or app shares membership",
    docs.slack.dev/reference/methods/users.conversations). Without `is_member` and `num_members`, as
    Slack omits them here; `limit` at most 999."""
    bot = ctx.team.bot_user_id
    user = args.get("user") or bot
    types = set((args.get("types") or "public_channel").split(","))
    exclude_archived = args.flag("exclude_archived")
    listed = []
    for channel in sorted(ctx.team.channels.values(), key=lambda c: c.id):
        kind = "im" if channel.is_im else "private_channel" if channel.is_private else "public_channel"
        shared = kind == "public_channel" or bot in channel.members
        if (
            kind in types
            and user in channel.members
            and shared
            and not (exclude_archived and channel.archived)
        ):
            info = channel.to_slack(bot, context_team_id=ctx.team.id)
            info.pop("is_member", None)
            listed.append(info)
    page, metadata = _offset_page(args, listed, default=100, most=999)
    return {"channels": page, "response_metadata": metadata}


@method("conversations.join")
def conversations_join(ctx: Context, args: Args) -> JSON:
    channel = _open(_conversation(ctx, args.get("channel"), need_member=False))
    if channel.is_private or channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")
    channel.members.add(ctx.team.bot_user_id)
    return {"channel": channel.to_slack(ctx.team.bot_user_id, context_team_id=ctx.team.id)}


@method("conversations.open")
def conversations_open(ctx: Context, args: Args) -> JSON:
    channel_ref, users = args.get("channel"), args.get("users")
    if channel_ref is not None:
        channel = _conversation(ctx, channel_ref, need_member=False)
    elif users is not None:
        ids = [u.strip() for u in users.split(",") if u.strip()]
        if len(ids) != 1:
            raise SlackError("not_enough_users" if not ids else "too_many_users")
        channel = ctx.state.im_channel(ctx.team, ids[0])
    else:
        raise SlackError("users_list_not_supplied")
    if args.flag("return_im"):
        return {"channel": channel.to_slack(ctx.team.bot_user_id, context_team_id=ctx.team.id)}
    return {"channel": {"id": channel.id}}


# ---- views --------------------------------------------------------------------------------------


def _view_arg(args: Args, kind: str) -> JSON:
    view = args.parsed("view")
    if not isinstance(view, dict):
        raise invalid_arguments("missing required field: view")
    if view.get("type") != kind:
        raise invalid_arguments(f"must be '{kind}' [json-pointer:/view/type]")
    if not isinstance(view.get("blocks"), list):
        raise invalid_arguments("missing required field: blocks [json-pointer:/view/blocks]")
    if kind == "modal" and not isinstance(view.get("title"), dict):
        raise invalid_arguments("missing required field: title [json-pointer:/view/title]")
    try:
        found = block_kit.view_problems(view)
        found += block_kit.problems(view["blocks"], limit=block_kit.VIEW_BLOCKS, pointer="/view/blocks")
    except block_kit.Malformed:
        raise invalid_arguments("failed to match all allowed schemas [json-pointer:/view/blocks]") from None
    if found:
        raise invalid_arguments(*found)
    return view


def store_view(
    state: State,
    team: Team,
    view: JSON,
    view_id: str | None = None,
    root_id: str | None = None,
    previous_id: str | None = None,
) -> JSON:
    """Keeps a view as Slack returns it (block ids, action ids of inputs, a fresh hash); a copy back."""
    view_id = view_id or state.new_id("V0", 9)
    stored = {
        "id": view_id,
        "team_id": team.id,
        "type": view["type"],
        "blocks": payloads.with_input_action_ids(payloads.with_block_ids(view["blocks"])),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{int(state.now())}.{secrets.token_hex(4)}",
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous_id,
        "root_view_id": root_id or view_id,
        "app_id": state.app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": team.id,
        "bot_id": team.bot_id,
    }
    state.views[view_id] = stored
    return copy.deepcopy(stored)


@method("views.publish")
def views_publish(ctx: Context, args: Args) -> JSON:
    user_id = args.required("user_id")
    if user_id not in ctx.team.users:
        raise SlackError("user_not_found")
    view = _view_arg(args, "home")
    key = (ctx.team.id, user_id)
    previous_id = ctx.state.home_views.get(key)
    expected = args.get("hash")
    if expected is not None and previous_id is not None and ctx.state.views[previous_id]["hash"] != expected:
        raise SlackError("hash_conflict")
    stored = store_view(ctx.state, ctx.team, view, view_id=previous_id)
    ctx.state.home_views[key] = stored["id"]
    return {"view": stored}


def _open_modal(ctx: Context, args: Args, push: bool) -> JSON:
    trigger_id = args.required("trigger_id")
    view = _view_arg(args, "modal")
    user_id = ctx.state.trigger_users.get(trigger_id)
    error = ctx.state.consume_trigger(trigger_id, ctx.team.id)
    if error is not None:
        raise SlackError(error)
    # A pushed view goes on top of the person's open modal, in the same stack.
    top = ctx.state.open_modals(ctx.team.id, user_id)[:1] if push and user_id is not None else []
    below = ctx.state.views[top[0]] if top else None
    stored = store_view(
        ctx.state,
        ctx.team,
        view,
        root_id=below["root_view_id"] if below else None,
        previous_id=below["id"] if below else None,
    )
    ctx.state.modals[stored["id"]] = Modal(ctx.team.id, user_id)
    return {"view": stored}


@method("views.open")
def views_open(ctx: Context, args: Args) -> JSON:
    return _open_modal(ctx, args, push=False)


@method("views.push")
def views_push(ctx: Context, args: Args) -> JSON:
    return _open_modal(ctx, args, push=True)


@method("views.update")
def views_update(ctx: Context, args: Args) -> JSON:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    found = None
    for stored in ctx.state.views.values():
        if stored["team_id"] == ctx.team.id and (
            stored["id"] == view_id or (external_id and stored["external_id"] == external_id)
        ):
            found = stored
    if found is None:
        raise SlackError("not_found")
    view = _view_arg(args, found["type"])
    expected = args.get("hash")
    if expected is not None and found["hash"] != expected:
        raise SlackError("hash_conflict")
    updated = store_view(
        ctx.state,
        ctx.team,
        view,
        view_id=found["id"],
        root_id=found["root_view_id"],
        previous_id=found["previous_view_id"],
    )
    return {"view": updated}


# ---- files --------------------------------------------------------------------------------------


@method("files.getUploadURLExternal")
def files_get_upload_url_external(ctx: Context, args: Args) -> JSON:
    filename = args.required("filename")
    length = args.integer("length", -1)
    if length < 0:
        raise invalid_arguments("missing required field: length")
    file_id = ctx.state.new_id("F0", 9)
    ctx.state.files[file_id] = StoredFile(
        id=file_id,
        team_id=ctx.team.id,
        user=ctx.team.bot_user_id,
        filename=filename,
        length=length,
        alt_txt=args.get("alt_txt"),
        snippet_type=args.get("snippet_type"),
    )
    # Served by the emulator itself, on loopback, where Slack would hand out files.slack.com.
    return {"upload_url": f"{ctx.base_url}/_emulator/upload/{file_id}", "file_id": file_id}


def _file_info(ctx: Context, stored: StoredFile, title: str | None) -> JSON:
    name = stored.filename
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
    url = f"{ctx.base_url}/_emulator/files/{stored.id}/{name}"
    return {
        "id": stored.id,
        "created": int(ctx.now),
        "timestamp": int(ctx.now),
        "name": name,
        "title": title or name,
        "mimetype": mimetype,
        "filetype": stored.snippet_type or extension,
        "pretty_type": extension.upper(),
        "user": stored.user,
        "user_team": ctx.team.id,
        "editable": False,
        "size": len(stored.data or b""),
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": False,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": url,
        "url_private_download": url,
        "permalink": f"{ctx.team.url}files/{stored.user}/{stored.id}/{name}",
        "permalink_public": f"https://slack-files.com/{ctx.team.id}-{stored.id}",
        "alt_txt": stored.alt_txt,
        "has_rich_preview": False,
        "file_access": "visible",
        "shares": {},
        "channels": [],
        "groups": [],
        "ims": [],
        "comments_count": 0,
    }


@method("files.completeUploadExternal")
def files_complete_upload_external(ctx: Context, args: Args) -> JSON:
    entries = args.parsed("files")
    if not isinstance(entries, list) or not entries:
        raise invalid_arguments("missing required field: files")
    stored_files: list[tuple[StoredFile, str | None]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise invalid_arguments("files must be objects with an id")
        stored = ctx.state.files.get(str(entry.get("id")))
        if stored is None or stored.team_id != ctx.team.id or stored.data is None:
            raise SlackError("file_not_found")
        stored_files.append((stored, entry.get("title")))
    refs = [c for c in [args.get("channel_id"), *(args.get("channels") or "").split(",")] if c]
    channels = [_to_app_messages(ctx, _conversation(ctx, ref)) for ref in refs]
    infos = [_file_info(ctx, stored, title) for stored, title in stored_files]
    for channel in channels:
        thread_ts, parent_user = _thread_ts(ctx, channel, args.get("thread_ts"))
        message = payloads.bot_message(
            ctx.team,
            ctx.state.app_id,
            ctx.state.next_ts(),
            ctx.now,
            args.get("initial_comment") or "",
            thread_ts=thread_ts,
            parent_user_id=parent_user,
        )
        share = {"ts": message["ts"], "channel_name": channel.name, "team_id": ctx.team.id}
        if thread_ts:
            share["thread_ts"] = thread_ts
        for info in infos:
            bucket = "ims" if channel.is_im else "groups" if channel.is_private else "channels"
            info[bucket].append(channel.id)
            visibility = "private" if channel.is_private or channel.is_im else "public"
            info["shares"].setdefault(visibility, {}).setdefault(channel.id, []).append(share)
        message.update({"files": [dict(i) for i in infos], "upload": True, "display_as_bot": False})
        ctx.state.keep_message(channel, message)
    for (stored, _), info in zip(stored_files, infos, strict=True):
        stored.info = info
    return {"files": infos}


@method("files.info")
def files_info(ctx: Context, args: Args) -> JSON:
    stored = ctx.state.files.get(args.required("file", error="file_not_found"))
    if stored is None or stored.team_id != ctx.team.id or stored.info is None:
        raise SlackError("file_not_found")
    return {"file": stored.info, "comments": [], "response_metadata": {"next_cursor": ""}}


# ---- Socket Mode --------------------------------------------------------------------------------


@method("apps.connections.open")
def apps_connections_open(ctx: Context, args: Args) -> JSON:
    if ctx.token_kind != "app":  # noqa: S105
        raise SlackError("not_allowed_token_type")
    ws_base = "ws" + ctx.base_url.removeprefix("http")
    ticket = ctx.state.issue_ticket()
    return {"url": f"{ws_base}/socket-mode?ticket={ticket}&app_id={ctx.state.app_id}"}


# ---- the routes ---------------------------------------------------------------------------------


class WebApi:
    """`/api/<method>` and the file URLs, over the world in `State`."""

    def __init__(self, state: State, base_url: Callable[[], str]) -> None:
        self.state = state
        # Known only once the server listens, and handed out in upload URLs and Socket Mode URLs.
        self.base_url = base_url

    async def call(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        values: JSON = dict(request.query)
        result: ApiResult | None = None
        if request.method == "POST":
            if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                values.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                raw = await request.text()
                if request.content_type == "application/json" and raw.strip():
                    try:
                        parsed = json.loads(raw)
                    except ValueError:
                        result = ApiResult(200, {"ok": False, "error": "invalid_json"})
                    else:
                        if isinstance(parsed, dict):
                            values.update(parsed)
                        else:
                            result = ApiResult(200, {"ok": False, "error": "json_not_object"})
                elif raw.strip():
                    values.update(parse_qsl(raw))
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else values.get("token")
        if result is None:
            result = handle_call(
                self.state, name, values, token if isinstance(token, str) else None, self.base_url()
            )
        else:
            self.state.call_log.record(name, {}, None, False, result.body["error"], token=str(token or ""))
        slow = self.state.faults.trip(name, slow=True)
        if slow is not None:
            # Done already, answered late: a client that dies meanwhile never learns that it worked.
            await asyncio.sleep(slow.delay)
        if result.drop and request.transport is not None:
            request.transport.abort()
        return web.json_response(result.body, status=result.status, headers=result.headers)

    async def upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        with self.state.lock:
            stored = self.state.files.get(file_id)
            if stored is None:
                raise WorldError("file_not_found")
            stored.data = data
            self.state.call_log.record(
                "upload_url", {"file_id": file_id, "length": len(data)}, stored.team_id, True, None
            )
        return web.Response(text=f"OK - {len(data)}")

    async def download(self, request: web.Request) -> web.Response:
        stored = self.state.files.get(request.match_info["file_id"])
        if stored is None or stored.data is None:
            raise WorldError("file_not_found")
        return web.Response(body=stored.data, content_type="application/octet-stream")


def register(router: web.UrlDispatcher, state: State, base_url: Callable[[], str]) -> None:
    """Adds `/api/{method}`, which takes every method not routed before it (as `oauth.v2.access` is)."""
    api = WebApi(state, base_url)
    router.add_route("*", "/api/{method}", api.call)
    router.add_post("/_emulator/upload/{file_id}", api.upload)
    router.add_get("/_emulator/files/{file_id}/{name}", api.download)
