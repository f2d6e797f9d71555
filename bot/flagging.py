"""Flagging and closing comments, shared by the reactions, the shortcut, the buttons and the command.

The ledger is written first, in one transaction; twoway's notice in the thread follows. A notice
Slack refuses is reported to the person who acted, and the comment stays recorded.

A flag reaction names a message by its ts alone. twoway keeps the messages it may name from their
events (`bot.ledger.keep`, for KEEP_MESSAGES), so a flag reads nothing from Slack. A message it didn't
keep (posted before twoway followed its thread, or long ago) is read from Slack, at the pace Slack
allows: an app distributed outside the Marketplace may call conversations.history and .replies once a
minute (docs.slack.dev/changelog/2025/05/29/rate-limit-changes-for-non-marketplace-apps). Such a read
waits READ_WAIT for its turn at most, never Slack's minute, so that it never holds up the inbox's
workers and the flags behind it; without a turn, the person is told to use the message shortcut, whose
payload carries the message and needs no read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot import claims, ledger, live, render
from bot.deps import Deps
from bot.links import comment_link, links_in_message
from bot.posting import HISTORY_METHODS, Pacer
from bot.render import Message, note
from bot.render_ledger import (
    FLAG_MODAL_DAYS,
    FLAG_MODAL_POSTS,
    already_closed,
    person_name,
    render_already_flagged,
    render_closed,
    render_closed_several,
    render_flag_modal,
    render_flag_notice,
    render_notice_closed,
    render_notice_withdrawn,
    render_problem,
    slack_date,
)
from bot.slack_calls import advice, post_message, retry_after, slack_error, tell, without_waiting
from bot.text import plain_text
from storage.channels import get_channel
from storage.comments import claim_notice, get_comment, settle_notice, withdraw_flag
from storage.models import Comment, Post
from storage.posts import get_post

logger = logging.getLogger(__name__)

Reply = Callable[[Message], None]
# How long "Snooze 1 day" holds a comment's nudges.
SNOOZE = timedelta(days=1)
# The longest a flag waits for its turn to read an unkept message from Slack.
READ_WAIT = 3.0
NOT_KEPT = (
    "I don't have that message at hand (it was posted before twoway followed its thread, or long ago), "
    "and Slack lets twoway read such messages only about once a minute. Flag it with the message shortcut "
    "“Flag unanswered comment”, which needs no read, or add the reaction again in a minute."
)


class NoTurn(Exception):
    """Slack's pace leaves no read of ``method`` within READ_WAIT."""

    def __init__(self, method: str) -> None:
        super().__init__(method)
        self.method = method


def _no_wait(method: str) -> None:
    return None


def fetch_message(
    client: WebClient, channel: str, ts: str, *, turn: Callable[[str], None] = _no_wait
) -> dict[str, Any] | None:
    """The message a reaction is on, top-level or in a thread; ``turn(method)`` before each read.

    Each read asks for two messages at most, well within the 15 an app outside the Marketplace may ask
    for (docs.slack.dev/reference/methods/conversations.history).
    """
    turn(HISTORY_METHODS[0])
    history = client.conversations_history(channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1)
    for message in history.get("messages") or []:
        if message.get("ts") == ts:
            return dict(message)
    # Slack lists the thread's parent first, and counts it in `limit`: the reply itself is the second.
    turn(HISTORY_METHODS[1])
    replies = client.conversations_replies(
        channel=channel, ts=ts, latest=ts, oldest=ts, inclusive=True, limit=2
    )
    for message in replies.get("messages") or []:
        if message.get("ts") == ts:
            return dict(message)
    return None


def find_flagged_message(
    deps: Deps, client: WebClient, team_id: str, channel_id: str, ts: str, user: str
) -> dict[str, Any] | None:
    """The message someone is flagging: kept from its event, else read from Slack; when neither
    gives it, tell them why and return None."""
    with deps.sessions.begin() as s:
        message = ledger.kept(s, team_id, channel_id, ts)
    if message is not None:
        return message
    return read_flagged_message(deps, client, team_id, channel_id, ts, user)


