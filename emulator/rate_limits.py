"""Slack's rate limits, opt-in: token buckets per workspace and method, and per channel for posts.

Slack documents its limits as rates with some burst allowed, not as exact algorithms
(https://docs.slack.dev/apis/web-api/rate-limits): limits apply "per API method per workspace per app";
Tier 4 methods allow "100+ per minute" with "generous burst behavior"; chat.postMessage "generally
allows posting one message per second per channel, while also maintaining a workspace-wide limit",
with "short bursts >1 allowed", and its own page puts that workspace-wide limit at "several hundred
messages per minute". The emulator models each limit as a token bucket holding ``burst`` calls and
refilled at ``per_minute``; the numbers below are the documented rates, the bursts our choice.

A call over a limit gets what Slack answers: HTTP 429, ``{"ok": false, "error": "ratelimited"}`` and
``Retry-After`` in whole seconds (at least 1), the wait until the bucket holds a call again. A refused
call takes nothing from any bucket.

The limits are off unless asked for (``EmulatorSettings(rate_limits=RateLimits())``, ``twoway emulator
--rate-limits``, or the control endpoints):

- ``POST /_emulator/limits {per_channel?: {per_minute, burst}, per_workspace?: {method: {per_minute,
  burst} or null}}``: enforces the limits below, with those given changed (``null`` lifts a method's),
  and counts afresh
- ``GET /_emulator/limits``: ``{ok, enabled, limits, ratelimited: {method: 429s sent}, total}``
- ``DELETE /_emulator/limits``: turns them off; answers as ``GET`` would have, ``enabled`` false
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.control import JSON, WorldError, control_body

if TYPE_CHECKING:
    # For type checking only: the world imports this module for its limiter, so the import would be circular.
    from emulator.world import State

POST_MESSAGE = "chat.postMessage"


class LimitsError(ValueError):
    """Limits that make no sense, named by the field at fault."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class Limit:
    """A token bucket: ``burst`` calls at once, then one every ``60 / per_minute`` seconds."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.per_minute > 0 and math.isfinite(self.per_minute)):
            raise LimitsError("invalid_per_minute")
        if self.burst < 1:
            raise LimitsError("invalid_burst")

    @property
    def per_second(self) -> float:
        return self.per_minute / 60

    def floor_seconds(self, calls: int) -> float:
        """The least time, from full buckets, until ``calls`` calls have all been accepted."""
        return max(0.0, (calls - self.burst) / self.per_second)

    def to_json(self) -> JSON:
        return {"per_minute": self.per_minute, "burst": self.burst}

    @classmethod
    def from_json(cls, value: Any, default: Limit) -> Limit:
        if not isinstance(value, dict):
            raise LimitsError("invalid_limit")
        try:
            per_minute = float(value.get("per_minute", default.per_minute))
            burst = int(value.get("burst", default.burst))
        except (TypeError, ValueError):
            raise LimitsError("invalid_limit") from None
        return cls(per_minute, burst)


# One message a second in a channel, as documented; three at once is our reading of "short bursts".
CHANNEL_POSTS = Limit(per_minute=60, burst=3)
# Slack's tiers (docs.slack.dev/apis/web-api/rate-limits): Tier 1 "1+ per minute", Tier 2 "20+", Tier 3
# "50+", Tier 4 "100+"; the "special" methods auth.test and chat.getPermalink "allow hundreds of
# requests per minute". Bursts are ours: about six seconds' worth, Tier 1 two calls.
TIER_1 = Limit(per_minute=1, burst=2)
TIER_2 = Limit(per_minute=20, burst=3)
TIER_3 = Limit(per_minute=50, burst=5)
TIER_4 = Limit(per_minute=100, burst=10)
HUNDREDS = Limit(per_minute=600, burst=60)
# Each method's tier, from the Facts box of its page on docs.slack.dev (reference/methods/<method>).
# chat.postMessage is special: 300 a minute across a workspace ("several hundred"), plus CHANNEL_POSTS.
WORKSPACE_LIMITS: Mapping[str, Limit] = {
    "auth.test": HUNDREDS,
    "chat.getPermalink": HUNDREDS,
    POST_MESSAGE: Limit(per_minute=300, burst=30),
    "users.list": TIER_2,
    "emoji.list": TIER_2,
    "reactions.remove": TIER_2,
    "conversations.list": TIER_2,
    **dict.fromkeys(
        (
            "team.info",
            "chat.update",
            "chat.delete",
            "reactions.add",
            "reactions.get",
            "conversations.info",
            "conversations.history",
            "conversations.replies",
            "conversations.join",
            "conversations.open",
            "users.conversations",
            "apps.connections.open",
        ),
        TIER_3,
    ),
    **dict.fromkeys(
        (
            "users.info",
            "chat.postEphemeral",
            "conversations.members",
            "views.publish",
            "views.open",
            "views.push",
            "views.update",
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
            "files.info",
        ),
        TIER_4,
    ),
}

# Apps distributed outside the Slack Marketplace, since 29 May 2025: "this method is rate limited to 1
# request per minute. The maximum and default values for the limit parameter have both been reduced to
# 15 objects" (docs.slack.dev/reference/methods/conversations.history and conversations.replies).
# Internal apps and Marketplace apps keep Tier 3.
APP_KINDS = ("internal", "marketplace", "non-marketplace")
NON_MARKETPLACE_METHODS = ("conversations.history", "conversations.replies")
NON_MARKETPLACE = Limit(per_minute=1, burst=1)
NON_MARKETPLACE_PAGE = 15


@dataclass(frozen=True)
class RateLimits:
    """What the emulator enforces: chat.postMessage per channel, and each listed method per workspace."""

    per_channel: Limit = CHANNEL_POSTS
    per_workspace: Mapping[str, Limit] = field(default_factory=lambda: dict(WORKSPACE_LIMITS))

    def to_json(self) -> JSON:
        return {
            "per_channel": self.per_channel.to_json(),
            "per_workspace": {method: limit.to_json() for method, limit in self.per_workspace.items()},
        }

    @classmethod
    def from_json(cls, body: JSON) -> RateLimits:
        """Slack's limits above, with any of them changed by ``body`` (the shape of ``to_json``)."""
        defaults = cls()
        per_channel = defaults.per_channel
        if "per_channel" in body:
            per_channel = Limit.from_json(body["per_channel"], defaults.per_channel)
        per_workspace = dict(defaults.per_workspace)
        methods = body.get("per_workspace", {})
        if not isinstance(methods, dict):
            raise LimitsError("invalid_per_workspace")
        for method, value in methods.items():
            if value is None:
                per_workspace.pop(method, None)
                continue
            default = per_workspace.get(method, Limit(per_minute=100, burst=10))
            per_workspace[method] = Limit.from_json(value, default)
        return cls(per_channel, per_workspace)


