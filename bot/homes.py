"""Which installation a channel belongs to, when several workspaces that installed twoway share it.

Slack delivers an event in a shared channel once to the app, naming one installation that can see it
in `authorizations` (docs.slack.dev/changelog/2020-09-15-events-api-truncate-authed-users), and Bolt
authorizes the request as that installation (`authorizations[0]`; slackapi/bolt-python#152). Which one
Slack names is not the same from event to event, and commands and clicks come authorized as the
workspace of whoever acted. So twoway gives every channel one home: the installation that first
brought the channel to twoway (first come, kept in `channel_homes`, which every replica shares). Every
event, command, click and shortcut in the channel is then read and written under the home's `team_id`
and answered with the home's bot token (`twoway.bolt_app` re-homes the request), and only the home's
channel row has a schedule, so the digest is posted once.

A home whose installation is gone (uninstalled, token revoked) is taken over by the next installation
that brings a request from the channel: the channel's ledger moves to it, and its digest with it.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from bot.deps import Deps
from storage.channel_homes import Home, claim_home, home_of, move_channel_rows, take_over_home

logger = logging.getLogger(__name__)


def home_for(deps: Deps, channel_id: str, team_id: str, enterprise_id: str | None) -> Home:
    """The installation whose ledger holds ``channel_id``, for a request authorized as ``team_id``:
    the channel's home, claimed for ``team_id`` if it has none, taken over by it if the home's
    installation is gone."""
    with deps.sessions.begin() as s:
        home = claim_home(s, channel_id, team_id, enterprise_id, deps.clock())
    if home.team_id == team_id or deps.installations is None:
        return home
    if deps.installations.bot(home.team_id, home.enterprise_id) is not None:
        return home
    return _take_over(deps, channel_id, home, team_id, enterprise_id)


def _take_over(deps: Deps, channel_id: str, gone: Home, team_id: str, enterprise_id: str | None) -> Home:
    moved = False
    with deps.sessions.begin() as s:
        if take_over_home(s, channel_id, gone.team_id, team_id, enterprise_id, deps.clock()):
            try:
                with s.begin_nested():
                    move_channel_rows(s, channel_id, gone.team_id, team_id)
                moved = True
            except IntegrityError:
                # The new home already tracks one of the channel's posts in a channel of its own: the
                # channel starts afresh there, and the old rows stay with the old workspace.
                logger.warning(
                    "channel %s: its ledger could not move from %s to %s; it starts afresh",
                    channel_id,
                    gone.team_id,
                    team_id,
                )
        home = home_of(s, channel_id)
    assert home is not None
    if moved:
        logger.info(
            "channel %s: home moved from %s, no longer installed, to %s", channel_id, gone.team_id, team_id
        )
        if deps.schedules is not None:
            deps.schedules.sync_all()
    return home