def read_flagged_message(
    deps: Deps, client: WebClient, team_id: str, channel_id: str, ts: str, user: str
) -> dict[str, Any] | None:
    """Read a message twoway didn't keep, in a turn every replica's reads share (`Pacer`); without a
    turn within READ_WAIT, or with a 429, tell the person what to do instead and return None."""
    pacer = Pacer(deps.sessions)

    def turn(method: str) -> None:
        if not pacer.turn_within(team_id, method, READ_WAIT):
            raise NoTurn(method)

    try:
        message = fetch_message(without_waiting(client), channel_id, ts, turn=turn)
    except NoTurn as busy:
        logger.info("no turn at %s to read the flagged message %s", busy.method, ts)
        tell(client, channel_id, user, render_problem(NOT_KEPT))
        return None
    except SlackApiError as error:
        logger.warning("could not read the flagged message %s: %s", ts, slack_error(error))
        if slack_error(error) == "ratelimited":
            # Slack's own limit is below the pace (an app outside the Marketplace): no replica reads
            # again before Slack said.
            method = str(error.response.api_url).rstrip("/").rsplit("/", 1)[-1]
            pacer.hold(team_id, method, retry_after(error))
            tell(client, channel_id, user, render_problem(NOT_KEPT))
            return None
        tell(
            client,
            channel_id,
            user,
            render_problem(f"I couldn't read that message to flag it: {advice(error)}"),
        )
        return None
    if message is None:
        tell(client, channel_id, user, render_problem("I couldn't find that message to flag it."))
    return message


def post_of_message(deps: Deps, team_id: str, channel_id: str, message: dict[str, Any]) -> Post | None:
    """The post a flagged message is about: a post of the channel it links to, else its thread's one
    post. A post only another channel tracks is none of this channel's business (`ledger.Reach`).

    In a post's thread, a link on the post's own network is a reply's or a comment's (an X reply is a
    status like any post), so the comment is the thread's post's (`comment_url_of` keeps the link)."""
    links = links_in_message(message.get("text") or "", message.get("blocks"))
    with deps.sessions.begin() as s:
        thread_posts = ledger.thread_post(s, team_id, channel_id, message.get("thread_ts"))
        thread = thread_posts[0] if len(thread_posts) == 1 else None
        for link in links:
            if thread is not None and link.platform == thread.platform and link.platform != "blog":
                return thread
            placed = ledger.post_within(s, team_id, ledger.Reach.channel(channel_id), link.canonical_url)
            if placed is not None:
                return placed.post
    return thread


def flag_dialog(deps: Deps, team_id: str, channel_id: str, message: dict[str, Any], reason: str) -> View:
    """The flag shortcut's modal for a message that doesn't say which post it is about: the channel's
    posts of the last FLAG_MODAL_DAYS, newest first, with the post of the message's thread chosen
    (offered first when it is older)."""
    now = deps.clock()
    reach = ledger.Reach.channel(channel_id)
    with deps.sessions.begin() as s:
        posts = ledger.recent_posts(
            s, team_id, reach, since=now - timedelta(days=FLAG_MODAL_DAYS), limit=FLAG_MODAL_POSTS
        )
        thread = ledger.thread_post(s, team_id, channel_id, message.get("thread_ts"))
    selected = thread[0] if thread else None
    if selected is not None and all(p.id != selected.id for p in posts):
        posts = [selected, *posts][:FLAG_MODAL_POSTS]
    return render_flag_modal(channel_id, message["ts"], reason, posts, selected)


def chosen_post(deps: Deps, team_id: str, channel_id: str, post_id: int) -> ledger.Placed | None:
    """The post chosen in the flag dialog, if it is still one of the channel's."""
    with deps.sessions.begin() as s:
        return ledger.post_id_within(s, team_id, ledger.Reach.channel(channel_id), post_id)


def comment_url_of(message: dict[str, Any], post: Post) -> str | None:
    """The flagged comment's own link, when the message carries one: a comment permalink of ``post``
    (Facebook, Reddit), or a link to another item on ``post``'s network (an X or Mastodon reply)."""
    for link in links_in_message(message.get("text") or "", message.get("blocks")):
        if link.canonical_url == post.canonical_url:
            if comment_link(link.url) is not None:
                return link.url
        elif link.platform == post.platform and link.platform != "blog":
            return link.url
    return None


def comment_text(message: dict[str, Any]) -> str:
    """What the flagged message says, as a person reads it."""
    text = plain_text(message.get("text") or "")
    return text or "(a message with no text)"


