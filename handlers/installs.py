"""Installs ending: `app_uninstalled` and `tokens_revoked`.

In distribution mode the workspace's installation is deleted, so that its requests are no longer
authorized and its schedules stop; its ledger stays until `twoway purge --team T`. With one
configured bot token there is nothing to delete: twoway says so in its log.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.app import Deps

logger = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    def stop_working_in(team_id: str | None, why: str) -> None:
        if not team_id:
            return
        if deps.installations is None:
            logger.warning(
                "%s in workspace %s: SLACK_BOT_TOKEN no longer works there; reinstall twoway or stop it",
                why,
                team_id,
            )
            return
        deps.installations.forget(team_id)
        if deps.schedules is not None:
            # The workspace is no longer among the installed teams, so its digest jobs go.
            deps.schedules.sync_all()
        logger.info("%s in workspace %s: its schedules stopped; its ledger is kept", why, team_id)

    @app.event("app_uninstalled")
    def uninstalled(context: BoltContext) -> None:
        """Stop working in a workspace that removed twoway."""
        stop_working_in(context.team_id, "twoway was uninstalled")

    @app.event("tokens_revoked")
    def revoked(event: dict[str, Any], context: BoltContext) -> None:
        """Stop working in a workspace that revoked twoway's bot token; user tokens twoway never holds."""
        if event.get("tokens", {}).get("bot"):
            stop_working_in(context.team_id, "twoway's bot token was revoked")
