"""Every listener twoway registers, gathered in one place."""

from __future__ import annotations

from slack_bolt import App

from bot.app import Deps
from handlers import actions, channels, commands, home, installs, messages, reactions, shortcuts


def register_all(app: App, deps: Deps) -> None:
    commands.register(app, deps)
    messages.register(app, deps)
    reactions.register(app, deps)
    channels.register(app, deps)
    home.register(app, deps)
    shortcuts.register(app, deps)
    actions.register(app, deps)
    installs.register(app, deps)