def flag_and_notify(
    deps: Deps,
    client: WebClient,
    team_id: str,
    *,
    post: Post,
    channel_id: str,
    text: str,
    author: str | None,
    flagged_by: str,
    message_ts: str | None,
    thread_ts: str | None,
    reply: Reply,
    url: str | None = None,
) -> ledger.Flagged:
    """Record the comment, then answer in its thread: owner, id, and when the owner is nudged; ``url``
    is the comment's own link, where one was given."""
    with deps.sessions.begin() as s:
        flagged = ledger.flag(
            s,
            team_id,
            post=post,
            channel_id=channel_id,
            text=text,
            author=author,
            flagged_by=flagged_by,
            now=deps.clock(),
            timezone=deps.config.timezone,
            message_ts=message_ts,
            thread_ts=thread_ts,
            url=url,
        )
    notice = render_flag_notice(flagged)
    with deps.sessions.begin() as s:
        # Several deliveries (two people's flag reactions at once) race here; one posts the notice.
        if not claim_notice(s, team_id, flagged.comment.id):
            return flagged
    posted_ts: str | None = None
    try:
        kwargs: dict[str, Any] = {"channel": channel_id, **notice}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        posted_ts = post_message(client, **kwargs)["ts"]
    except SlackApiError as error:
        logger.warning("the notice for comment %d was not posted: %s", flagged.comment.id, slack_error(error))
        reply(notice)
    finally:
        with deps.sessions.begin() as s:
            settle_notice(s, team_id, flagged.comment.id, posted_ts)
            if posted_ts is not None:
                live.notice_posted(s, team_id, flagged.comment.id, channel_id, posted_ts, now=deps.clock())
    return flagged


def flag_message(
    deps: Deps,
    client: WebClient,
    team_id: str,
    *,
    channel_id: str,
    message: dict[str, Any],
    post: Post,
    flagged_by: str,
    reply: Reply,
) -> ledger.Flagged | None:
    """Flag a Slack message as an audience comment on ``post``; the notice goes in its thread.

    twoway's own notice or nudge of a comment quotes it, and people flag it as a "+1": that is the
    comment already recorded, and the person is told so (None is returned). A message flagged before
    (or the same comment by its link) is the comment it already is, and the person is told its id.
    """
    with deps.sessions.begin() as s:
        noticed = ledger.comment_twoway_wrote_about(s, team_id, channel_id, message["ts"])
    if noticed is not None:
        reply(note(f"That is twoway's message about comment #{noticed.id}, which is already flagged."))
        return None
    flagged = flag_and_notify(
        deps,
        client,
        team_id,
        post=post,
        channel_id=channel_id,
        text=comment_text(message),
        author=None,
        flagged_by=flagged_by,
        message_ts=message["ts"],
        thread_ts=message.get("thread_ts") or message["ts"],
        reply=reply,
        url=comment_url_of(message, post),
    )
    if not flagged.created:
        reply(render_already_flagged(flagged.comment, post, deps.clock()))
    return flagged


def flag_reacted(deps: Deps, client: WebClient, team_id: str, channel_id: str, ts: str, user: str) -> None:
    """Flag the message someone put the flag reaction on, if it is about a post twoway tracks."""
    message = find_flagged_message(deps, client, team_id, channel_id, ts, user)
    if message is None:
        return
    post = post_of_message(deps, team_id, channel_id, message)
    if post is None:
        tell(
            client,
            channel_id,
            user,
            render_problem(
                "I can't tell which post that comment was left on: the message has no link to a post twoway "
                "tracks, and its thread isn't under one. Use the message shortcut “Flag unanswered comment”, "
                "or the command:",
                "/twoway flag <url> [<comment link>] <comment text…> [by <author>]",
            ),
        )
        return
    flag_message(
        deps,
        client,
        team_id,
        channel_id=channel_id,
        message=message,
        post=post,
        flagged_by=user,
        reply=lambda notice: tell(client, channel_id, user, notice),
    )


def base_emoji(reaction: str) -> str:
    """The emoji a reaction names, without its skin tone ("thumbsup::skin-tone-2" is "thumbsup")."""
    return reaction.split("::", 1)[0]