@dataclass
class _Bucket:
    tokens: float
    updated: float

    def refill(self, limit: Limit, now: float) -> None:
        self.tokens = min(float(limit.burst), self.tokens + (now - self.updated) * limit.per_second)
        self.updated = now

    def wait(self, limit: Limit) -> float:
        """Seconds until this bucket holds one call (0 when it does, rounding errors forgiven)."""
        missing = 1 - self.tokens
        return missing / limit.per_second if missing > 1e-9 else 0.0


class RateLimiter:
    """The buckets of one emulator, and the count of calls it refused; safe from any thread."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self.refused: Counter[str] = Counter()

    def admit(self, team_id: str, method: str, channel_id: str | None = None) -> int | None:
        """None when the call may go ahead (its calls taken from its buckets); else Retry-After seconds."""
        wanted: list[tuple[tuple[str, str, str], Limit]] = []
        workspace = self.limits.per_workspace.get(method)
        if workspace is not None:
            wanted.append(((team_id, method, ""), workspace))
        if method == POST_MESSAGE and channel_id:
            wanted.append(((team_id, method, channel_id), self.limits.per_channel))
        if not wanted:
            return None
        with self._lock:
            now = self._clock()
            buckets = []
            for key, limit in wanted:
                bucket = self._buckets.get(key)
                if bucket is None:
                    bucket = self._buckets[key] = _Bucket(float(limit.burst), now)
                bucket.refill(limit, now)
                buckets.append((bucket, limit))
            wait = max(bucket.wait(limit) for bucket, limit in buckets)
            if wait > 0:
                self.refused[method] += 1
                # Slack's Retry-After is whole seconds; rounding up never invites a call that fails again.
                return max(1, math.ceil(wait))
            for bucket, _ in buckets:
                bucket.tokens -= 1
            return None

    def to_json(self) -> JSON:
        with self._lock:
            refused = dict(self.refused)
        return {"limits": self.limits.to_json(), "ratelimited": refused, "total": sum(refused.values())}


class LimitsControl:
    """The control endpoints that turn the limits on, read what they refused, and turn them off."""

    def __init__(self, state: State) -> None:
        self.state = state

    async def limits(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, **_limits_json(self.state.limiter)})

    async def set_limits(self, request: web.Request) -> web.Response:
        """Enforces Slack's rate limits from now on, with any of them changed; counts start again."""
        body = await control_body(request)
        try:
            limits = RateLimits.from_json(body)
        except LimitsError as e:
            raise WorldError(e.error, 400) from None
        limiter = RateLimiter(limits)
        with self.state.lock:
            self.state.limiter = limiter
        return web.json_response({"ok": True, **_limits_json(limiter)})

    async def clear_limits(self, request: web.Request) -> web.Response:
        """Stops enforcing rate limits; answers what was refused until now."""
        with self.state.lock:
            limiter, self.state.limiter = self.state.limiter, None
        return web.json_response({"ok": True, **_limits_json(limiter), "enabled": False})


def _limits_json(limiter: RateLimiter | None) -> JSON:
    if limiter is None:
        return {"enabled": False, "limits": None, "ratelimited": {}, "total": 0}
    return {"enabled": True, **limiter.to_json()}


def register(router: web.UrlDispatcher, state: State) -> None:
    control = LimitsControl(state)
    router.add_get("/_emulator/limits", control.limits)
    router.add_post("/_emulator/limits", control.set_limits)
    router.add_delete("/_emulator/limits", control.clear_limits)
