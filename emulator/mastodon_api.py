"""Mastodon's public REST API, as twoway's watcher reads it with no account: several instances, each
under `/mastodon/<instance>/` on the emulator's one port (so `TWOWAY_MASTODON_API_URL=<base>/mastodon`).

What each instance answers, as docs.joinmastodon.org documents it (methods/statuses, entities/Status,
entities/Account, api/rate-limits):

- `GET /api/v1/statuses/:id`: the Status entity (`id`, `uri`, `url`, `created_at`, `account` {`id`,
  `username`, `acct`, `url`, `display_name`…}, `content` in HTML, `in_reply_to_id`,
  `in_reply_to_account_id`, `replies_count`, `reblogs_count`, `favourites_count`, `visibility`…). A status
  that was deleted, never existed, or is `private` or `direct` answers 404 `{"error": "Record not found"}`.
- `GET /api/v1/statuses/:id/context`: `{ancestors, descendants}`, flat lists of Status. Unauthenticated,
  as documented: at most 40 ancestors (the nearest, root first) and 60 descendants at most 20 replies
  deep. Descendants come in thread order as Mastodon's own query gives them (depth first, siblings
  oldest first, the 60 taken before deleted ones are dropped), then the author's replies to themselves
  brought to the top, as Mastodon's `promote_by!` does. A deleted reply's own replies stay listed, naming
  a parent that is not there. Private and direct statuses are left out.
- `replies_count` is Mastodon's: the public and unlisted replies made directly to the status and not
  deleted. An account from another instance has acct `user@other.instance`; a local one just `user`.
- An instance nothing was ever posted to answers 404 with a plain-text body, as a web server that is
  not Mastodon would.

Rate limits: every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
(ISO 8601, microseconds, the end of the fixed window, as Mastodon's Rack::Attack sets it). Enforcement is
off by default (the headers then always say the whole allowance is left); on, each instance allows 300
requests per 5 minutes per client IP, and a request over that gets what Mastodon answers: 429
`{"error": "Too many requests"}` with `X-RateLimit-Remaining: 0` and no `Retry-After`.

Faults, each for the next `count` requests (all of them when not given), optionally only on one
`instance` and one `path` (a route such as `/api/v1/statuses/:id/context`, or a concrete path): `status`
429 answers `{"error": "Too many requests"}` with `Retry-After` (seconds) and the rate-limit headers;
500 or 503 answer `{"error": …}`; `delay` seconds with no `status` answers correctly, only that late.

The call log lists each request to an instance: `{instance, path, route, query, at, user_agent, status}`.

From Python, on `emulator.state.mastodon` (a `Mastodon`): `post(instance, author, content,
in_reply_to=None, …) -> str` (the status id; `author` is `user@home.instance`), `delete(instance, id)`,
`set_counts(instance, id, reblogs=, favourites=)`, `status_json(instance, id)`, `add_fault(MastodonFault)`,
`clear_faults()`, `enforce_limits(limit=300, period=300)`, `lift_limits()`, `calls(instance=None,
route=None)`, `clear_calls()`.

Over HTTP, for other processes (JSON bodies; mistakes answer 4xx `{"ok": false, "error"}`):

- `POST /_emulator/mastodon/statuses {instance, author, content, in_reply_to_id?, visibility?,
  reblogs?, favourites?, created_at?, id?}` answers `{ok, status}` (the Status as the instance serves it);
  `POST /_emulator/mastodon/delete {instance, id}`; `POST /_emulator/mastodon/counts {instance, id,
  reblogs?, favourites?}`
- `GET|POST|DELETE /_emulator/mastodon/faults {status?, count?, instance?, path?, retry_after?, delay?}`
- `GET|POST|DELETE /_emulator/mastodon/limits {limit?, period?}`
- `GET|DELETE /_emulator/mastodon/calls[?instance=&route=]`
"""

from __future__ import annotations

import asyncio
import copy
import html
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from emulator.control import JSON, WorldError, control_body, number, text

