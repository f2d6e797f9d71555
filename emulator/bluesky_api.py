"""Bluesky's public AppView, as `https://public.api.bsky.app` answers anyone without an account: the XRPC
methods twoway reads a post's thread and counts with, served under `/bluesky/xrpc/`.

Shapes follow the lexicons in bluesky-social/atproto (`app.bsky.feed.getPostThread`,
`app.bsky.feed.getPosts`, `com.atproto.identity.resolveHandle`, `app.bsky.feed.defs`) and the AppView's
own handlers:

- `GET /bluesky/xrpc/app.bsky.feed.getPostThread?uri=&depth=&parentHeight=`: `{thread, threadgate?}`;
  `thread` an `app.bsky.feed.defs#threadViewPost` (`post`, `parent` up to `parentHeight` (default 80),
  `replies` down to `depth` (default 6, at most 1000), newest first). A deleted reply that others
  answered keeps its place as `#notFoundPost`; one nobody answered is simply gone. A reply whose author
  and the thread's are at odds shows as `#blockedPost`. A reply hidden by the thread's author is still
  listed, and named in the root's threadgate view, `threadgate.record.hiddenReplies`, as the AppView does.
  A missing post is `400 {"error": "NotFound", "message": "Post not found: <uri>"}`.
- `GET /bluesky/xrpc/app.bsky.feed.getPosts?uris=&uris=`: `{posts}`, at most 25 uris; missing posts are
  simply absent.
- `GET /bluesky/xrpc/com.atproto.identity.resolveHandle?handle=`: `{did}`; an unknown handle is
  `400 {"error": "InvalidRequest", "message": "Unable to resolve handle"}`.

Bad parameters are `400 InvalidRequest`, an unknown method `501 MethodNotImplemented`. Every answer carries
the rate-limit headers of atproto's xrpc-server (`ratelimit-limit`, `ratelimit-remaining`,
`ratelimit-reset` in epoch seconds, `ratelimit-policy` as `3000;w=300`), and a refusal carries `Retry-After`
with `429 {"error": "RateLimitExceeded"}`. Bluesky documents no number for the AppView ("generous"), so
the window is its documented per-IP limit for API requests, 3000 per 5 minutes, enforced only when asked.

Tests drive it through `Emulator.state.bluesky` (a `Bluesky`): `account`, `post`, `counts`, `delete`,
`hide`, `block`, `fail`, `enforce_limits`, `calls`, `clear_calls`. Other processes (the demo,
`twoway emulator`) use the same through `/_emulator/bluesky/...` (JSON or form bodies):

- `POST account {handle, did?, display_name?}` -> `{did, handle}`
- `POST post {author (handle or DID), text, reply_to? (at:// URI), created_at?, reposts?, likes?,
  quotes?, rkey?}` -> `{uri, cid, url}`
- `POST counts {uri, reposts?, likes?, quotes?}`, `POST delete {uri}`, `POST hide {uri}` (the thread's
  author hides that reply), `POST block {uri}` (the reply shows as blocked)
- `POST faults {status (429, 5xx, or 200 with delay), count? (default 1), method?, retry_after?, delay?}`,
  `GET faults`, `DELETE faults`: the next `count` requests (to `method` only, when named) fail so, or
  answer `delay` seconds late
- `POST limits {enforce, limit?, window?}`: the rate limit, enforced or only reported
- `GET calls[?method=]`, `DELETE calls`: each request `{method, path, query, status, user_agent, at}`
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import itertools
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from emulator.control import JSON, WorldError, control_body, flag, number, text

PREFIX = "/bluesky/xrpc/"
POST_COLLECTION = "app.bsky.feed.post"
# Lexicon bounds: getPostThread's depth and parentHeight, getPosts' uris.
DEFAULT_DEPTH = 6
DEFAULT_PARENT_HEIGHT = 80
MAX_DEPTH = 1000
MAX_URIS = 25
# The PDS's documented per-IP limit for all API requests (docs.bsky.app, "Rate Limits"); the AppView's
# own is undocumented.
DEFAULT_LIMIT = 3000
DEFAULT_WINDOW = 300
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# A record key's syntax (atproto.com/specs/record-key): 1 to 512 of these, never "." or "..".
RKEY = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9._:~-]{1,512}")


class XrpcError(Exception):
    """An XRPC error answer: `{"error": name, "message": message}` with an HTTP status."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


