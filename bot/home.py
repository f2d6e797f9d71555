"""A person's Home tab: the comments waiting on their posts, their posts this week, their reply rate."""

from __future__ import annotations

from slack_sdk import WebClient

from bot import ledger
from bot.deps import Deps
from bot.render_ledger import LIST_LIMIT, render_home
from bot.slack_calls import attempt


def publish_home(deps: Deps, client: WebClient, team_id: str, user_id: str) -> None:
    """Publish one person's Home tab as the ledger has it now."""
    now = deps.clock()
    with deps.sessions.begin() as s:
        home = ledger.home(s, team_id, user_id, now=now, limit=LIST_LIMIT)
    view = render_home(home, now)
    attempt(lambda: client.views_publish(user_id=user_id, view=view), "views.publish")
