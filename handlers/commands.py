"""The `/twoway` slash command and all its subcommands."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.app import Deps
from bot.commands import parse_command
from bot.render import render_request


def register(app: App, deps: Deps) -> None:
    @app.command("/twoway")
    def twoway(ack: Ack, command: dict[str, Any]) -> None:
        """Track posts, flag unanswered comments, see who is waiting for an answer."""
        ack(response_type="ephemeral", **render_request(parse_command(command.get("text", ""))))
