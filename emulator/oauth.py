"""Slack's side of the OAuth install flow: the authorize page and `oauth.v2.access`.

- `GET /oauth/v2/authorize?client_id&scope&state&redirect_uri[&team][&user][&deny]` plays a person
  signed in to `team` (the default team if none) who clicks Allow at once: it answers 302 to
  `redirect_uri?code=…&state=…`. `user` names the installer (default: the team's first person);
  `deny=true` clicks Cancel instead (`redirect_uri?error=access_denied&state=…`). An unknown client id
  or a missing redirect_uri answers 400 `{ok: false, error}`: the emulator has no app configuration to
  find a redirect URL in, so it must be spelled out (Bolt does when `SLACK_REDIRECT_URI` is set).
- `/api/oauth.v2.access` with `code` and the app's client id and secret (HTTP Basic auth, as slack_sdk
  sends them, or form fields) exchanges a code, once and within ten minutes, for a new bot token of
  the code's team, which from then on acts in that workspace in every Web API call. Errors are
  Slack's: `invalid_client_id`, `bad_client_secret`, `invalid_code`, `bad_redirect_uri`. The call is
  in the calls log, without the secret, and obeys faults like any other method.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web
from yarl import URL

from emulator.control import JSON, WorldError
from emulator.world import State

# The emulated app's credentials, unless EmulatorSettings names others.
CLIENT_ID = "1000000000001.1000000000001"
CLIENT_SECRET = "emulator-client-secret"  # noqa: S105 - a fixture of the local emulator
AUTHORIZE_PATH = "/oauth/v2/authorize"
ACCESS_METHOD = "oauth.v2.access"
CODE_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class Grant:
    """What a person approved on the authorize page, waiting for the app to exchange its code."""

    team_id: str
    user_id: str
    scope: str
    redirect_uri: str
    expires_at: float


class OAuth:
    """The authorize page and the code exchange of one emulated app, over the emulator's `State`."""

    def __init__(self, state: State, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        self.state = state
        self.client_id = client_id
        self.client_secret = client_secret
        self.grants: dict[str, Grant] = {}

    def approve(
        self, client_id: str | None, team_id: str | None, user_id: str | None, scope: str, redirect_uri: str
    ) -> str:
        """The code for an approval of `client_id`'s install in `team_id` by `user_id`."""
        if client_id != self.client_id:
            raise WorldError("invalid_client_id", 400)
        with self.state.lock:
            team = self.state.team(team_id)
            if user_id is None:
                people = [u.id for u in team.users.values() if not u.is_bot]
                user_id = people[0] if people else f"U{team.id.removeprefix('T')}ADMIN"
            self.state.ensure_user(team, user_id)
            code = f"{int(self.state.now())}.{secrets.token_hex(16)}"
            self.grants[code] = Grant(
                team.id, user_id, scope, redirect_uri, self.state.now() + CODE_LIFETIME_SECONDS
            )
            return code

    def exchange(self, values: JSON, client_id: str | None, client_secret: str | None) -> JSON:
        """The body of an `oauth.v2.access` answer, `ok` or not; a good code is spent."""
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret is None or not secrets.compare_digest(client_secret, self.client_secret):
            return {"ok": False, "error": "bad_client_secret"}
        code = values.get("code")
        with self.state.lock:
            grant = self.grants.get(code) if isinstance(code, str) else None
            if grant is None or grant.expires_at < self.state.now():
                return {"ok": False, "error": "invalid_code"}
            if values.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
                return {"ok": False, "error": "bad_redirect_uri"}
            del self.grants[str(code)]
            team = self.state.team(grant.team_id)
            token = f"xoxb-{team.id}-{secrets.token_hex(12)}"
            self.state.register_token(token, team.id)
            return {
                "ok": True,
                "access_token": token,
                "token_type": "bot",
                "scope": grant.scope,
                "bot_user_id": team.bot_user_id,
                "app_id": self.state.app_id,
                "team": {"id": team.id, "name": team.name},
                "enterprise": team.enterprise(),
                "authed_user": {"id": grant.user_id},
                "is_enterprise_install": False,
            }

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        redirect_uri = query.get("redirect_uri")
        if not redirect_uri:
            raise WorldError("missing_redirect_uri", 400)
        state = query.get("state", "")
        if query.get("deny", "").lower() in ("1", "true", "yes"):
            if query.get("client_id") != self.client_id:
                raise WorldError("invalid_client_id", 400)
            answer = {"error": "access_denied", "state": state}
        else:
            code = self.approve(
                query.get("client_id"),
                query.get("team"),
                query.get("user"),
                query.get("scope", ""),
                redirect_uri,
            )
            answer = {"code": code, "state": state}
        location = URL(redirect_uri).update_query(answer)
        return web.Response(status=302, headers={"Location": str(location)})

    async def access(self, request: web.Request) -> web.Response:
        values: JSON = dict(request.query)
        raw = await request.text()
        if request.content_type == "application/json" and raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                values.update(parsed)
        elif raw.strip():
            values.update(parse_qsl(raw))
        client_id, client_secret = _basic_auth(request.headers.get("Authorization", ""))
        if client_id is None:
            client_id, client_secret = values.get("client_id"), values.get("client_secret")
        fault = self.state.faults.trip(ACCESS_METHOD)
        if fault is not None:
            body, headers = fault.answer()
            status = fault.status
        else:
            body = self.exchange(values, client_id, client_secret)
            status, headers = 200, {}
        team = body.get("team", {}).get("id") if body.get("ok") else None
        logged = {k: v for k, v in values.items() if k in ("code", "client_id", "redirect_uri")}
        if "client_id" not in logged and client_id is not None:
            logged["client_id"] = client_id
        self.state.call_log.record(
            ACCESS_METHOD, logged, team, bool(body.get("ok")), body.get("error"), status
        )
        return web.json_response(body, status=status, headers=headers)


def _basic_auth(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret


def register(router: web.UrlDispatcher, oauth: OAuth) -> None:
    """Add the authorize page and `oauth.v2.access`; before `/api/{method}`, which would take it."""
    router.add_get(AUTHORIZE_PATH, oauth.authorize)
    router.add_route("*", f"/api/{ACCESS_METHOD}", oauth.access)