def still_flagged(client: WebClient, channel_id: str, ts: str, flag_emoji: str) -> bool:
    """Whether someone else's flag reaction is still on the message (then the flag stands)."""
    try:
        found = client.reactions_get(channel=channel_id, timestamp=ts, full=True)
    except SlackApiError as error:
        # Unsure whether others still flag it: keep the comment rather than lose it.
        logger.warning("could not read the reactions of %s: %s", ts, error.response.get("error"))
        return True
    reactions = (found.get("message") or {}).get("reactions") or []
    return any(base_emoji(r.get("name", "")) == flag_emoji and r.get("count", 0) > 0 for r in reactions)


def no_comment(comment_id: int) -> str:
    """The answer for an id that names no comment in reach: the same whether it names none at all or
    one of another channel, so that ids tell nobody what exists elsewhere."""
    return f"There is no comment #{comment_id} here."


def close_and_notify(
    deps: Deps,
    client: WebClient,
    team_id: str,
    reach: ledger.Reach,
    comment_id: int,
    *,
    state: Literal["answered", "dismissed"],
    by: str,
) -> Message:
    """Close the comment if it is in reach, update its notice in the thread, and return the answer for
    whoever closed it."""
    now = deps.clock()
    with deps.sessions.begin() as s:
        closed = ledger.close(s, team_id, reach, comment_id, state=state, by=by, at=now)
    if closed is None:
        return render_problem(
            no_comment(comment_id),
            f"/twoway {'answered' if state == 'answered' else 'dismiss'} <comment id>",
        )
    if closed.changed:
        live.refresh_soon(deps)
    return render_closed(closed, now)


def close_all_and_notify(
    deps: Deps,
    client: WebClient,
    team_id: str,
    reach: ledger.Reach,
    comment_ids: Sequence[int],
    *,
    state: Literal["answered", "dismissed"],
    by: str,
) -> Message:
    """Close each comment in reach on its own (one transaction each, through `ledger.close`, which marks
    the messages about it stale), and return one answer saying what happened to every id."""
    if len(comment_ids) == 1:
        return close_and_notify(deps, client, team_id, reach, comment_ids[0], state=state, by=by)
    now = deps.clock()
    outcomes: list[tuple[int, ledger.Closed | None]] = []
    for comment_id in comment_ids:
        with deps.sessions.begin() as s:
            closed = ledger.close(s, team_id, reach, comment_id, state=state, by=by, at=now)
        outcomes.append((comment_id, closed))
    # Each close marked the messages about its comment stale (`ledger.close`): they are drawn again now.
    if any(closed is not None and closed.changed for _, closed in outcomes):
        live.refresh_soon(deps)
    return render_closed_several(state, outcomes, now)


def snooze_and_answer(
    deps: Deps, client: WebClient, team_id: str, reach: ledger.Reach, comment_id: int, user_id: str
) -> Message:
    """Hold the comment's nudges for a day, if it is in reach; return the answer for whoever snoozed it."""
    until = deps.clock() + SNOOZE
    with deps.sessions.begin() as s:
        current = ledger.comment_within(s, team_id, reach, comment_id)
        if current is None:
            return render_problem(no_comment(comment_id))
        comment = ledger.snooze(s, team_id, reach, comment_id, until=until, now=deps.clock())
        if comment is None:
            s.refresh(current)
            return note(already_closed(current, deps.clock()))
    live.refresh_soon(deps)
    return note(f"Comment #{comment_id} is snoozed: no nudges until {slack_date(until)}.")


def withdraw_and_notify(deps: Deps, client: WebClient, team_id: str, comment: Comment, by: str) -> bool:
    """Take a flag back when nothing has happened to the comment yet; return whether it was withdrawn."""
    with deps.sessions.begin() as s:
        live.notice_kept(s, team_id, comment, now=deps.clock())
        showing = live.showing(s, team_id, comment.id)
        withdrawn = withdraw_flag(s, team_id, comment.id)
        if withdrawn:
            live.flag_withdrawn(s, team_id, comment.id, showing, by=by, now=deps.clock())
    if withdrawn:
        live.refresh_soon(deps)
    return withdrawn