@dataclass
class Account:
    did: str
    handle: str
    display_name: str | None = None
    created_at: str = ""

    def view(self) -> JSON:
        """`app.bsky.actor.defs#profileViewBasic`."""
        view: JSON = {"did": self.did, "handle": self.handle, "labels": [], "createdAt": self.created_at}
        if self.display_name is not None:
            view["displayName"] = self.display_name
        return view


@dataclass
class Post:
    uri: str
    cid: str
    author: Account
    text: str
    created_at: str
    indexed_at: str
    # Strong refs ({uri, cid}) of the thread's root and the post answered; None for a top-level post.
    root: JSON | None = None
    parent: JSON | None = None
    reposts: int = 0
    likes: int = 0
    quotes: int = 0
    deleted: bool = False
    blocked: bool = False
    # Replies, oldest first; each keeps its place when deleted.
    replies: list[Post] = field(default_factory=list)
    # On a thread's root: the replies its author hid.
    hidden_replies: list[str] = field(default_factory=list)

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[1]

    def record(self) -> JSON:
        record: JSON = {"$type": POST_COLLECTION, "text": self.text, "createdAt": self.created_at}
        if self.root is not None and self.parent is not None:
            record["reply"] = {"root": dict(self.root), "parent": dict(self.parent)}
        return record

    def view(self) -> JSON:
        """`app.bsky.feed.defs#postView`; replyCount counts the direct replies still there."""
        return {
            "uri": self.uri,
            "cid": self.cid,
            "author": self.author.view(),
            "record": self.record(),
            "replyCount": sum(1 for r in self.replies if not r.deleted),
            "repostCount": self.reposts,
            "likeCount": self.likes,
            "quoteCount": self.quotes,
            "indexedAt": self.indexed_at,
            "labels": [],
        }


@dataclass
class Fault:
    """The next `count` requests (to `method` only, when given) answer `status`, or `delay` seconds late."""

    status: int
    count: int = 1
    method: str | None = None
    retry_after: int = 1
    delay: float = 0.0
    fired: int = 0

    def to_json(self) -> JSON:
        return {
            "status": self.status,
            "count": self.count,
            "method": self.method,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "fired": self.fired,
        }


