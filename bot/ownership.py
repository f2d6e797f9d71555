"""Which links are the team's posts in a channel, and taking back a post that isn't.

`/twoway settings sites …` and `settings accounts …` name the channel's own sites and accounts
(`bot.sources` says what counts). A message's links are read against them once per message
(`counted_links`), so a doc or a competitor's post is never recorded. When a link is recorded that the
channel never vouched for, its sharer gets a note with a *Not our post* button; anyone in the channel
may react :x: to the sharing message instead. Either takes the post out of the ledger when nothing was
recorded for it yet, and records its account as not the team's, so that its later links are ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, ButtonElement, SectionBlock
from sqlalchemy.orm import Session

from bot import ledger
from bot.deps import Deps
from bot.grammar import BY_NAME, SourcesRequest
from bot.links import PostLink
from bot.render import Message, context, message, section
from bot.render_ledger import format_post_link, render_problem
from bot.slack_calls import attempt, tell
from bot.sources import ACCOUNT, NOT_ACCOUNT, SITE, Sources, account_of, site_of
from bot.text import inline_code
from storage.channel_sources import add_sources, remove_sources, sources_of
from storage.channels import ensure_channel
from storage.messages import forget_message
from storage.models import Post
from storage.posts import delete_post, get_post, posts_of_message, records_of, shares_of_post

logger = logging.getLogger(__name__)

NOT_OURS_ACTION = "post_not_ours"
# The reaction `bot.sharing` marks a message sharing posts with, taken off when none is left.
TRACKING_REACTION = "eyes"
# The posts one note offers to take back; a message sharing more is rare, and :x: covers them all.
NOTE_LIMIT = 10


def sources(s: Session, team_id: str, channel_id: str) -> Sources:
    """The channel's named sites and accounts."""
    return Sources.of(sources_of(s, team_id, channel_id))


def counted_links(
    s: Session, team_id: str, channel_id: str, links: list[PostLink]
) -> tuple[list[PostLink], Sources]:
    """The links that are the team's posts in the channel, and the channel's sources they were read by."""
    found = sources(s, team_id, channel_id) if links else Sources()
    return [link for link in links if found.counts(link)], found


# ---- the note to whoever shared a post --------------------------------------------------------


def offer_undo(client: WebClient, channel_id: str, user_id: str, posts: list[Post], found: Sources) -> None:
    """Tell the sharer which newly recorded posts the channel never vouched for, each with a button to
    take it back. Nothing is sent when the channel named every one's site or account."""
    unvouched = [p for p in posts if not found.vouches_for(PostLink(p.url, p.canonical_url, p.platform))]
    if unvouched:
        tell(client, channel_id, user_id, render_undo_note(unvouched[:NOTE_LIMIT]))


def render_undo_note(posts: list[Post]) -> Message:
    """One section per post with its *Not our post* button, and how the channel can say it once."""
    named = ", ".join(format_post_link(p) for p in posts)
    lead = f"twoway counts {named} as the team's {'post' if len(posts) == 1 else 'posts'} in this channel."
    blocks: list[Block] = [
        SectionBlock(
            text=f"{format_post_link(p)}: not the team's?",
            accessory=ButtonElement(text="Not our post", action_id=NOT_OURS_ACTION, value=str(p.id)),
            block_id=f"not-ours-{p.id}",
        )
        for p in posts
    ]
    hint = (
        "Anyone in the channel can also react :x: to the message. Naming the team's own accounts "
        "(`/twoway settings accounts x.com/acme`) makes only their links count."
    )
    return message(f"{lead} Not the team's? Click Not our post.", [section(lead), *blocks, context(hint)])


# ---- "Not our post" ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Disowned:
    """What taking one post back did: ``removed`` it, kept it for what was recorded (snapshots and
    comments, ``kept``), or left it because another channel has it too (``elsewhere``). ``account`` is
    the account now recorded as not the team's; ``own_account`` one the channel lists as its own, left
    listed; ``site`` a site the channel names that the link is on, left named."""

    post_link: str
    removed: bool = False
    kept: tuple[int, int] | None = None
    account: str | None = None
    own_account: str | None = None
    site: str | None = None
    elsewhere: bool = False