def redraw_notice(
    s: Session, team_id: str, recipe: dict[str, Any], now: datetime, names: Mapping[str, str]
) -> Message | None:
    """A comment's notice drawn again from its recipe (``{"comment": id}``) as the comment is now: who
    closed it, or that its flag was taken back (``withdrawn_by``), or still waiting with its buttons.
    None when there is nothing to draw (a recipe it can't read)."""
    comment_id = recipe.get("comment")
    if not isinstance(comment_id, int):
        return None
    withdrawn_by = recipe.get("withdrawn_by")
    comment = get_comment(s, team_id, comment_id)
    if comment is None:
        if isinstance(withdrawn_by, str):
            return render_notice_withdrawn(comment_id, withdrawn_by)
        line = f"Comment #{comment_id} is no longer tracked."
        return render.message(line, [render.section(line)])
    post = get_post(s, team_id, comment.post_id)
    channel = get_channel(s, team_id, comment.channel_id)
    if post is None or channel is None:
        return None
    if comment.state != "open":
        return render_notice_closed(comment, post, now)
    start = comment.written_at or comment.flagged_at
    return render_flag_notice(
        ledger.Flagged(comment, post, channel, False, ledger.first_nudge_at(start, channel)), names
    )


def claim_and_answer(
    deps: Deps, client: WebClient, team_id: str, reach: ledger.Reach, comment_id: int, user_id: str
) -> Message:
    """ "I'm on it": put the person on the comment unless someone else's claim is fresh, and say what
    happened."""
    with deps.sessions.begin() as s:
        result = claims.claim(s, team_id, claims.any_owner(reach), comment_id, by=user_id, now=deps.clock())
    live.refresh_soon(deps)
    if result is None:
        return render_problem(no_comment(comment_id))
    names = claims.names_of(deps.people, client, team_id) if result.outcome == "taken" else {}
    return claims.render_claim(result, names)


def release_and_answer(
    deps: Deps, client: WebClient, team_id: str, reach: ledger.Reach, comment_id: int, user_id: str
) -> Message:
    """ "Let it go": take the person off the comment, if they are the one on it."""
    with deps.sessions.begin() as s:
        result = claims.release(s, team_id, claims.any_owner(reach), comment_id, by=user_id, now=deps.clock())
    live.refresh_soon(deps)
    if result is None:
        return render_problem(no_comment(comment_id))
    names = claims.names_of(deps.people, client, team_id) if result.outcome == "not_yours" else {}
    return claims.render_release(result, names)


def ask_to_take(
    deps: Deps, client: WebClient, team_id: str, reach: ledger.Reach, comment_id: int, *, to: str, by: str
) -> claims.Claim | str:
    """Put ``to`` on the comment at ``by``'s request; the line to show under the person picker instead
    when that can't be: a bot or a deactivated account picked, the one already on it, no such comment
    here, or one closed meanwhile."""
    try:
        people = {m.user_id for m in deps.people.members(client, team_id)}
    except SlackApiError as error:
        logger.warning("could not list the people of %s: %s", team_id, slack_error(error))
        people = None
    if people is not None and to not in people:
        return "Pick a person: a bot or a deactivated account can't answer a comment."
    if to == by:
        return "Pick someone else: to take it yourself, click “I'm on it”."
    now = deps.clock()
    with deps.sessions.begin() as s:
        reach = claims.any_owner(reach)
        comment = ledger.comment_within(s, team_id, reach, comment_id)
        if comment is None:
            return no_comment(comment_id)
        if comment.claimed_by == to:
            names = claims.names_of(deps.people, client, team_id)
            return f"{person_name(to, names)} is already on comment #{comment_id}."
        result = claims.reassign(s, team_id, reach, comment_id, to=to, by=by, now=now)
    live.refresh_soon(deps)
    if result is None:
        return no_comment(comment_id)
    if result.outcome == "closed":
        return claims.closed_line(result.comment)
    return result


def announce_ask(client: WebClient, result: claims.Claim, by: str) -> None:
    """Say in the comment's thread (or its channel) who asked whom to take it: a mention, as it is a
    request."""
    comment = result.comment
    line = claims.asked_line(by, comment.claimed_by or "", comment.id)
    kwargs: dict[str, Any] = {"channel": comment.channel_id, **note(line)}
    if comment.thread_ts:
        kwargs["thread_ts"] = comment.thread_ts
    try:
        post_message(client, **kwargs)
    except SlackApiError as error:
        logger.warning("the ask about comment %d was not posted: %s", comment.id, slack_error(error))
