"""Installs ending: `app_uninstalled` and `tokens_revoked`.

The workspace's schedules stop, and its ledger is kept 30 days in case it installs twoway again,
then purged (`bot.departures`). In distribution mode its installation is deleted too, so that its
requests are no longer authorized; with one configured bot token, twoway says in its log that the
token no longer works there.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.deps import Deps, bind
from bot.installs import stop_working_in


def uninstalled(deps: Deps, context: BoltContext) -> None:
    """Stop working in a workspace that removed twoway."""
    stop_working_in(deps, context.team_id, "app_uninstalled")


def revoked(deps: Deps, event: dict[str, Any], context: BoltContext) -> None:
    """Stop working in a workspace that revoked twoway's bot token; user tokens twoway never holds."""
    if event.get("tokens", {}).get("bot"):
        stop_working_in(deps, context.team_id, "tokens_revoked")


def register(app: App, deps: Deps) -> None:
    app.event("app_uninstalled")(bind(uninstalled, deps))
    app.event("tokens_revoked")(bind(revoked, deps))
