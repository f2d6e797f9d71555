"""Block Kit for the weekly digest: what is waiting, who is broadcasting, where people talked, the counts.

Above them, when something of the channel's never reached Slack since the last digest (an earlier
digest, a nudge), a note says what, with Slack's answer, and what to do now.

Pure. User-entered text is escaped and cut, and the whole message is fitted to Block Kit's
limits however much the ledger holds: lists stop and say how many more, and when the blocks
would still be too large the digest is rendered again with less room per item.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.digest.build import (
    CONVERSATION_MIN_COMMENTS,
    Broadcaster,
    Counts,
    Digest,
    LostDigest,
    LostNudge,
    PostLine,
    WaitingFor,
    WaitingItem,
)
from bot.digest.period import Period
from bot.links import PLATFORM_NAMES
from bot.metrics import Rate, format_duration
from bot.render import Message
from bot.render_ledger import comment_buttons, network_name, slack_date
from bot.text import channel_mention, inline_code, json_len, link, listing, literal, mention

DIGEST_EVENT_TYPE = "twoway_digest"

MAX_BLOCKS_JSON = 10_000
"""`json.dumps(blocks)` stays under this: room to spare below the 12,000 characters a message may take."""

UNANSWERED_HINT = "`/twoway unanswered`"

OPEN_OLDEST_ACTION = "digest_open_oldest"
"""The one-way section's URL button; Slack still tells the app of the click, which it only acknowledges."""
OPEN_OLDEST_TEXT = "Open the oldest comment"
BUTTON_URL_LIMIT = 3000
# A button's `url` holds 3,000 characters (docs.slack.dev/reference/block-kit/block-elements/button-element).
SOMEONE = "A teammate"
"""Who the one-way section names when Slack didn't give a name: never a mention, which would ping them."""


@dataclass(frozen=True)
class _Room:
    """How much each item may take, in JSON characters: what the size limit counts."""

    quote: int
    author: int
    url: int  # a longer post URL shows as the platform name, unlinked
    lines: int  # per list section
    links: int  # post links per person in the one-way section
    lost: int  # lost digests named one by one, and comment ids named in the undelivered note
    reasons: int  # distinct failures named per line of that note; the log has them all
    owners: int  # people named in the one-way section's line on posts with no numbers
    people: int  # people in the one-way section, each a section with its button
    button_url: int  # the longest link (in JSON) "Open the oldest comment" may carry; 0: no button
    ask: bool = True  # "Ask someone else" on the comments someone is on ("Let it go" is always there)


_SMALLEST = _Room(
    quote=20, author=0, url=60, lines=150, links=0, lost=1, reasons=1, owners=1, people=1, button_url=0
)
_ROOMS = (
    _Room(
        quote=280,
        author=60,
        url=400,
        lines=2400,
        links=3,
        lost=5,
        reasons=2,
        owners=5,
        people=5,
        button_url=1000,
    ),
    _Room(
        quote=140,
        author=40,
        url=200,
        lines=1200,
        links=2,
        lost=3,
        reasons=2,
        owners=3,
        people=4,
        button_url=600,
    ),
    _Room(
        quote=80,
        author=20,
        url=120,
        lines=700,
        links=1,
        lost=2,
        reasons=2,
        owners=2,
        people=3,
        button_url=400,
    ),
    # The last resort fits ten waiting comments with hostile text and URLs, and the undelivered
    # note at its longest; the tests hold it to that.
    _Room(
        quote=30, author=0, url=100, lines=400, links=0, lost=1, reasons=1, owners=1, people=1, button_url=0
    ),
    # Each waiting comment's buttons include "I'm on it", or "Let it go" and "Ask someone else", and who
    # is on it: ten of those at their longest need this much less again, and ten that someone is on
    # leave "Ask someone else" to the comment's notice and the Home tab.
    _SMALLEST,
    replace(_SMALLEST, ask=False),
    # Ten replies seen on a network, each saying so, with the counts fetched: shorter quotes again.
    replace(_SMALLEST, ask=False, quote=10),
)


