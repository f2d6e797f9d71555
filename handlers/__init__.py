"""Every listener twoway registers, gathered in one place.

Slack's requests reach two Bolt apps (`twoway.bolt_app`). The front app answers Slack: it runs the
listeners of commands, buttons and shortcuts, which acknowledge within Slack's three seconds. Events
are acknowledged by the front app's middleware once claimed, and their listeners run in the events
app, in the inbox's worker threads.
"""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from handlers import (
    app_home,
    buttons,
    channel_events,
    log_numbers,
    message_events,
    reaction_events,
    shortcuts,
    slash_command,
    uninstall_events,
)


def register_front(app: App, deps: Deps) -> None:
    """The listeners that answer Slack's request themselves: the slash command and interactivity."""
    slash_command.register(app, deps)
    shortcuts.register(app, deps)
    buttons.register(app, deps)
    log_numbers.register(app, deps)


def register_events(app: App, deps: Deps) -> None:
    """The listeners of Events API events, run once each event is claimed and acknowledged."""
    message_events.register(app, deps)
    reaction_events.register(app, deps)
    channel_events.register(app, deps)
    app_home.register(app, deps)
    uninstall_events.register(app, deps)


def register_all(app: App, deps: Deps) -> None:
    """Every listener on one app: what the manifest must declare."""
    register_front(app, deps)
    register_events(app, deps)
