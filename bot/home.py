"""A person's Home tab: the comments they are on, the comments waiting on their posts, their posts this
week, their reply rate (and their last 4 weeks', to them alone), and their weekly direct message setting.

It shows a person's own items in the channels they are in, and nothing of a channel they are not in:
which those are, Slack says (`bot.slack_calls.channels_of`), asked only for someone who owns a post or is
on a comment.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import ledger
from bot.claims import names_of
from bot.deps import Deps
from bot.render_ledger import LIST_LIMIT, render_home
from bot.slack_calls import attempt, channels_of, slack_error
from bot.weekly import own_rate, takes_weekly_dm, turn_weekly_dm

logger = logging.getLogger(__name__)


def personal_reach(client: WebClient, user_id: str) -> ledger.Reach:
    """A person's own items in the channels they are in. Raises SlackApiError."""
    return ledger.Reach(channels_of(client, user_id), owner=user_id)


def publish_home(deps: Deps, client: WebClient, team_id: str, user_id: str) -> None:
    """Publish one person's Home tab as the ledger has it now."""
    now = deps.clock()
    reach = ledger.Reach(frozenset(), owner=user_id)
    with deps.sessions.begin() as s:
        owner = ledger.has_posts(s, team_id, user_id) or ledger.is_on_any(s, team_id, user_id)
    if owner:
        try:
            reach = personal_reach(client, user_id)
        except SlackApiError as error:
            # Unsure which channels they are in: show nothing rather than a channel they left.
            logger.warning("could not list the channels of %s: %s", user_id, slack_error(error))
    with deps.sessions.begin() as s:
        home = ledger.home(s, team_id, reach, now=now, limit=LIST_LIMIT)
        # Their own rate, on their own Home tab alone: nobody else's view is drawn from their reach.
        rate = own_rate(s, team_id, reach, now)
        weekly_dm = takes_weekly_dm(s, team_id, user_id)
    names = (
        names_of(deps.people, client, team_id)
        if any(c.claimed_by for c, _ in home.on_it + home.waiting.items)
        else {}
    )
    view = render_home(home, now, names, own_rate=rate, weekly_dm=weekly_dm)
    attempt(lambda: client.views_publish(user_id=user_id, view=view), "views.publish")


def set_weekly_dm(deps: Deps, client: WebClient, team_id: str, user_id: str, *, on: bool) -> None:
    """Turn the person's weekly direct message on or off (`bot.weekly`), then draw their Home tab again."""
    turn_weekly_dm(deps.sessions, client, team_id, user_id, on=on, now=deps.clock())
    publish_home(deps, client, team_id, user_id)
