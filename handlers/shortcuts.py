"""The message shortcut "Flag unanswered comment" (callback `flag_unanswered_comment`)."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from bot.app import Deps
from bot.commands import BY_NAME, UnavailableRequest
from bot.render import render_unavailable

FLAG_SHORTCUT = "flag_unanswered_comment"


def register(app: App, deps: Deps) -> None:
    @app.shortcut(FLAG_SHORTCUT)
    def flag(ack: Ack, respond: Respond) -> None:
        """Flag the message as an audience comment waiting for an answer."""
        ack()
        respond(response_type="ephemeral", **render_unavailable(UnavailableRequest(BY_NAME["flag"])))
