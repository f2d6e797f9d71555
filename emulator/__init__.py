"""A local Slack: a real HTTP server on loopback that plays Slack's side in both directions.

    from emulator import Emulator, EmulatorSettings

    with Emulator(EmulatorSettings(app_url="http://127.0.0.1:3000/slack/events", signing_secret="s")) as emu:
        client = WebClient(token="xoxb-anything", base_url=emu.api_url)

The seeded world (one workspace; more through the control endpoints):

- team `T0TWOWAY1`, domain `twoway-demo`; app `A0TWOWAY1`; bot user `U0TWOWAYBOT`, bot id `B0TWOWAY1`
- `C0SOCIAL01` `#social`: the bot is a member; `C0GENERAL1` `#general`: the bot is not
- people, members of both channels: `U0ADA00001` ada (Ada Lovelace, Europe/London),
  `U0GRACE001` grace (Grace Hopper, America/New_York), `U0LINUS001` linus (Linus Torvalds,
  America/Los_Angeles)

Tokens: any `xoxb-…` is the default team's bot unless `POST /_emulator/token` tied it to another team
(or `oauth.v2.access` issued it for one); `xapp-…` is the app-level token (for `apps.connections.open`);
`xoxb-invalid` and anything else get `invalid_auth`, no token `not_authed`.

Installing (`emulator.oauth`): `GET /oauth/v2/authorize?client_id&scope&state&redirect_uri&team=T`
approves at once with a 302 to `redirect_uri?code=…&state=…`, and `oauth.v2.access` exchanges that code,
once, for a new bot token of team T. The app's credentials are `EmulatorSettings.client_id` and
`client_secret` (default `1000000000001.1000000000001` and `emulator-client-secret`).

Control endpoints (JSON bodies; `team` defaults to `T0TWOWAY1`; mistakes answer 4xx `{"ok": false, "error"}`):

- world: `POST /_emulator/team {id, domain, name?, bot_user_id?, bot_id?}`, `POST /_emulator/channel
  {team, id, name, is_private?, bot_member? (default true), members?}`, `POST /_emulator/user {team, id,
  name, real_name?, tz?, display_name?, deleted?, is_bot?}`, `POST /_emulator/token {token, team}`,
  `POST /_emulator/join {team, channel, user}`, `GET /_emulator/world`, `GET /_emulator/health`
- people acting (each answers `{ok, event_id, delivery, redeliveries}`; `retries: N` redelivers N times):
  `POST /_emulator/message {team, channel, user, text, thread_ts?, blocks?, ts?}` (also answers `ts`),
  `/_emulator/message_changed {team, channel, ts, text, blocks?}`, `/_emulator/message_deleted {team,
  channel, ts}`, `/_emulator/reaction {team, channel, ts, user, reaction, removed?}`, `/_emulator/event
  {team, event}`, `/_emulator/redeliver {event_id}` (answers `{ok, event_id, delivery}`)
- what the user saw (each answers `{ok, ack: {status, body, error, via}, responses: [...], response_url,
  trigger_id}`; `wait` (default 5 s) and `linger` (0.3 s) tune the wait for response_url posts):
  `POST /_emulator/command {team, channel, user, command, text}`, `/_emulator/action {team, channel, user,
  message_ts, action_id, value?}`, `/_emulator/shortcut {team, channel, user, message_ts, callback_id}`;
  on the App Home tab, `/_emulator/action {team, user, view: "home", action_id, value?}` clicks the button
  (with that value, if given) in the view published for that user: a `block_actions` with `container:
  {type: "view", view_id}` and the `view`, no channel, message or response_url (`responses: []`,
  `response_url: null`); a `message_ts` naming an ephemeral message the app showed that user (see
  `ephemerals` below) clicks its button: `container.is_ephemeral` true, no `message`, and a
  response_url whose `replace_original` / `delete_original` act on that ephemeral message
- modals: `POST /_emulator/submit {team, user, view_id?, callback_id?, values: {block_id: {action_id:
  "text" or {selected_option: …}}}}` submits the user's newest open modal (opened with `views.open` or
  `views.push` on a trigger_id of theirs, which opens one view within 3 s of its interaction, else
  `exchanged_trigger_id` or `expired_trigger_id`; 404 `view_not_found` if none; 400 for ids the view's
  inputs lack or an empty required input) as a `view_submission`, and answers `{ok, ack: {status, body,
  error, via}, view_id, closed, trigger_id}`: an empty ack closes it, `response_action` `errors` keeps it
  open,
  `update` replaces it, `push` stacks a new one, `clear` closes the stack
- inspection: `GET|DELETE /_emulator/calls[?method=]`, `GET /_emulator/messages?team=&channel=`,
  `GET /_emulator/views?team=&user=` (each with `user` and `closed`), `GET /_emulator/ephemerals?team=&user=`
  (what chat.postEphemeral showed that user, oldest first), `GET /_emulator/events[?team=]`; faults:
  `GET|POST|DELETE /_emulator/faults {method, status, every?, retry_after?, count?, delay?}` (`method`
  `*` is every method; `status: 200` with `delay` seconds answers correctly but late); rate limits
  (`emulator.rate_limits`, off by default): `POST /_emulator/limits {per_channel?: {per_minute, burst},
  per_workspace?: {method: {per_minute, burst} or null}}` enforces Slack's (chat.postMessage 60/min a
  channel bursting 3, and per workspace chat.postMessage 300/min bursting 30, files.getUploadURLExternal
  and files.completeUploadExternal 100/min bursting 10), with those given changed, and counts afresh;
  a call over one gets HTTP 429 `{"ok": false, "error": "ratelimited"}` and `Retry-After` in whole
  seconds; `GET /_emulator/limits` answers `{ok, enabled, limits, ratelimited: {method: 429s sent},
  total}`, `DELETE` turns them off (and answers the same); `EmulatorSettings(rate_limits=RateLimits())`
  or `twoway emulator --rate-limits` starts with them on; Socket Mode: `GET /_emulator/connections`,
  `POST /_emulator/disconnect {reason?, close?}`

A delivery is `{via: "socket"|"http"|null, status, body, error, retry_num, url}`. `app_url` (or
`--app-url`, repeated) may name several replicas: each HTTP delivery goes to one at random, to another
when it refuses the connection, and `url` says which answered. No two deliveries share a signature
(a redelivery is signed a second later if need be), as Slack's retries don't. Channel events reach the
app only from channels its bot is in, as in Slack. The app's own posts are kept but not echoed back as
events (Bolt would ignore them anyway).

The modules, one concern each: `world` (teams, channels, users, kept messages, files, views, and the
endpoints that shape them), `web_api` (the methods, in Slack's shapes and with its errors), `block_kit`
(the limits Slack checks blocks and views against), `acts` (what a person does: messages, reactions,
joins, slash commands), `interactivity` (buttons, shortcuts, modals, response URLs), `call_log`,
`faults` and `rate_limits` (what the app called, and Slack misbehaving or refusing on purpose),
`app_manifest` (the installed app's bot scopes and Messages tab, which every call is checked against:
`missing_scope`, `messages_tab_disabled`), `delivery` (signed HTTP and Socket Mode), `oauth` (the
install flow), `payloads` (what Slack sends, built), `control` (what the control endpoints share), and
`service`, which assembles them and runs the server. `mastodon_api` plays Mastodon instances' public
REST API under `/mastodon/<instance>/` (for twoway's watcher), with its own faults, limits and calls log
under `/_emulator/mastodon/`.
"""

from emulator.delivery import Delivery
from emulator.rate_limits import Limit, RateLimiter, RateLimits
from emulator.service import Emulator, EmulatorSettings, describe, serve_forever
from emulator.world import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    GENERAL_CHANNEL_ID,
    SOCIAL_CHANNEL_ID,
    State,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_TEAM_DOMAIN",
    "DEFAULT_TEAM_ID",
    "GENERAL_CHANNEL_ID",
    "SOCIAL_CHANNEL_ID",
    "Delivery",
    "Emulator",
    "EmulatorSettings",
    "Limit",
    "RateLimiter",
    "RateLimits",
    "State",
    "describe",
    "serve_forever",
]