def render_digest(digest: Digest) -> Message:
    """The channel's digest: `{text, blocks}` for chat.postMessage."""
    for room in _ROOMS:
        blocks = [block.to_dict() for block in _blocks(digest, room)]
        if len(json.dumps(blocks)) <= MAX_BLOCKS_JSON:
            break
    return {"text": _fallback(digest), "blocks": blocks}


def digest_metadata(team_id: str, channel_id: str, period: Period) -> dict[str, object]:
    """Slack message `metadata` that identifies this digest.

    `{"event_type": DIGEST_EVENT_TYPE, "event_payload": {...}}`, so that a replica that crashed
    after posting can find the digest in conversations.history instead of posting it twice.
    """
    return {
        "event_type": DIGEST_EVENT_TYPE,
        "event_payload": {
            "team_id": team_id,
            "channel_id": channel_id,
            "period_start": _iso(period.start),
            "period_end": _iso(period.end),
        },
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _blocks(digest: Digest, room: _Room) -> list[Block]:
    where = f"{channel_mention(digest.channel_id)} · {_which_week(digest)}"
    blocks: list[Block] = [
        HeaderBlock(text="Weekly digest"),
        ContextBlock(elements=[MarkdownTextObject(text=where)]),
    ]
    if not digest.quiet:
        blocks.append(SectionBlock(text=_summary(digest)))
    if digest.missed_previous:
        blocks.append(SectionBlock(text=_missed_note(digest.period)))
    if digest.undelivered:
        blocks.append(SectionBlock(text=_undelivered(digest, room)))
    if digest.waiting_for:
        blocks.append(SectionBlock(text=_waiting_for(digest.waiting_for, room)))
    if digest.quiet:
        return [*blocks, *_quiet(digest)]
    return [
        *blocks,
        *_waiting(digest, room),
        DividerBlock(),
        *_one_way(digest, room),
        *_missing(digest.missing, room),
        DividerBlock(),
        SectionBlock(text=_conversations(digest, room)),
        DividerBlock(),
        *_counts(digest),
    ]


def _so_far(digest: Digest) -> bool:
    """Whether the digest tells a week still under way (a preview), not one that ended."""
    return digest.as_of is not None and digest.as_of < digest.period.end


def _which_week(digest: Digest) -> str:
    """ "Last week: <start> to <end>", or "This week so far: <start> to <today>" for a week under way,
    so that a preview and the digest posted now can't be taken for each other."""
    if _so_far(digest) and digest.as_of is not None:
        return f"This week so far: {_day(digest.period.start)} to {_day(digest.as_of)}"
    return f"Last week: {_day(digest.period.start)} to {_day(digest.period.end)}"


def _week_words(digest: Digest) -> str:
    return "this week so far" if _so_far(digest) else "last week"


def _summary(digest: Digest) -> str:
    """The digest's first line: what waits for an answer, then the week's posts (never a percentage)."""
    waiting = digest.waiting
    where = channel_mention(digest.channel_id)
    if waiting.total:
        verb = "waits" if waiting.total == 1 else "wait"
        oldest = format_duration(waiting.items[0].age) if waiting.items else ""
        lead = f"{_count(waiting.total, 'comment')} {verb} for an answer in {where}, oldest {oldest}."
    else:
        lead = f"Nothing waits for an answer in {where}."
    week = _week_words(digest)
    posts = digest.counts.posts
    if posts == 0:
        # Comments may wait on posts shared before the period: they are listed all the same.
        return f"{lead} No new posts {week}."
    one_way = sum(len(b.one_way) for b in digest.broadcasters)
    return (
        f"{lead} {week.capitalize()}: {_count(posts, 'new post')}, {_count(one_way, 'one-way post')}, "
        f"{_count(len(digest.conversations), 'conversation')}."
    )


def _waiting_for(lines: tuple[WaitingFor, ...], room: _Room) -> str:
    """The nudges due about now, folded into the digest: a person's mention is wanted here."""

    def line(w: WaitingFor) -> str:
        count = _count(w.comments, "comment")
        wait = "waits" if w.comments == 1 else "wait"
        whom = (
            f"{mention(w.owner)}: {count} {wait} for you"
            if w.owner
            else f"{count} {wait} for someone to take {'it' if w.comments == 1 else 'them'}"
        )
        return f"{whom}, oldest {format_duration(w.oldest)}"

    return listing(
        "*Waiting for you*",
        [line(w) for w in lines],
        room.lines,
        lambda n: f"and {_count(n, 'person', 'people')} more: {UNANSWERED_HINT}",
    )


def _missed_note(period: Period) -> str:
    return (
        f"Last week's digest couldn't be posted on time. This one covers the week from "
        f"{slack_date(period.start)} to {slack_date(period.end)}, and lists everything still waiting, "
        "however old."
    )


UNDELIVERED_TITLE = "*Not delivered since the last digest*"
# Slack's error codes, as `bot.publish.describe_failure` gives them; anything else is an exception's repr.
_SLACK_ERROR = re.compile(r"[a-z0-9_]{1,40}")


def _undelivered(digest: Digest, room: _Room) -> str:
    """The note on what never reached Slack, each with Slack's answer and what to do now."""
    lost = digest.undelivered
    lines = [UNDELIVERED_TITLE]
    # The newest digests are named; older ones are counted.
    earlier, named = lost.digests[: -room.lost], lost.digests[-room.lost :]
    if earlier:
        lines.append(
            f"• {_count(len(earlier), 'earlier digest')} never reached this channel{_why(earlier, room)}."
        )
    lines += [f"• {_lost_digest(d, room)}" for d in named]
    if lost.digests and not digest.missed_previous:
        lines.append("This digest lists everything still waiting, however old.")
    if lost.nudges:
        lines.append(f"• {_lost_nudges(lost.nudges, room)}")
    return "\n".join(lines)


def _lost_digest(lost: LostDigest, room: _Room) -> str:
    return (
        f"The digest of the week to {_day(lost.period.end)} never reached this channel{_why([lost], room)}."
    )


def _lost_nudges(nudges: Sequence[LostNudge], room: _Room) -> str:
    comments = sorted({n.comment_id for n in nudges})
    waiting = sorted({n.comment_id for n in nudges if n.still_open})
    line = (
        f"{_count(len(nudges), 'nudge')} about {_count(len(comments), 'comment')} "
        f"could not be sent{_why(nudges, room)}."
    )
    if not waiting:
        closed = "That comment has" if len(comments) == 1 else "Those comments have"
        return f"{line} {closed} been answered or dismissed since."
    verb, them = ("is", "it") if len(waiting) == 1 else ("are", "them")
    return f"{line} {_ids(waiting, room.lost)} {verb} still waiting for an answer: can anyone take {them}?"


def _ids(ids: list[int], limit: int) -> str:
    shown = [f"#{i}" for i in ids[:limit]]
    if len(ids) > limit:
        shown.append(f"{len(ids) - limit} more")
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _why(failures: Iterable[LostDigest | LostNudge], room: _Room) -> str:
    """`` (Slack answered `ratelimited`)``: the commonest reasons, escaped; "" when none is known."""
    reasons: Counter[tuple[str, str]] = Counter()
    for error, times in Counter(f.error for f in failures if f.error).items():
        reasons[_reason(error)] += times
    if not reasons:
        return ""
    # Slack's own answers first: they say the most.
    common = sorted(reasons, key=lambda r: (-reasons[r], r[0] != "slack", r[1]))
    codes = [inline_code(code) for kind, code in common[: room.reasons] if kind == "slack"]
    others = [text for kind, text in common[: room.reasons] if kind != "slack"]
    parts = ([f"Slack answered {' and '.join(codes)}"] if codes else []) + others
    if len(common) > room.reasons:
        parts.append("more in the log")
    return f" ({'; '.join(parts)})"


def _reason(error: str) -> tuple[str, str]:
    """What a recorded failure says: ("slack", its error code), or ("other", a few escaped words)."""
    # A failed search for the digest in the channel's history is still Slack's answer.
    error = error.removeprefix("history: ")
    if error.startswith("compose: "):
        return ("other", "twoway couldn't compose it")
    if error.startswith("internal: "):
        return ("other", "twoway failed while sending it")
    if _SLACK_ERROR.fullmatch(error):
        return ("slack", error)
    # Forty characters at most are shown: no need to escape and measure a long one whole.
    return ("other", f"no answer from Slack: {literal(error[:200], 40)}")


def _day(moment: datetime) -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    utc = moment.astimezone(UTC)
    return f"<!date^{int(moment.timestamp())}^{{date_short}}|{utc.day} {utc:%b %Y}>"


def _undelivered_fallback(digest: Digest) -> str:
    lost = digest.undelivered
    if not lost:
        return ""
    parts = [_count(len(lost.digests), "digest")] if lost.digests else []
    parts += [_count(len(lost.nudges), "nudge")] if lost.nudges else []
    return f" Not delivered since the last digest: {' and '.join(parts)}."


def _quiet_line(digest: Digest) -> str:
    return f"A quiet week in {channel_mention(digest.channel_id)}: no posts shared and nothing waiting."


def _quiet(digest: Digest) -> list[Block]:
    hint = (
        "Share links to your published posts here and twoway tracks them; flag audience comments "
        "that need an answer and they'll be listed here until someone answers."
    )
    return [SectionBlock(text=_quiet_line(digest)), ContextBlock(elements=[MarkdownTextObject(text=hint)])]


def _waiting(digest: Digest, room: _Room) -> list[Block]:
    waiting = digest.waiting
    if waiting.total == 0:
        return [SectionBlock(text="*Waiting for an answer*\nNothing is waiting for an answer.")]
    blocks: list[Block] = [
        SectionBlock(text=f"*Waiting for an answer*: {_count(waiting.total, 'comment')}, oldest first")
    ]
    for item in waiting.items:
        blocks += [
            SectionBlock(text=_waiting_text(item, room)),
            comment_buttons(
                item.comment.comment_id, claimed=item.comment.claimed_by is not None, ask=room.ask
            ),
        ]
    if waiting.more > 0:
        more = f"and {waiting.more} more: {UNANSWERED_HINT}"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    return blocks


def _waiting_text(item: WaitingItem, room: _Room) -> str:
    c = item.comment
    post = _post_link(c.post_url, c.platform, room)
    author = literal(c.author, room.author) if c.author else ""
    head = f"*#{c.comment_id}* · {format_duration(item.age)} · {post} · {mention(c.owner)}"
    if author:
        head += f" · from {author}"
    if c.seen_on:
        # Nobody flagged it: twoway read it on the network, and nobody in Slack has seen it yet.
        head += f" · seen on {network_name(c.seen_on)}"
    if c.claimed_by and c.claimed_at:
        who = literal(c.claimer, max(room.author, 20)) if c.claimer else mention(c.claimed_by)
        # At the last resort, who alone: the buttons and the quote say the rest.
        since = f" since {slack_date(c.claimed_at)}" if room.author else ""
        head += f" · {who} is on it{since}"
    text = literal(c.text, room.quote)
    if c.url:
        text += f" · {link(c.url, 'comment', limit=room.url, measure=json_len)}"
    return f"{head}\n> {text}" if text else head


def _one_way(digest: Digest, room: _Room) -> list[Block]:
    title = "*One-way broadcasting*: posts that got comments and no replies"
    unjudged = _unjudged(digest, room)
    if not digest.broadcasters:
        among = " among the posts with numbers" if unjudged else ""
        return [
            SectionBlock(
                text="\n".join([title, f"No one-way posts {_week_words(digest)}{among}.", *unjudged])
            )
        ]
    blocks: list[Block] = [SectionBlock(text=title)]
    used = 0
    for shown, b in enumerate(digest.broadcasters):
        line = _broadcaster_line(digest, b, room)
        used += json_len(line)
        if shown == room.people or used > room.lines:
            left = len(digest.broadcasters) - shown
            more = f"and {_count(left, 'more person', 'more people')}"
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
            break
        blocks.append(SectionBlock(text=line, accessory=_open_oldest(b, room)))
    return [*blocks, *(SectionBlock(text=line) for line in unjudged)]


def _name(digest: Digest, owner: str, room: _Room) -> str:
    """The person as Slack names them, shown literally; never a mention: the digest doesn't ping them."""
    name = digest.names.get(owner)
    shown = literal(name, max(room.author, 20)) if name else ""
    return shown or SOMEONE


def _open_oldest(b: Broadcaster, room: _Room) -> ButtonElement | None:
    """A button to the oldest comment waiting on the person's posts: its own link, or its message."""
    url = b.oldest_link or (b.oldest.url if b.oldest else None)
    if not url or json_len(url) > room.button_url or len(url) > BUTTON_URL_LIMIT:
        return None
    return ButtonElement(text=OPEN_OLDEST_TEXT, action_id=OPEN_OLDEST_ACTION, url=url)


def _next_step(b: Broadcaster, room: _Room) -> str:
    if b.oldest is None:
        return "Nothing of theirs waits for an answer now: next time, ask a question back to start one."
    post = f"{literal(PLATFORM_NAMES.get(b.oldest.platform, b.oldest.platform), 40)} post"
    if room.links:
        post = _post_link(b.oldest.post_url, b.oldest.platform, room)
    return f"Next: pick one question on the {post} and answer it."


def _unjudged(digest: Digest, room: _Room) -> list[str]:
    """The line naming whose posts can't be judged one-way or not, for want of numbers; [] when none."""
    owners = digest.unjudged()
    if not owners:
        return []
    named = [f"{_name(digest, owner, room)} ({_count(n, 'post')})" for owner, n in owners[: room.owners]]
    if len(owners) > room.owners:
        named.append(_count(len(owners) - room.owners, "more person", "more people"))
    who = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return [f"• Can't tell yet for {who}: no numbers logged, see *Numbers missing*."]


def _missing(posts: tuple[PostLine, ...], room: _Room) -> list[Block]:
    """The period's posts with no numbers, with their owners, and how to give them."""
    if not posts:
        return []
    title = (
        f"*Numbers missing*: {_count(len(posts), 'post')} with no comments or replies logged. "
        "Reply in a post's thread with them (`14 comments, 3 replies`)."
    )
    lines = [f"• {_post_link(p.url, p.platform, room)} by {mention(p.owner)}" for p in posts]
    return [SectionBlock(text=listing(title, lines, room.lines, lambda n: f"and {n} more"))]


def _broadcaster_line(digest: Digest, b: Broadcaster, room: _Room) -> str:
    name = _name(digest, b.owner, room)
    links = _links(b.one_way, room)
    if b.streak is not None:
        s = b.streak
        line = (
            f"• {name}: the last {s.posts} posts with comments drew {_count(s.comments, 'comment')} "
            f"and {_no_replies(s.replies)}."
        )
        if links:
            line += f" This week: {links}."
    else:
        line = (
            f"• {name}: {_count(len(b.one_way), 'post')} drew {_count(b.comments, 'comment')} "
            f"and {_no_replies(b.replies)}{': ' + links if links else ''}."
        )
    return f"{line} {_next_step(b, room)}"


def _no_replies(replies_since: int) -> str:
    # One-way is judged at 48 hours; later replies are real, so the line doesn't deny them.
    return "no replies" if replies_since == 0 else "no replies within 48 hours"


def _links(posts: tuple[PostLine, ...], room: _Room) -> str:
    shown = [_post_link(p.url, p.platform, room) for p in posts[: room.links]]
    if shown and len(posts) > len(shown):
        shown.append(f"{len(posts) - len(shown)} more")
    return ", ".join(shown)


def _conversations(digest: Digest, room: _Room) -> str:
    conversations = digest.conversations
    title = (
        f"*Conversations*: posts with {CONVERSATION_MIN_COMMENTS} comments or more, "
        "the largest share answered first"
    )
    if not conversations:
        return f"{title}\nNo post with that many comments got replies {_week_words(digest)}."
    lines = [
        f"• {_post_link(p.url, p.platform, room)} by {mention(p.owner)}: {_why_talked(p)}{_fetched_when(p)}"
        for p in conversations
    ]
    return listing(title, lines, room.lines, lambda n: f"and {n} more")


def _fetched_when(p: PostLine) -> str:
    """ " (fetched from Bluesky <date>)" for counts twoway read from the network; "" for typed ones."""
    if p.fetched_at is None:
        return ""
    return f" (fetched from {network_name(p.platform)} {slack_date(p.fetched_at)})"


def _fetched_note(counts: Counts) -> str:
    """ " The counts of 2 of the 5 new posts were fetched from Bluesky, last <date>.", or ""."""
    if not counts.fetched or counts.fetched_at is None:
        return ""
    networks = " and ".join(network_name(n) for n in counts.fetched_from)
    if counts.fetched < counts.posts:
        which = f"{counts.fetched} of the {counts.posts} new posts"
    else:
        which = "the new post" if counts.posts == 1 else "the new posts"
    return f" The counts of {which} were fetched from {networks}, last {slack_date(counts.fetched_at)}."


def _why_talked(p: PostLine) -> str:
    """ "answered 9 of 10 comments": why the post is there, the replies beyond one a comment said apart."""
    answered = min(p.replies, p.comments)
    extra = f" ({_count(p.replies, 'reply', 'replies')})" if p.replies > p.comments else ""
    return f"answered {answered} of {_count(p.comments, 'comment')}{extra}"


def _counts(digest: Digest) -> list[Block]:
    now, before = digest.counts, digest.previous_counts
    fields = [
        f"*New posts*\n{now.posts or 'none'} {_change(now.posts, before.posts)}",
        f"*Comments received*\n{now.rate.comments} {_change(now.rate.comments, before.rate.comments)}",
        f"*Replies sent*\n{now.rate.replies} {_change(now.rate.replies, before.rate.replies)}",
        f"*Reply rate*\n{_rate(now.rate)}\n{_rate_change(now.rate, before.rate)}",
        f"*Median time to answer*\n{_answer_time(now)}\n{_answer_time_before(before)}",
        f"*Waiting for an answer now*\n{_count(digest.waiting.total, 'comment')}",
    ]
    note = (
        "Changes are from the week before. Reply rate counts each post's replies up to its comments: "
        f"never above 100%.{_fetched_note(now)}"
    )
    return [
        SectionBlock(text="*The week in counts*", fields=[MarkdownTextObject(text=f) for f in fields]),
        ContextBlock(elements=[MarkdownTextObject(text=note)]),
    ]


def _change(now: int, before: int) -> str:
    delta = now - before
    return "(no change)" if delta == 0 else f"({delta:+d})"


def _rate(rate: Rate) -> str:
    if rate.value is None:
        return "— (no comments received)"
    replies, comments = _count(rate.replies, "reply", "replies"), _count(rate.comments, "comment")
    return f"{rate.percent_text()} ({replies} to {comments})"


def _rate_change(now: Rate, before: Rate) -> str:
    if before.value is None:
        return "no comments the week before"
    if now.value is None or now.percent_text() == before.percent_text():
        return f"the week before: {_rate(before)}"
    direction = "up" if now.value > before.value else "down"
    return f"{direction} from {_rate(before)}"


def _answer_time(counts: Counts) -> str:
    if counts.median_time_to_answer is None:
        return "— (none answered)"
    return f"{format_duration(counts.median_time_to_answer)} ({counts.answered} answered)"


def _answer_time_before(counts: Counts) -> str:
    if counts.median_time_to_answer is None:
        return "none answered the week before"
    return f"the week before: {_answer_time(counts)}"


def _fallback(digest: Digest) -> str:
    if digest.quiet:
        return _quiet_line(digest) + _undelivered_fallback(digest)
    return f"{_summary(digest).removesuffix('.')}{_missing_fallback(digest)}.{_undelivered_fallback(digest)}"


def _missing_fallback(digest: Digest) -> str:
    return f"; {_count(len(digest.missing), 'post')} with numbers missing" if digest.missing else ""


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _post_link(url: str, platform: str, room: _Room) -> str:
    name = f"{literal(PLATFORM_NAMES.get(platform, platform), 40)} post"
    return link(url, name, limit=room.url, measure=json_len)