# docs.joinmastodon.org/api/rate-limits: `* /api/*`, IP access, 300 per 5 minutes.
LIMIT = 300
PERIOD = 300
# docs.joinmastodon.org/methods/statuses#context: "Public for public statuses limited to 40 ancestors
# and 60 descendants with a maximum depth of 20."
CONTEXT_ANCESTORS = 40
CONTEXT_DESCENDANTS = 60
CONTEXT_DEPTH = 20

STATUS_ROUTE = "/api/v1/statuses/:id"
CONTEXT_ROUTE = "/api/v1/statuses/:id/context"
VISIBILITIES = ("public", "unlisted", "private", "direct")
NOT_FOUND = {"error": "Record not found"}
# config/locales/en.yml `errors.429`, which Rack::Attack's throttled responder answers.
TOO_MANY = {"error": "Too many requests"}
SERVER_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def iso(moment: float, digits: int = 3) -> str:
    """Mastodon's datetime: UTC, with milliseconds (or microseconds), and a Z."""
    stamp = datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")[: 20 + digits]
    return stamp.removesuffix(".") + "Z"


@dataclass
class Account:
    """A person as one instance knows them; ``domain`` is their home instance."""

    id: str
    username: str
    domain: str
    display_name: str
    created_at: float

    def acct(self, instance: str) -> str:
        return self.username if self.domain == instance else f"{self.username}@{self.domain}"

    @property
    def url(self) -> str:
        return f"https://{self.domain}/@{self.username}"

    def to_json(self, instance: str, statuses: int) -> JSON:
        return {
            "id": self.id,
            "username": self.username,
            "acct": self.acct(instance),
            "display_name": self.display_name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": iso(self.created_at),
            "note": "",
            "url": self.url,
            "uri": f"https://{self.domain}/users/{self.username}",
            "avatar": f"https://{instance}/avatars/original/missing.png",
            "avatar_static": f"https://{instance}/avatars/original/missing.png",
            "header": f"https://{instance}/headers/original/missing.png",
            "header_static": f"https://{instance}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": statuses,
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }


@dataclass
class Status:
    id: str
    instance: str
    account: Account
    content: str
    created_at: float
    in_reply_to_id: str | None = None
    visibility: str = "public"
    reblogs: int = 0
    favourites: int = 0
    deleted: bool = False

    @property
    def public(self) -> bool:
        return not self.deleted and self.visibility in ("public", "unlisted")


@dataclass
class Instance:
    """One Mastodon server: its accounts (local ids) and the statuses it has, by id."""

    host: str
    accounts: dict[tuple[str, str], Account] = field(default_factory=dict)
    statuses: dict[str, Status] = field(default_factory=dict)

    def children(self, status_id: str) -> list[Status]:
        return sorted(
            (s for s in self.statuses.values() if s.in_reply_to_id == status_id), key=lambda s: int(s.id)
        )


@dataclass
class MastodonFault:
    """The next ``count`` requests (all, when None) matching ``instance`` and ``path`` fail with
    ``status`` (429, 5xx), or, with ``status`` None, answer ``delay`` seconds late."""

    status: int | None = 429
    count: int | None = 1
    instance: str | None = None
    path: str | None = None
    retry_after: int = 1
    delay: float = 0.0
    fired: int = 0

    def matches(self, instance: str, route: str, path: str) -> bool:
        return self.instance in (None, instance) and self.path in (None, route, path)

    def to_json(self) -> JSON:
        return {
            "status": self.status,
            "count": self.count,
            "instance": self.instance,
            "path": self.path,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "fired": self.fired,
        }


@dataclass
class _Window:
    start: int
    count: int = 0