class Bluesky:
    """The emulated AppView's world: accounts, posts, faults, the rate-limit window and the calls log."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self.posts: dict[str, Post] = {}
        self.faults: list[Fault] = []
        self.enforced = False
        self.limit = DEFAULT_LIMIT
        self.window = DEFAULT_WINDOW
        self._window_start = 0.0
        self._used = 0
        self._calls: list[JSON] = []
        self._counter = itertools.count(1)
        self._last_tid = 0

    # The world, as tests and control endpoints shape it.

    def account(self, handle: str, did: str | None = None, display_name: str | None = None) -> Account:
        """The account with ``handle``, made on first mention (its DID a did:plc derived from it)."""
        handle = handle.lower()
        with self.lock:
            known = self.accounts.get(handle)
            if known is not None:
                return known
            digest = base64.b32encode(hashlib.sha256(handle.encode()).digest()).decode().lower()
            made = Account(did or f"did:plc:{digest[:24]}", handle, display_name, self._now_iso())
            self.accounts[handle] = made
            return made

    def post(
        self,
        author: str,
        text: str,
        reply_to: str | None = None,
        *,
        created_at: datetime | None = None,
        reposts: int = 0,
        likes: int = 0,
        quotes: int = 0,
        rkey: str | None = None,
    ) -> Post:
        """A new post by ``author`` (a handle or a DID), answering the post at ``reply_to`` if given;
        ``rkey`` names its record (a link someone already shared), else a new TID does."""
        if rkey is not None and not RKEY.fullmatch(rkey):
            raise WorldError("invalid_rkey", 400)
        with self.lock:
            account = self._account(author)
            parent = self._post(reply_to) if reply_to is not None else None
            if parent is not None and parent.deleted:
                raise WorldError("parent_deleted", 400)
            uri = f"at://{account.did}/{POST_COLLECTION}/{rkey or self._tid()}"
            if uri in self.posts:
                raise WorldError("record_exists", 409)
            written = (created_at or datetime.fromtimestamp(self.clock(), UTC)).astimezone(UTC)
            made = Post(
                uri=uri,
                cid=_cid(f"{uri}\n{text}"),
                author=account,
                text=text,
                created_at=_iso(written),
                indexed_at=self._now_iso(),
                reposts=reposts,
                likes=likes,
                quotes=quotes,
            )
            if parent is not None:
                made.parent = {"uri": parent.uri, "cid": parent.cid}
                made.root = dict(parent.root) if parent.root is not None else dict(made.parent)
                parent.replies.append(made)
            self.posts[uri] = made
            return made

    def counts(
        self, uri: str, *, reposts: int | None = None, likes: int | None = None, quotes: int | None = None
    ) -> Post:
        with self.lock:
            found = self._post(uri)
            found.reposts = found.reposts if reposts is None else reposts
            found.likes = found.likes if likes is None else likes
            found.quotes = found.quotes if quotes is None else quotes
            return found

    def delete(self, uri: str) -> None:
        """The post's author deletes it: gone from getPosts and from its thread."""
        with self.lock:
            self._post(uri).deleted = True

    def hide(self, uri: str) -> None:
        """The thread's author hides the reply at ``uri`` (its root's threadgate lists it)."""
        with self.lock:
            reply = self._post(uri)
            if reply.root is None:
                raise WorldError("not_a_reply", 400)
            root = self._post(reply.root["uri"])
            if uri not in root.hidden_replies:
                root.hidden_replies.append(uri)

    def block(self, uri: str) -> None:
        """The reply's author and the thread's are at odds: the thread shows the reply as blocked."""
        with self.lock:
            self._post(uri).blocked = True

    def fail(
        self,
        status: int,
        count: int = 1,
        method: str | None = None,
        retry_after: int = 1,
        delay: float = 0.0,
    ) -> Fault:
        """The next ``count`` requests answer ``status`` (429 with Retry-After, a 5xx), or with status
        200 answer correctly only ``delay`` seconds late."""
        if not (status == 429 or 500 <= status <= 599 or (status == 200 and delay > 0)) or count < 1:
            raise WorldError("invalid_fault", 400)
        fault = Fault(status, count, method, retry_after, delay)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def enforce_limits(
        self, enforce: bool = True, limit: int = DEFAULT_LIMIT, window: int = DEFAULT_WINDOW
    ) -> None:
        """Refuse requests past ``limit`` a ``window`` of seconds (the headers report it either way)."""
        if limit < 1 or window < 1:
            raise WorldError("invalid_limits", 400)
        with self.lock:
            self.enforced, self.limit, self.window = enforce, limit, window
            self._window_start, self._used = 0.0, 0

    def calls(self, method: str | None = None) -> list[JSON]:
        """Each request, oldest first: `{method, path, query, status, user_agent, at}`."""
        with self.lock:
            return [copy.deepcopy(c) for c in self._calls if method is None or c["method"] == method]

    def clear_calls(self) -> None:
        with self.lock:
            self._calls.clear()

    def register(self, router: web.UrlDispatcher) -> None:
        """Its XRPC methods and control endpoints on the emulator's router."""
        register(router, self)

    @staticmethod
    def url(post: Post) -> str:
        """The post's page on bsky.app."""
        return f"https://bsky.app/profile/{post.author.handle}/post/{post.rkey}"

    # Answering XRPC.

    def answer(self, method: str, query: dict[str, list[str]]) -> JSON:
        """The body of a successful call, or `XrpcError`."""
        with self.lock:
            if method == "app.bsky.feed.getPostThread":
                return self._get_post_thread(query)
            if method == "app.bsky.feed.getPosts":
                return self._get_posts(query)
            if method == "com.atproto.identity.resolveHandle":
                return self._resolve_handle(query)
        raise XrpcError(501, "MethodNotImplemented", "Method Not Implemented")

    def _get_post_thread(self, query: dict[str, list[str]]) -> JSON:
        uri = _one(query, "uri")
        if uri is None:
            raise XrpcError(400, "InvalidRequest", 'Error: Params must have the property "uri"')
        depth = _bounded(query, "depth", DEFAULT_DEPTH)
        height = _bounded(query, "parentHeight", DEFAULT_PARENT_HEIGHT)
        anchor = self._visible(uri)
        if anchor is None:
            raise XrpcError(400, "NotFound", f"Post not found: {uri}")
        thread = self._thread_view(anchor, depth)
        parent = self._parent_view(anchor, height)
        if parent is not None:
            thread["parent"] = parent
        body: JSON = {"thread": thread}
        root = self.posts.get(anchor.root["uri"]) if anchor.root is not None else anchor
        if root is not None and root.hidden_replies:
            body["threadgate"] = _threadgate_view(root)
        return body

    def _thread_view(self, post: Post, depth: int) -> JSON:
        view: JSON = {"$type": "app.bsky.feed.defs#threadViewPost", "post": post.view()}
        if depth > 0:
            view["replies"] = [
                item
                for reply in reversed(post.replies)
                if (item := self._reply_item(reply, depth - 1)) is not None
            ]
        return view

    def _reply_item(self, reply: Post, depth: int) -> JSON | None:
        if reply.deleted:
            # A deleted reply keeps its place only while replies still hang from it.
            if any(not r.deleted for r in reply.replies):
                return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": reply.uri, "notFound": True}
            return None
        if reply.blocked:
            return {
                "$type": "app.bsky.feed.defs#blockedPost",
                "uri": reply.uri,
                "blocked": True,
                "author": {"did": reply.author.did},
            }
        return self._thread_view(reply, depth)

    def _parent_view(self, post: Post, height: int) -> JSON | None:
        if post.parent is None or height <= 0:
            return None
        parent = self.posts.get(post.parent["uri"])
        if parent is None or parent.deleted:
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": post.parent["uri"], "notFound": True}
        view: JSON = {"$type": "app.bsky.feed.defs#threadViewPost", "post": parent.view()}
        grand = self._parent_view(parent, height - 1)
        if grand is not None:
            view["parent"] = grand
        return view

    def _get_posts(self, query: dict[str, list[str]]) -> JSON:
        uris = query.get("uris", [])
        if not uris:
            raise XrpcError(400, "InvalidRequest", 'Error: Params must have the property "uris"')
        if len(uris) > MAX_URIS:
            raise XrpcError(400, "InvalidRequest", f"Error: uris must not have more than {MAX_URIS} elements")
        return {"posts": [found.view() for uri in uris if (found := self._visible(uri)) is not None]}

    def _resolve_handle(self, query: dict[str, list[str]]) -> JSON:
        handle = _one(query, "handle")
        account = self.accounts.get(handle.lower()) if handle else None
        if account is None:
            raise XrpcError(400, "InvalidRequest", "Unable to resolve handle")
        return {"did": account.did}

    # Faults, limits and the log, around every request.

    def trip(self, method: str) -> Fault | None:
        """The fault this request meets, counted; None when it is answered as usual."""
        with self.lock:
            for fault in self.faults:
                if fault.method in (None, method):
                    fault.fired += 1
                    if fault.fired >= fault.count:
                        self.faults.remove(fault)
                    return fault
            return None

    def spend(self) -> tuple[bool, dict[str, str]]:
        """Counts a request against the window: (whether it is refused, the rate-limit headers)."""
        with self.lock:
            now = self.clock()
            if now >= self._window_start + self.window:
                self._window_start, self._used = now, 0
            refused = self.enforced and self._used >= self.limit
            if not refused:
                self._used += 1
            return refused, self._headers(now)

    def _headers(self, now: float) -> dict[str, str]:
        reset = self._window_start + self.window
        return {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(max(0, self.limit - self._used)),
            "ratelimit-reset": str(math.floor(reset)),
            "ratelimit-policy": f"{self.limit};w={self.window}",
        }

    def seconds_to_reset(self) -> int:
        with self.lock:
            return max(1, math.ceil(self._window_start + self.window - self.clock()))

    def log(self, method: str, request: web.Request, status: int) -> None:
        with self.lock:
            self._calls.append(
                {
                    "method": method,
                    "path": request.path,
                    "query": {k: request.query.getall(k) for k in request.query},
                    "status": status,
                    "user_agent": request.headers.get("User-Agent"),
                    "at": self.clock(),
                }
            )

    # Helpers.

    def _account(self, author: str) -> Account:
        if author.startswith("did:"):
            found = next((a for a in self.accounts.values() if a.did == author), None)
            if found is None:
                raise WorldError("account_not_found")
            return found
        return self.account(author)

    def _post(self, uri: str) -> Post:
        found = self.posts.get(uri)
        if found is None:
            raise WorldError("post_not_found")
        return found

    def _visible(self, uri: str) -> Post | None:
        found = self.posts.get(uri)
        return None if found is None or found.deleted else found

    def _tid(self) -> str:
        """A record key as atproto makes them: microseconds since the epoch and a clock id, sortable."""
        micros = max(int(self.clock() * 1_000_000), self._last_tid + 1)
        self._last_tid = micros
        value = (micros << 10) | (next(self._counter) % 1024)
        return "".join(_TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))

    def _now_iso(self) -> str:
        return _iso(datetime.fromtimestamp(self.clock(), UTC))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _cid(content: str) -> str:
    """A CIDv1 (dag-cbor, sha-256) in base32, as records' CIDs are written."""
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + hashlib.sha256(content.encode()).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _bounded(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = _one(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise XrpcError(400, "InvalidRequest", f"Error: {name} must be an integer") from None
    if value < 0:
        raise XrpcError(400, "InvalidRequest", f"Error: {name} can not be less than 0")
    if value > MAX_DEPTH:
        raise XrpcError(400, "InvalidRequest", f"Error: {name} can not be greater than {MAX_DEPTH}")
    return value


def _threadgate_view(root: Post) -> JSON:
    """`app.bsky.feed.defs#threadgateView` of the root's threadgate record."""
    uri = f"at://{root.author.did}/app.bsky.feed.threadgate/{root.rkey}"
    return {
        "uri": uri,
        "cid": _cid(uri + "\n" + "\n".join(root.hidden_replies)),
        "record": {
            "$type": "app.bsky.feed.threadgate",
            "post": root.uri,
            "createdAt": root.created_at,
            "hiddenReplies": list(root.hidden_replies),
        },
        "lists": [],
    }


def _xrpc_error(status: int, error: str, message: str, headers: dict[str, str]) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status, headers=headers)


async def _xrpc(bluesky: Bluesky, request: web.Request) -> web.Response:
    method = request.match_info["method"]
    query = {k: request.query.getall(k) for k in request.query}
    refused, headers = bluesky.spend()
    # A request over the limit is refused before anything else, faults included.
    fault = None if refused else bluesky.trip(method)
    if fault is not None and fault.delay > 0:
        await asyncio.sleep(fault.delay)
    if refused or (fault is not None and fault.status == 429):
        retry = fault.retry_after if fault is not None else bluesky.seconds_to_reset()
        headers = {**headers, "Retry-After": str(retry)}
        response = _xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
    elif fault is not None and fault.status >= 500:
        response = _xrpc_error(fault.status, "InternalServerError", "Internal Server Error", headers)
    else:
        try:
            response = web.json_response(bluesky.answer(method, query), headers=headers)
        except XrpcError as e:
            response = _xrpc_error(e.status, e.error, e.message, headers)
    bluesky.log(method, request, response.status)
    return response


def register(router: web.UrlDispatcher, bluesky: Bluesky) -> None:
    async def xrpc(request: web.Request) -> web.Response:
        return await _xrpc(bluesky, request)

    async def account(request: web.Request) -> web.Response:
        body = await control_body(request)
        made = bluesky.account(
            text(body, "handle") or "", text(body, "did", False), text(body, "display_name", False)
        )
        return web.json_response({"ok": True, "did": made.did, "handle": made.handle})

    async def post(request: web.Request) -> web.Response:
        body = await control_body(request)
        written = text(body, "created_at", False)
        try:
            created_at = datetime.fromisoformat(written) if written else None
        except ValueError:
            raise WorldError("invalid_created_at", 400) from None
        if created_at is not None and created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        made = bluesky.post(
            text(body, "author") or "",
            text(body, "text") or "",
            text(body, "reply_to", False),
            created_at=created_at,
            reposts=int(number(body, "reposts", 0)),
            likes=int(number(body, "likes", 0)),
            quotes=int(number(body, "quotes", 0)),
            rkey=text(body, "rkey", False),
        )
        return web.json_response({"ok": True, "uri": made.uri, "cid": made.cid, "url": bluesky.url(made)})

    async def counts(request: web.Request) -> web.Response:
        body = await control_body(request)

        def count(name: str) -> int | None:
            return None if body.get(name) is None else int(number(body, name, 0))

        bluesky.counts(
            text(body, "uri") or "", reposts=count("reposts"), likes=count("likes"), quotes=count("quotes")
        )
        return web.json_response({"ok": True})

    def acting_on(act: Callable[[str], None]) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            act(text(await control_body(request), "uri") or "")
            return web.json_response({"ok": True})

        return handler

    async def add_fault(request: web.Request) -> web.Response:
        body = await control_body(request)
        fault = bluesky.fail(
            int(number(body, "status", 429)),
            int(number(body, "count", 1)),
            text(body, "method", False),
            int(number(body, "retry_after", 1)),
            number(body, "delay", 0),
        )
        return web.json_response({"ok": True, "fault": fault.to_json()})

    async def list_faults(request: web.Request) -> web.Response:
        with bluesky.lock:
            return web.json_response([f.to_json() for f in bluesky.faults])

    async def clear_faults(request: web.Request) -> web.Response:
        bluesky.clear_faults()
        return web.json_response({"ok": True})

    async def limits(request: web.Request) -> web.Response:
        body = await control_body(request)
        bluesky.enforce_limits(
            flag(body, "enforce", True),
            int(number(body, "limit", DEFAULT_LIMIT)),
            int(number(body, "window", DEFAULT_WINDOW)),
        )
        return web.json_response({"ok": True})

    async def list_calls(request: web.Request) -> web.Response:
        return web.json_response(bluesky.calls(request.query.get("method")))

    async def clear_calls(request: web.Request) -> web.Response:
        bluesky.clear_calls()
        return web.json_response({"ok": True})

    router.add_get(PREFIX + "{method}", xrpc)
    control = "/_emulator/bluesky/"
    router.add_post(control + "account", account)
    router.add_post(control + "post", post)
    router.add_post(control + "counts", counts)
    router.add_post(control + "delete", acting_on(bluesky.delete))
    router.add_post(control + "hide", acting_on(bluesky.hide))
    router.add_post(control + "block", acting_on(bluesky.block))
    router.add_get(control + "faults", list_faults)
    router.add_post(control + "faults", add_fault)
    router.add_delete(control + "faults", clear_faults)
    router.add_post(control + "limits", limits)
    router.add_get(control + "calls", list_calls)
    router.add_delete(control + "calls", clear_calls)