def drop_post(s: Session, team_id: str, post_id: int) -> list[tuple[str, str]]:
    """Delete a post and its shares; return the messages that share no post any more, forgotten here,
    whose :eyes: is to come off (`unmark`). The caller checked that nothing was recorded for it."""
    messages = delete_post(s, team_id, post_id)
    bare = [(c, ts) for c, ts in messages if not posts_of_message(s, team_id, c, ts)]
    for c, ts in bare:
        forget_message(s, team_id, c, ts)
    return bare


def _disown(
    s: Session, team_id: str, channel_id: str, post: Post, found: Sources, *, by: str, now: datetime
) -> tuple[Disowned, list[tuple[str, str]]]:
    shown = format_post_link(post)
    link = PostLink(post.url, post.canonical_url, post.platform)
    if post.channel_id != channel_id or any(c != channel_id for c, _ in shares_of_post(s, team_id, post.id)):
        return Disowned(shown, elsewhere=True), []
    snapshots, comments = records_of(s, team_id, post.id)
    if snapshots or comments:
        return Disowned(shown, kept=(snapshots, comments)), []
    bare = drop_post(s, team_id, post.id)
    account = account_of(post.url) if post.platform != "blog" else None
    own = account is not None and found.vouches_for(link)
    if account is not None and not own:
        add_sources(s, team_id, channel_id, NOT_ACCOUNT, [account], by=by, now=now)
    site = site_of(link) if post.platform == "blog" and found.vouches_for(link) else None
    return (
        Disowned(
            shown,
            removed=True,
            account=None if own else account,
            own_account=account if own else None,
            site=site,
        ),
        bare,
    )


def not_ours(
    deps: Deps, client: WebClient, team_id: str, channel_id: str, post_ids: list[int], *, by: str
) -> Message:
    """Take the posts back as not the team's; return the answer for whoever asked."""
    now = deps.clock()
    outcomes: list[Disowned] = []
    bare: list[tuple[str, str]] = []
    with deps.sessions.begin() as s:
        found = sources(s, team_id, channel_id)
        for post_id in post_ids:
            post = get_post(s, team_id, post_id)
            if (
                post is None
                or ledger.post_within(s, team_id, ledger.Reach.channel(channel_id), post.canonical_url)
                is None
            ):
                continue
            outcome, messages = _disown(s, team_id, channel_id, post, found, by=by, now=now)
            outcomes.append(outcome)
            bare += messages
    for message_channel, ts in bare:
        unmark(client, message_channel, ts)
    if outcomes:
        logger.info(
            "%d posts in %s taken back as not the team's, %d kept",
            sum(o.removed for o in outcomes),
            channel_id,
            sum(not o.removed for o in outcomes),
        )
    return render_disowned(outcomes)


def unmark(client: WebClient, channel_id: str, ts: str) -> None:
    """twoway's :eyes: off a message that shares no post any more."""
    attempt(
        lambda: client.reactions_remove(channel=channel_id, timestamp=ts, name=TRACKING_REACTION),
        "reactions.remove",
        quiet=("no_reaction", "message_not_found"),
    )


def not_ours_by_reaction(
    deps: Deps, client: WebClient, team_id: str, channel_id: str, ts: str, user_id: str
) -> None:
    """:x: on a message that shares posts takes them back; the reactor is told what happened."""
    with deps.sessions.begin() as s:
        post_ids = [p.id for p in posts_of_message(s, team_id, channel_id, ts)]
    if post_ids:
        tell(client, channel_id, user_id, not_ours(deps, client, team_id, channel_id, post_ids, by=user_id))


def _lost(kept: tuple[int, int]) -> str:
    snapshots, comments = kept
    parts = []
    if snapshots:
        parts.append(f"{snapshots} {'snapshot' if snapshots == 1 else 'snapshots'} of its numbers")
    if comments:
        parts.append(f"{comments} {'comment' if comments == 1 else 'comments'} from its audience")
    return " and ".join(parts)