class Mastodon:
    """Every emulated instance, with the faults, limits and call log of this network; safe from any thread."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.instances: dict[str, Instance] = {}
        self.faults: list[MastodonFault] = []
        # (limit, period) when enforced; None: off.
        self.limits: tuple[int, int] | None = None
        self.refused = 0
        self._windows: dict[tuple[str, str], _Window] = {}
        self._calls: list[JSON] = []
        self._last_id = 0

    # ---- the world -------------------------------------------------------------------------

    def _instance(self, host: str) -> Instance:
        host = host.lower()
        instance = self.instances.get(host)
        if instance is None:
            instance = self.instances[host] = Instance(host)
        return instance

    def _account(self, instance: Instance, author: str) -> Account:
        username, _, domain = author.lstrip("@").partition("@")
        if not username:
            raise ValueError("an author is user@instance")
        domain = (domain or instance.host).lower()
        account = instance.accounts.get((username, domain))
        if account is None:
            account = Account(str(len(instance.accounts) + 1), username, domain, username, self.clock())
            instance.accounts[(username, domain)] = account
        return account

    def _new_id(self, moment: float) -> str:
        # Mastodon's ids: milliseconds since the epoch shifted 16 bits, then a sequence.
        with self.lock:
            self._last_id = max(self._last_id + 1, int(moment * 1000) << 16)
            return str(self._last_id)

    def post(
        self,
        instance: str,
        author: str,
        content: str,
        in_reply_to: str | None = None,
        *,
        visibility: str = "public",
        reblogs: int = 0,
        favourites: int = 0,
        created_at: float | None = None,
        status_id: str | None = None,
    ) -> str:
        """A status on ``instance`` by ``author`` (``user@home.instance``; ``user`` alone is local),
        ``content`` in HTML (plain text is wrapped in a paragraph); its id, ``status_id`` when given (a
        link someone already shared), else a new one."""
        if status_id is not None and not status_id.isdigit():
            raise ValueError("a status id is digits")
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility is one of {', '.join(VISIBILITIES)}")
        if reblogs < 0 or favourites < 0:
            raise ValueError("counts are never negative")
        with self.lock:
            where = self._instance(instance)
            if in_reply_to is not None and in_reply_to not in where.statuses:
                raise KeyError(in_reply_to)
            moment = self.clock() if created_at is None else created_at
            account = self._account(where, author)
            if not content.lstrip().startswith("<"):
                content = f"<p>{html.escape(content)}</p>"
            if status_id is not None and status_id in where.statuses:
                raise ValueError(f"status {status_id} exists")
            status = Status(
                status_id or self._new_id(moment),
                where.host,
                account,
                content,
                moment,
                in_reply_to,
                visibility,
                reblogs,
                favourites,
            )
            where.statuses[status.id] = status
            return status.id

    def _status(self, instance: str, status_id: str) -> Status:
        where = self.instances.get(instance.lower())
        if where is None or status_id not in where.statuses:
            raise KeyError(status_id)
        return where.statuses[status_id]

    def delete(self, instance: str, status_id: str) -> None:
        """Deletes a status: it answers 404, and leaves the context and its parent's replies_count."""
        with self.lock:
            self._status(instance, status_id).deleted = True

    def set_counts(
        self, instance: str, status_id: str, *, reblogs: int | None = None, favourites: int | None = None
    ) -> None:
        with self.lock:
            status = self._status(instance, status_id)
            if (reblogs is not None and reblogs < 0) or (favourites is not None and favourites < 0):
                raise ValueError("counts are never negative")
            status.reblogs = status.reblogs if reblogs is None else reblogs
            status.favourites = status.favourites if favourites is None else favourites

    def status_json(self, instance: str, status_id: str) -> JSON:
        """The Status entity as ``instance`` serves it."""
        with self.lock:
            return self._to_json(self.instances[instance.lower()], self._status(instance, status_id))

    def _to_json(self, where: Instance, status: Status) -> JSON:
        account = status.account
        local = account.domain == where.host
        parent = where.statuses.get(status.in_reply_to_id) if status.in_reply_to_id else None
        if local:
            url = f"https://{where.host}/@{account.username}/{status.id}"
        else:
            url = f"https://{account.domain}/@{account.username}/{status.id}"
        authored = sum(1 for s in where.statuses.values() if s.account is account and not s.deleted)
        return {
            "id": status.id,
            "created_at": iso(status.created_at),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": parent.account.id if parent is not None else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": status.visibility,
            "language": "en",
            "uri": f"https://{account.domain}/users/{account.username}/statuses/{status.id}",
            "url": url,
            "replies_count": sum(1 for s in where.children(status.id) if s.public),
            "reblogs_count": status.reblogs,
            "favourites_count": status.favourites,
            "edited_at": None,
            "content": status.content,
            "reblog": None,
            "application": {"name": "Web", "website": None} if local else None,
            "account": account.to_json(where.host, authored),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _context(self, where: Instance, status: Status) -> JSON:
        ancestors: list[Status] = []
        parent_id = status.in_reply_to_id
        while parent_id is not None and parent_id in where.statuses and len(ancestors) < CONTEXT_ANCESTORS:
            parent = where.statuses[parent_id]
            ancestors.append(parent)
            parent_id = parent.in_reply_to_id
        ancestors.reverse()
        # The limit is taken on the tree before deleted and hidden statuses are dropped, as Mastodon's
        # recursive query does (app/models/concerns/status/threading_concern.rb).
        tree = [s for s in _depth_first(where, status.id, 1)][:CONTEXT_DESCENDANTS]
        descendants = [s for s in tree if s.public]
        self_replies = [
            s
            for s in descendants
            if s.in_reply_to_id in where.statuses and where.statuses[s.in_reply_to_id].account is s.account
        ]
        descendants = _promote(descendants, {s.id for s in self_replies})
        return {
            "ancestors": [self._to_json(where, s) for s in ancestors if s.public],
            "descendants": [self._to_json(where, s) for s in descendants],
        }

    # ---- faults, limits, calls ------------------------------------------------------------

    def add_fault(self, fault: MastodonFault) -> None:
        if fault.status is None and not fault.delay > 0:
            raise ValueError("a slow answer needs a delay")
        if fault.status is not None and not (fault.status == 429 or 500 <= fault.status <= 599):
            raise ValueError("a fault's status is 429 or 5xx")
        with self.lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def enforce_limits(self, limit: int = LIMIT, period: int = PERIOD) -> None:
        """Refuses requests over ``limit`` per ``period`` seconds per instance and client, from now on."""
        if limit < 1 or period < 1:
            raise ValueError("a limit and its period are positive")
        with self.lock:
            self.limits = (limit, period)
            self.refused = 0
            self._windows.clear()

    def lift_limits(self) -> None:
        with self.lock:
            self.limits = None
            self._windows.clear()

    def calls(self, instance: str | None = None, route: str | None = None) -> list[JSON]:
        """Copies of the logged requests, oldest first, those of ``instance`` and ``route`` when given."""
        with self.lock:
            return [
                copy.deepcopy(c)
                for c in self._calls
                if instance in (None, c["instance"]) and route in (None, c["route"])
            ]

    def clear_calls(self) -> None:
        with self.lock:
            self._calls.clear()

    def _take_fault(self, instance: str, route: str, path: str, slow: bool) -> MastodonFault | None:
        with self.lock:
            for fault in self.faults:
                if (fault.status is None) == slow and fault.matches(instance, route, path):
                    fault.fired += 1
                    if fault.count is not None and fault.fired >= fault.count:
                        self.faults.remove(fault)
                    return fault
            return None

    def _count(self, instance: str, client: str) -> tuple[dict[str, str], bool]:
        """The rate-limit headers for this request, and whether it is over the limit."""
        with self.lock:
            now = self.clock()
            limit, period = self.limits or (LIMIT, PERIOD)
            start = int(now) - int(now) % period
            reset = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Reset": iso(start + period, 6)}
            if self.limits is None:
                return {**reset, "X-RateLimit-Remaining": str(limit)}, False
            window = self._windows.get((instance, client))
            if window is None or window.start != start:
                window = self._windows[(instance, client)] = _Window(start)
            window.count += 1
            over = window.count > limit
            self.refused += over
            return {**reset, "X-RateLimit-Remaining": str(max(0, limit - window.count))}, over

    # ---- HTTP ------------------------------------------------------------------------------

    async def _answer(self, request: web.Request, route: str) -> web.Response:
        host = request.match_info["instance"].lower()
        status_id = request.match_info["id"]
        path = route.replace(":id", status_id)
        entry: JSON = {
            "instance": host,
            "path": path,
            "route": route,
            "query": dict(request.query),
            "at": self.clock(),
            "user_agent": request.headers.get("User-Agent"),
            "status": 200,
        }
        with self.lock:
            self._calls.append(entry)
        response = await self._respond(request, host, route, path, status_id)
        with self.lock:
            entry["status"] = response.status
        return response

    async def _respond(
        self, request: web.Request, host: str, route: str, path: str, status_id: str
    ) -> web.Response:
        headers, over = self._count(host, request.remote or "")
        if over:
            return web.json_response(TOO_MANY, status=429, headers={**headers, "X-RateLimit-Remaining": "0"})
        fault = self._take_fault(host, route, path, slow=False)
        if fault is not None and fault.status == 429:
            retry = {"Retry-After": str(fault.retry_after), "X-RateLimit-Remaining": "0"}
            return web.json_response(TOO_MANY, status=429, headers={**headers, **retry})
        if fault is not None and fault.status is not None:
            error = {"error": SERVER_ERRORS.get(fault.status, "Internal Server Error")}
            return web.json_response(error, status=fault.status, headers=headers)
        slow = self._take_fault(host, route, path, slow=True)
        if slow is not None:
            await asyncio.sleep(slow.delay)
        with self.lock:
            where = self.instances.get(host)
            if where is None:
                return web.Response(text="Not Found", status=404, content_type="text/plain")
            status = where.statuses.get(status_id)
            if status is None or not status.public:
                return web.json_response(NOT_FOUND, status=404, headers=headers)
            body = self._to_json(where, status) if route == STATUS_ROUTE else self._context(where, status)
        return web.json_response(body, headers=headers)

    async def get_status(self, request: web.Request) -> web.Response:
        return await self._answer(request, STATUS_ROUTE)

    async def get_context(self, request: web.Request) -> web.Response:
        return await self._answer(request, CONTEXT_ROUTE)

    # ---- control endpoints -----------------------------------------------------------------

    async def control_post(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        # Each required: `text` answers 400 `missing_<name>` without it.
        instance, author = text(body, "instance") or "", text(body, "author") or ""
        content = text(body, "content") or ""
        created_at = body.get("created_at")
        try:
            status_id = self.post(
                instance,
                author,
                content,
                text(body, "in_reply_to_id", required=False),
                visibility=text(body, "visibility", required=False) or "public",
                reblogs=int(number(body, "reblogs", 0)),
                favourites=int(number(body, "favourites", 0)),
                created_at=None if created_at is None else number(body, "created_at", 0),
                status_id=text(body, "id", required=False),
            )
        except KeyError:
            raise WorldError("in_reply_to_not_found", 404) from None
        except ValueError as e:
            raise WorldError(f"invalid_status: {e}", 400) from None
        return web.json_response({"ok": True, "status": self.status_json(instance, status_id)})

    async def control_delete(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        try:
            self.delete(text(body, "instance") or "", text(body, "id") or "")
        except KeyError:
            raise WorldError("status_not_found", 404) from None
        return web.json_response({"ok": True})

    async def control_counts(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        instance, status_id = text(body, "instance") or "", text(body, "id") or ""
        reblogs, favourites = body.get("reblogs"), body.get("favourites")
        try:
            self.set_counts(
                instance,
                status_id,
                reblogs=None if reblogs is None else int(number(body, "reblogs", 0)),
                favourites=None if favourites is None else int(number(body, "favourites", 0)),
            )
        except KeyError:
            raise WorldError("status_not_found", 404) from None
        except ValueError:
            raise WorldError("invalid_count", 400) from None
        return web.json_response({"ok": True, "status": self.status_json(instance, status_id)})

    async def control_faults(self, request: web.Request) -> web.Response:
        with self.lock:
            return web.json_response({"ok": True, "faults": [f.to_json() for f in self.faults]})

    async def control_add_fault(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        status = body.get("status")
        count = body.get("count", 1)
        fault = MastodonFault(
            status=None if status is None else int(number(body, "status", 429)),
            count=None if count is None else int(number(body, "count", 1)),
            instance=text(body, "instance", required=False),
            path=text(body, "path", required=False),
            retry_after=int(number(body, "retry_after", 1)),
            delay=number(body, "delay", 0),
        )
        try:
            self.add_fault(fault)
        except ValueError as e:
            raise WorldError(f"invalid_fault: {e}", 400) from None
        return web.json_response({"ok": True, "fault": fault.to_json()})

    async def control_clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.json_response({"ok": True})

    def _limits_json(self) -> JSON:
        with self.lock:
            limit, period = self.limits or (LIMIT, PERIOD)
            return {
                "ok": True,
                "enabled": self.limits is not None,
                "limit": limit,
                "period": period,
                "refused": self.refused,
            }

    async def control_limits(self, request: web.Request) -> web.Response:
        return web.json_response(self._limits_json())

    async def control_set_limits(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        try:
            self.enforce_limits(int(number(body, "limit", LIMIT)), int(number(body, "period", PERIOD)))
        except ValueError:
            raise WorldError("invalid_limit", 400) from None
        return web.json_response(self._limits_json())

    async def control_lift_limits(self, request: web.Request) -> web.Response:
        self.lift_limits()
        return web.json_response(self._limits_json())

    async def control_calls(self, request: web.Request) -> web.Response:
        return web.json_response(self.calls(request.query.get("instance"), request.query.get("route")))

    async def control_clear_calls(self, request: web.Request) -> web.Response:
        self.clear_calls()
        return web.json_response({"ok": True})

    def register(self, router: web.UrlDispatcher) -> None:
        """Every instance's API and the control endpoints, on the emulator's router."""
        router.add_get("/mastodon/{instance}/api/v1/statuses/{id}", self.get_status)
        router.add_get("/mastodon/{instance}/api/v1/statuses/{id}/context", self.get_context)
        router.add_post("/_emulator/mastodon/statuses", self.control_post)
        router.add_post("/_emulator/mastodon/delete", self.control_delete)
        router.add_post("/_emulator/mastodon/counts", self.control_counts)
        router.add_get("/_emulator/mastodon/faults", self.control_faults)
        router.add_post("/_emulator/mastodon/faults", self.control_add_fault)
        router.add_delete("/_emulator/mastodon/faults", self.control_clear_faults)
        router.add_get("/_emulator/mastodon/limits", self.control_limits)
        router.add_post("/_emulator/mastodon/limits", self.control_set_limits)
        router.add_delete("/_emulator/mastodon/limits", self.control_lift_limits)
        router.add_get("/_emulator/mastodon/calls", self.control_calls)
        router.add_delete("/_emulator/mastodon/calls", self.control_clear_calls)


def _depth_first(where: Instance, status_id: str, depth: int) -> Iterator[Status]:
    """Replies under ``status_id`` in Mastodon's `ORDER BY path`, down to CONTEXT_DEPTH."""
    if depth > CONTEXT_DEPTH:
        return
    for child in where.children(status_id):
        yield child
        yield from _depth_first(where, child.id, depth + 1)


def _promote(statuses: list[Status], promoted: set[str]) -> list[Status]:
    """Mastodon's `promote_by!`: the promoted statuses moved up, in order, to follow the leading run
    of promoted ones."""
    lead = 0
    while lead < len(statuses) and statuses[lead].id in promoted:
        lead += 1
    rest = statuses[lead:]
    return statuses[:lead] + [s for s in rest if s.id in promoted] + [s for s in rest if s.id not in promoted]
