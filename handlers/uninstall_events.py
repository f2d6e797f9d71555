"""Installs ending: `app_uninstalled` and `tokens_revoked`.

In distribution mode the workspace's installation is deleted, so that its requests are no longer
authorized and its schedules stop; its ledger stays until `twoway purge --team T`. With one
configured bot token there is nothing to delete: twoway says so in its log.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.deps import Deps, bind
from bot.installs import stop_working_in


def uninstalled(deps: Deps, context: BoltContext) -> None:
    """Stop working in a workspace that removed twoway."""
    stop_working_in(deps, context.team_id, "twoway was uninstalled")


def revoked(deps: Deps, event: dict[str, Any], context: BoltContext) -> None:
    """Stop working in a workspace that revoked twoway's bot token; user tokens twoway never holds."""
    if event.get("tokens", {}).get("bot"):
        stop_working_in(deps, context.team_id, "twoway's bot token was revoked")


def register(app: App, deps: Deps) -> None:
    app.event("app_uninstalled")(bind(uninstalled, deps))
    app.event("tokens_revoked")(bind(revoked, deps))