def _line(outcome: Disowned) -> str:
    if outcome.elsewhere:
        return (
            f"twoway can't take {outcome.post_link} out of the ledger from here. If it isn't the team's, "
            "delete its link from the message that shared it: the post is then withdrawn."
        )
    if outcome.kept is not None:
        return (
            f"{outcome.post_link} stays: taking it out would lose {_lost(outcome.kept)}. If it isn't the "
            "team's post, delete its link from the message that shared it: it is withdrawn from the counts, "
            "and what was recorded stays on file."
        )
    line = f"Took {outcome.post_link} out of this channel's ledger."
    if outcome.account is not None:
        account = inline_code(outcome.account, 120)
        line += (
            f" Links from {account} won't count here from now on; to count them again: "
            f"`/twoway settings accounts remove {outcome.account}`."
        )
    if outcome.own_account is not None:
        line += f" {inline_code(outcome.own_account, 120)} is still listed as one of the team's accounts."
    if outcome.site is not None:
        line += (
            f" This channel names {inline_code(outcome.site, 120)} as its own site; to stop counting its "
            f"links: `/twoway settings sites remove {outcome.site}`."
        )
    return line


def render_disowned(outcomes: list[Disowned]) -> Message:
    """What taking posts back did, one line per post."""
    if not outcomes:
        return render_problem("That post isn't in this channel's ledger any more.")
    lines = [_line(o) for o in outcomes]
    return message(" ".join(lines), [section(line) for line in lines[:NOTE_LIMIT]])


# ---- /twoway settings sites | accounts --------------------------------------------------------


def change_sources(
    deps: Deps, team_id: str, channel_id: str, user_id: str, request: SourcesRequest
) -> Message:
    """List, add or remove the channel's own sites or accounts; return the answer for the asker."""
    now = deps.clock()
    kind = SITE if request.kind == "sites" else ACCOUNT
    with deps.sessions.begin() as s:
        ensure_channel(s, team_id, channel_id, timezone=deps.config.timezone, now=now)
        missing: list[str] = []
        if request.remove:
            kinds = [kind] if kind == SITE else [ACCOUNT, NOT_ACCOUNT]
            removed = {value for _, value in remove_sources(s, team_id, channel_id, kinds, request.remove)}
            missing = [value for value in request.remove if value not in removed]
        if request.add:
            if kind == ACCOUNT:
                remove_sources(s, team_id, channel_id, [NOT_ACCOUNT], request.add)
            add_sources(s, team_id, channel_id, kind, request.add, by=user_id, now=now)
        rows = sources_of(s, team_id, channel_id)
    changed = bool(request.add) or len(missing) < len(request.remove)
    return render_sources(request.kind, rows, changed=changed, missing=missing)


def _listed(values: list[str]) -> str:
    return ", ".join(inline_code(v, 120) for v in values)


def render_sources(kind: str, rows: list[tuple[str, str]], *, changed: bool, missing: list[str]) -> Message:
    """The channel's own sites, or its accounts and those it said aren't the team's."""
    lines = []
    if missing:
        lines.append(
            f"{_listed(missing)} {'isn' if len(missing) == 1 else 'aren'}'t among this channel's {kind}."
        )
    lead = "Saved. " if changed else ""
    if kind == "sites":
        sites = [v for k, v in rows if k == SITE]
        if sites:
            lines.append(
                f"{lead}This channel's own sites: {_listed(sites)}. Links to them count as the team's posts, "
                "as do links to social networks."
            )
        else:
            lines.append(
                f"{lead}This channel names no sites of its own: only links to social networks count as the "
                "team's posts. Name one with `/twoway settings sites blog.acme.com`."
            )
    else:
        own = [v for k, v in rows if k == ACCOUNT]
        others = [v for k, v in rows if k == NOT_ACCOUNT]
        if own:
            lines.append(
                f"{lead}This channel's own accounts: {_listed(own)}. Only links from them count as the "
                "team's posts on social networks (and links whose account the link doesn't show)."
            )
        else:
            lines.append(
                f"{lead}This channel lists no accounts of its own: a link from any account on a social "
                "network counts as the team's post. List them with `/twoway settings accounts x.com/acme`."
            )
        if others:
            lines.append(f"Not the team's, ignored: {_listed(others)}.")
    usage = BY_NAME["settings"].usage
    return message(" ".join(lines), [*(section(line) for line in lines), context(f"`{usage}`")])
