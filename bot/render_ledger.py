"""Block Kit for the ledger: thread notices, lists of waiting comments, reports, settings, the Home tab.

Pure functions from results to `{text, blocks}` (or a `View`). User-entered text is shown
literally (escaped, its mrkdwn marks defused as the digest does) and cut to fit; links too long to
keep whole are shown as their label; lists stop at a limit and say how many more there are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.digest.period import next_period_for
from bot.grammar import ScheduleQuestion, clock_time, schedule_text
from bot.ledger import Closed, Flagged, Home, PeriodReport, Recorded, Waiting
from bot.links import PLATFORM_NAMES
from bot.metrics import Rate, format_duration
from bot.render import Message, context, header, message, section
from bot.text import escape, link, listing, literal, mention, truncate
from bot.zones import is_fixed_offset, offset_label
from storage.models import Channel, Comment, Post

# How long a claim holds where the channel hasn't said (channels.claim_hours' default).
CLAIM_HOURS_DEFAULT = 24
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ANSWERED_ACTION = "comment_answered"
# The Home tab's button that turns a person's weekly direct message on ("on") or off ("off").
WEEKLY_DM_ACTION = "weekly_dm_toggle"
DISMISSED_ACTION = "comment_dismissed"
SNOOZE_ACTION = "comment_snooze"
CLAIM_ACTION = "comment_claim"
RELEASE_ACTION = "comment_release"
REASSIGN_ACTION = "comment_reassign"
REASSIGN_MODAL = "reassign_comment_modal"
REASSIGN_MODAL_BLOCK = "person"
REASSIGN_MODAL_INPUT = "user"
# Each choice of an ambiguous schedule: `schedule_choice_0`, `_1`… (ids in one block must differ).
SCHEDULE_CHOICE_ACTION = "schedule_choice"
FLAG_MODAL = "flag_comment_modal"
FLAG_MODAL_URL_BLOCK = "post_url"
FLAG_MODAL_URL_INPUT = "url"
FLAG_MODAL_POST_BLOCK = "post_choice"
FLAG_MODAL_POST_INPUT = "post"
# The recent posts the flag dialog offers: a static select holds 100 options, each text 75 characters
# (docs.slack.dev/reference/block-kit/block-elements/select-menu-element, composition-objects/option-object).
FLAG_MODAL_POSTS = 100
FLAG_MODAL_DAYS = 14
OPTION_TEXT_LIMIT = 75
# A list shows this many comments, each a section and its buttons, well inside 50 blocks.
LIST_LIMIT = 10
QUOTE_LIMIT = 280
# How to give a post's numbers, shown when a `/twoway log` gave none.
LOG_WITH_COUNTS = "/twoway log <url> comments=12 replies=3 shares=5 likes=40"
AUTHOR_LIMIT = 80
# The posts this week on the Home tab: a section's 3,000 characters, with room to say how many more.
POSTS_BUDGET = 2800


def network_name(network: str | None) -> str:
    """ "Bluesky", "Mastodon": a watched network as people call it; "its network" when unknown."""
    return PLATFORM_NAMES.get(network or "", "its network")


def found_by(comment: Comment) -> str:
    """How twoway came to know a comment: "flagged by @ada", or "seen on Bluesky" for a reply it read
    from the post's network itself."""
    if comment.flagged_by is None:
        return f"seen on {network_name(comment.seen_on)}"
    return f"flagged by {mention(comment.flagged_by)}"


def seen_mark(comment: Comment) -> str:
    """ " · seen on Bluesky" for a reply twoway read from the network itself, which nobody flagged;
    "" for a flagged comment (lists don't ping whoever flagged it)."""
    return f" · {found_by(comment)}" if comment.flagged_by is None else ""


def answered_how(comment: Comment) -> str:
    """ "answered by @ada"; "answered on Bluesky" when the team answered on the network itself and
    twoway saw it there; "answered" when nobody is known."""
    if comment.answered_by:
        return f"answered by {mention(comment.answered_by)}"
    if comment.seen_on:
        return f"answered on {network_name(comment.seen_on)}"
    return "answered"


def dismissed_how(comment: Comment) -> str:
    """ "marked as needing no reply by @ada", or without a name when nobody is known."""
    marked = "marked as needing no reply"
    return f"{marked} by {mention(comment.dismissed_by)}" if comment.dismissed_by else marked


def slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's own time zone, with a UTC fallback."""
    fallback = moment.strftime("%a %d %b %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def format_post_link(post: Post) -> str:
    """`<url|X post>`: the post as a link named by its platform; "X post" alone when its URL is too long."""
    return link(post.canonical_url, f"{platform_name(post)} post")


def platform_name(post: Post) -> str:
    """ "X", "Instagram", …: the post's network as people call it (escaped: a platform can be anything)."""
    return literal(PLATFORM_NAMES.get(post.platform, post.platform), 40, len)


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """A comment's text as a one-line mrkdwn quote, shown literally and cut to ``limit`` characters."""
    return f"> {literal(text, limit, len)}"


def quoted_comment(comment: Comment, limit: int = QUOTE_LIMIT) -> str:
    """The comment's text quoted, then its own link as "comment" where it has one."""
    own = f" · {link(comment.url, 'comment')}" if comment.url else ""
    return quote(comment.text, limit) + own


def from_author(comment: Comment, limit: int = AUTHOR_LIMIT) -> str:
    """ " from @fan": who wrote the comment, shown literally, when it is known."""
    author = literal(comment.author, limit, len) if comment.author else ""
    return f" from {author}" if author else ""


def _age(comment: Comment, now: datetime) -> str:
    start = comment.written_at or comment.flagged_at
    return format_duration(max(now - start, timedelta(0)))


def _button(text: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    # Plain text without the "emoji" flag, which is Slack's default anyway: a digest holds ten rows of
    # these buttons, and every character counts against its size.
    return ButtonElement(
        text=PlainTextObject(text=text, emoji=None), action_id=action_id, value=value, style=style
    )


def comment_buttons(
    comment_id: int, *, snooze: bool = False, claimed: bool = False, ask: bool = True
) -> ActionsBlock:
    """The buttons that close one comment, "Snooze 1 day" where nudges are offered, and "I'm on it";
    once someone is on it, "Let it go" and (unless ``ask`` is False, where room is short) "Ask someone
    else" instead. Everyone sees the same buttons: what a click does depends on who clicked."""
    value = str(comment_id)
    elements = [
        _button("Mark answered", ANSWERED_ACTION, value, style="primary"),
        _button("No reply needed", DISMISSED_ACTION, value),
    ]
    if snooze:
        elements.append(_button("Snooze 1 day", SNOOZE_ACTION, value))
    if claimed:
        elements.append(_button("Let it go", RELEASE_ACTION, value))
        if ask:
            elements.append(_button("Ask someone else", REASSIGN_ACTION, value))
    else:
        elements.append(_button("I'm on it", CLAIM_ACTION, value))
    return ActionsBlock(block_id=f"comment-{comment_id}", elements=elements)


def person_name(user_id: str, names: Mapping[str, str]) -> str:
    """The name Slack shows for a person, which pings nobody; their mention only when it is unknown."""
    name = names.get(user_id)
    return literal(name, AUTHOR_LIMIT, len) if name else mention(user_id)


def claim_hours_text(hours: int) -> str:
    """ "1 day", "2 days", "36 hours": how long a claim holds, as it was set."""
    days, rest = divmod(hours, 24)
    if rest or not days:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{days} day{'s' if days != 1 else ''}"


def claim_line(comment: Comment, names: Mapping[str, str]) -> str:
    """ "Grace is on it since Today at 10:02": who is on the comment, named without a ping; "" when
    nobody is."""
    if comment.claimed_by is None or comment.claimed_at is None:
        return ""
    line = f"{person_name(comment.claimed_by, names)} is on it since {slack_date(comment.claimed_at)}"
    if comment.claim_assigned_by and comment.claim_assigned_by != comment.claimed_by:
        line += f", asked by {person_name(comment.claim_assigned_by, names)}"
    return line


def render_flag_notice(flagged: Flagged, names: Mapping[str, str] | None = None) -> Message:
    """twoway's answer in the thread: whose comment it is, its id, when the owner is nudged, and who
    is on it."""
    comment, post = flagged.comment, flagged.post
    on_it = claim_line(comment, names or {})
    found = found_by(comment)
    owner = mention(post.owner_user_id)
    author = from_author(comment)
    headline = (
        f"Comment #{comment.id}{author} on {format_post_link(post)} is waiting for an answer. "
        f"Owner: {owner}. If it's still open {slack_date(flagged.nudge_at)}, I'll nudge {owner}."
    )
    text = f"Comment #{comment.id} ({platform_name(post)} post) is waiting for an answer; owner {owner}."
    return message(
        text,
        [
            section(headline),
            section(quoted_comment(comment) + (f"\n{on_it}." if on_it else "")),
            comment_buttons(comment.id, claimed=bool(on_it)),
            context(
                # Only its first letter: str.capitalize would lower the rest, and break the mention.
                f"{found[:1].upper()}{found[1:]}. Close it with the buttons, "
                f"`/twoway answered {comment.id}` or `/twoway dismiss {comment.id}`."
            ),
        ],
    )


def closing_line(comment: Comment, now: datetime) -> str:
    """How a comment ended (answered by whom, after how long; or needing no reply), or its wait."""
    start = comment.written_at or comment.flagged_at
    if comment.state == "answered" and comment.answered_at is not None:
        took = format_duration(max(comment.answered_at - start, timedelta(0)))
        return f":white_check_mark: Comment #{comment.id} was {answered_how(comment)} after {took}."
    if comment.state == "dismissed":
        said = f", said {mention(comment.dismissed_by)}" if comment.dismissed_by else ""
        return f":no_entry_sign: Comment #{comment.id} needs no reply{said}."
    return f"Comment #{comment.id} is waiting for an answer ({_age(comment, now)})."


def render_notice_closed(comment: Comment, post: Post, now: datetime) -> Message:
    """The thread notice once the comment is answered or dismissed: who closed it and when."""
    line = closing_line(comment, now)
    return message(
        line,
        [section(f"{line} ({format_post_link(post)})"), section(quote(comment.text))],
    )


def render_notice_withdrawn(comment_id: int, by: str) -> Message:
    """The thread notice once the flag was taken back before anything happened."""
    line = f"{mention(by)} took the flag back: comment #{comment_id} is no longer tracked."
    return message(line, [section(line)])


def render_closed(closed: Closed, now: datetime) -> Message:
    """The answer to `/twoway answered` / `dismiss` or a button: what changed, or what had happened
    already (a button on a message that was not yet drawn again, two clicks at once)."""
    line = closing_line(closed.comment, now) if closed.changed else already_closed(closed.comment, now)
    return message(line, [section(line)])


def already_closed(comment: Comment, now: datetime) -> str:
    """What happened to a comment that is no longer waiting, by whom and how long ago."""
    return f"Comment #{comment.id} was already {_closed_how(comment, now)}."


def _ago(moment: datetime | None, now: datetime) -> str:
    return "" if moment is None else f" {format_duration(max(now - moment, timedelta(0)))} ago"


def _ids(ids: list[int]) -> str:
    """ "#5", "#5 and #6", "#5, #6 and #7"."""
    named = [f"#{i}" for i in ids]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


def _closed_how(comment: Comment, now: datetime) -> str:
    """ "answered by @ada 2 hours ago", "answered on Bluesky 2 hours ago", "marked as needing no reply
    by @ada 1 day ago": how a closed comment ended, by whom or where, and how long ago."""
    if comment.state == "answered":
        return answered_how(comment) + _ago(comment.answered_at, now)
    return dismissed_how(comment) + _ago(comment.dismissed_at, now)


def _already(comment: Comment, now: datetime) -> str:
    if comment.state in ("answered", "dismissed"):
        return f"#{comment.id} was already {_closed_how(comment, now)}"
    return f"#{comment.id} is still waiting for an answer"


def render_closed_several(state: str, outcomes: list[tuple[int, Closed | None]], now: datetime) -> Message:
    """The answer to `/twoway answered 5 6 7` or `dismiss 5 6`: what happened to each id, in one message
    (closed, already closed by whom and when, or no such comment here)."""
    closed = [i for i, c in outcomes if c is not None and c.changed]
    already = [c for _, c in outcomes if c is not None and not c.changed]
    unknown = [i for i, c in outcomes if c is None]
    parts: list[str] = []
    if closed:
        done = "answered" if state == "answered" else "as needing no reply"
        parts.append(f"Marked {_ids(closed)} {done}.")
    parts += [f"{_already(c.comment, now)}." for c in already]
    if len(unknown) == 1:
        parts.append(f"There is no comment #{unknown[0]} here.")
    elif unknown:
        parts.append(f"There are no comments {_ids(unknown)} here.")
    line = " ".join(parts)
    return message(line, [section(line)])


def render_already_flagged(comment: Comment, post: Post, now: datetime) -> Message:
    """The answer to a second flag of a comment: its id, who flagged it and when, and where it stands."""
    stands = _closed_how(comment, now) if comment.state in ("answered", "dismissed") else "still waiting"
    line = (
        f"That comment is already #{comment.id} on {format_post_link(post)}, "
        f"{found_by(comment)}{_ago(comment.flagged_at, now)}, {stands}."
    )
    return message(line, [section(line)])


def added_line(post: Post) -> str:
    """What a `/twoway log` or `flag` says first when it added the post to the channel's ledger."""
    return f"Added {format_post_link(post)} to this channel's ledger, owned by you."


def render_logged(recorded: Recorded | None, post: Post, *, added: bool) -> Message:
    """The answer to `/twoway log`: the post added, if it was, then the snapshot as recorded with every
    count, or that no numbers were given."""
    lead = added_line(post) + " " if added else ""
    if recorded is None:
        line = f"{added_line(post).removesuffix('.')} (no numbers yet)."
        return message(line, [section(line), context(f"Add them any time: `{LOG_WITH_COUNTS}`")])
    e = recorded.engagement
    counts = f"{e.comments} comments, {e.replies} replies, {e.shares} shares, {e.likes} likes"
    if recorded.created:
        line = f"{lead}Recorded for {format_post_link(post)}: {counts}."
    else:
        line = f"{lead}Already recorded for {format_post_link(post)}: {counts}."
    return message(line, [section(line)])


def comment_section(comment: Comment, post: Post, now: datetime, names: Mapping[str, str]) -> SectionBlock:
    by = from_author(comment, 60)
    author = (f" ·{by}" if by else "") + seen_mark(comment)
    if comment.snoozed_until is not None and comment.snoozed_until > now:
        author += f" · snoozed until {slack_date(comment.snoozed_until)}"
    on_it = claim_line(comment, names)
    if on_it:
        author += f" · {on_it}"
    return section(
        f"*#{comment.id}* · {_age(comment, now)} · {format_post_link(post)} · "
        f"{mention(post.owner_user_id)}{author}\n"
        f"{quoted_comment(comment, 200)}"
    )


def comment_blocks(
    waiting: Waiting,
    now: datetime,
    more_hint: str,
    *,
    snooze: bool = False,
    names: Mapping[str, str] | None = None,
) -> list[Block]:
    """Each waiting comment with its buttons and who is on it, oldest first, then "and N more" when
    cut."""
    blocks: list[Block] = []
    shown = waiting.items[:LIST_LIMIT]
    for comment, post in shown:
        blocks += [
            comment_section(comment, post, now, names or {}),
            comment_buttons(comment.id, snooze=snooze, claimed=comment.claimed_by is not None),
        ]
    more = max(waiting.total, len(waiting.items)) - len(shown)
    if more > 0:
        blocks.append(context(f"and {more} more: {more_hint}"))
    return blocks


def render_unanswered(
    waiting: Waiting,
    now: datetime,
    *,
    owner: str | None,
    where: str = "in this channel",
    names: Mapping[str, str] | None = None,
) -> Message:
    """`/twoway unanswered`: the channel's open comments (or one owner's), oldest first."""
    whose = f" on {mention(owner)}'s posts" if owner else ""
    if waiting.total == 0:
        line = f"No comments are waiting for an answer{whose} {where}."
        return message(line, [section(line)])
    noun = "comment is" if waiting.total == 1 else "comments are"
    line = f"{waiting.total} {noun} waiting for an answer{whose} {where}, oldest first."
    hint = "answer the oldest first, then run `/twoway unanswered` again."
    return message(line, [section(line), *comment_blocks(waiting, now, hint, names=names)])


def _rate_text(rate: Rate) -> str:
    return f"{rate.percent_text()} ({rate.replies} replies to {rate.comments} comments)"


def render_report(result: PeriodReport, *, scope: str) -> Message:
    """`/twoway report`: counts beside every rate, never a score; for one person, counts alone.

    A person's percentage is not for the channel to read: `report @someone` gives their posts and what
    came back, and the team's rate stays in the team's report and the digest."""
    r = result.report
    days = "7 days" if result.period == "week" else "30 days"
    whose = f" for {mention(result.owner)}" if result.owner else ""
    title = f"The last {days} in {scope}{whose}"
    open_age = format_duration(r.median_open_age) if r.median_open_age is not None else "—"
    answer_time = format_duration(r.median_time_to_answer) if r.median_time_to_answer is not None else "—"
    fields = [
        f"*Posts*\n{r.posts}",
        f"*Comments received*\n{r.comments_received}",
        f"*Replies sent*\n{r.replies_sent}",
        *([] if result.owner else [f"*Reply rate*\n{_rate_text(r.reply_rate)}"]),
        f"*One-way posts*\n{r.one_way_posts} of {r.posts}",
        f"*Conversations*\n{r.conversations} of {r.posts}",
        f"*Open comments*\n{r.open_comments} (median age {open_age})",
        f"*Answered*\n{r.answered_in_period} (median time to answer {answer_time})",
    ]
    rate = "" if result.owner else f"reply rate {_rate_text(r.reply_rate)}, "
    text = (
        f"{title}: {r.posts} posts, {r.comments_received} comments received, {r.replies_sent} replies sent, "
        f"{rate}{r.one_way_posts} one-way posts, "
        f"{r.open_comments} open comments (median age {open_age}), median time to answer {answer_time}."
    )
    reach = reach_line(r.views, r.impressions, r.saves)
    if reach:
        fields.append(f"*Reach*\n{reach}")
        text += f" Reach: {reach}."
    note = (
        "Counts for one person, never a percentage: the channel's reply rate is in `/twoway report` "
        "and the digest. Views, impressions and saves are reach."
        if result.owner
        else "Reply rate counts each post's replies up to its comments: never above 100%. Views, "
        "impressions and saves are reach, never part of it."
    )
    fetched = fetched_line(result.fetched, r.posts)
    if fetched:
        note += f" {fetched}"
    return message(
        text,
        [
            section(f"*{title}*"),
            SectionBlock(fields=[MarkdownTextObject(text=f) for f in fields]),
            context(note),
        ],
    )


def fetched_line(fetched: Mapping[str, int], posts: int) -> str:
    """ "The latest numbers of 2 of the 5 posts were fetched from Bluesky and Mastodon.", or "" when
    every post's numbers were typed."""
    count = sum(fetched.values())
    if not count:
        return ""
    networks = " and ".join(network_name(n) for n in sorted(fetched))
    which = f"{count} of the {posts} posts" if count < posts else ("the post" if posts == 1 else "every post")
    return f"The latest numbers of {which} were fetched from {networks}."


def reach_line(views: int | None, impressions: int | None, saves: int | None) -> str:
    """ "2M views, 10k impressions, 4 saves": those known, or "" when none is."""
    named = (("views", views), ("impressions", impressions), ("saves", saves))
    return ", ".join(f"{compact_count(value)} {name}" for name, value in named if value is not None)


def compact_count(count: int) -> str:
    """A count as people write it: 1.2k and 2M where that is exact, else in full with thousands."""
    for divisor, suffix in ((1_000_000, "M"), (1000, "k")):
        if count >= divisor and (count * 10) % divisor == 0:
            whole, tenth = divmod(count * 10 // divisor, 10)
            return f"{whole}.{tenth}{suffix}" if tenth else f"{whole}{suffix}"
    return f"{count:,}"


def render_settings(channel: Channel, *, changed: bool) -> Message:
    """`/twoway settings`: the channel's threshold and reactions, after any change."""
    lead = "Saved. " if changed else ""
    line = (
        f"{lead}In this channel, open comments are nudged after {channel.unanswered_threshold_hours} hours, "
        f"and an “I'm on it” holds for {claim_hours_text(channel.claim_hours or CLAIM_HOURS_DEFAULT)}. "
        f"React {_emoji(channel.flag_emoji)} to flag a comment, {_emoji(channel.resolve_emoji)} when it's "
        f"answered, {_emoji(channel.dismiss_emoji)} when it needs no reply. "
        f"Bluesky and Mastodon posts: {'watched' if channel.watch_enabled else 'not watched'}."
    )
    usage = (
        "`/twoway settings [threshold <hours>] [claim <hours>h|<days>d] [flag :emoji:] [resolve :emoji:] "
        "[dismiss :emoji:] [watch on|off]`"
    )
    return message(line, [section(line), context(usage)])


def _emoji(name: str) -> str:
    # The grammar lets through names of 100 characters at most, which Slack shows as they are.
    return f":{escape(name[:100])}:"


def render_problem(line: str, usage: str | None = None) -> Message:
    """One line saying what went wrong, and what would work."""
    blocks: list[Block] = [section(line)]
    if usage:
        blocks.append(context(f"`{usage}`"))
    return message(line, blocks)


def render_home(
    home: Home,
    now: datetime,
    names: Mapping[str, str] | None = None,
    *,
    own_rate: Rate | None = None,
    weekly_dm: bool = False,
) -> View:
    """The viewer's Home tab: the comments they are on, comments waiting on their posts, their posts
    this week, their reply rate (and ``own_rate``, their last 4 weeks', when given), and their weekly
    direct message setting."""
    waiting = home.waiting
    blocks: list[Block] = []
    if home.on_it:
        on_it = Waiting(home.on_it[:LIST_LIMIT], len(home.on_it))
        blocks += [
            header("You're on"),
            *comment_blocks(on_it, now, "answer these first.", snooze=True, names=names),
            DividerBlock(),
        ]
    blocks.append(header("Waiting for your answer"))
    if waiting.total == 0:
        blocks.append(section("No comments on your posts are waiting for an answer."))
    else:
        blocks += comment_blocks(
            waiting, now, "`/twoway unanswered @you` lists them by channel.", snooze=True, names=names
        )
    blocks += [DividerBlock(), header("Your posts this week")]
    posts = home.posts_this_week
    if posts:
        newest = [
            f"• {format_post_link(p)} · {slack_date(p.shared_at)}" for p in reversed(posts[-LIST_LIMIT:])
        ]
        # The newest that fit, then how many more there are.
        more = len(posts) - len(newest)
        blocks.append(
            section(listing(None, newest, POSTS_BUDGET, lambda n: f"and {n} more", len, unlisted=more))
        )
    else:
        blocks.append(section("You haven't shared a post in the last 7 days."))
    blocks.append(section(f"*Your reply rate this week:* {_rate_text(home.rate)}"))
    if own_rate is not None:
        blocks.append(context(own_rate_line(own_rate)))
    blocks += [DividerBlock(), *weekly_dm_setting(weekly_dm)]
    return View(type="home", blocks=blocks)


def own_rate_line(rate: Rate) -> str:
    """A person's own reply rate over the last 4 weeks, with both counts; shown to that person alone."""
    if rate.value is None:
        return "No comments were recorded on your posts in the last 4 weeks."
    answered = round(rate.value * rate.comments)
    return (
        f"You answered {answered} of {rate.comments} comments on your posts in the last 4 weeks "
        f"({rate.percent_text()}). Only you see this."
    )


def weekly_dm_setting(on: bool) -> list[Block]:
    """The Home tab's setting: a weekly summary in a direct message instead of channel nudges."""
    if on:
        line = (
            "*Weekly summary in a DM instead of channel nudges:* on. Every Monday at 09:00 your time, "
            "twoway sends you your waiting comments, your posts' numbers and your reply rate, and "
            "doesn't nudge you in the channels (the follow-up to the whole channel still goes)."
        )
        button = ButtonElement(text="Turn off", action_id=WEEKLY_DM_ACTION, value="off")
    else:
        line = (
            "*Weekly summary in a DM instead of channel nudges:* off. Turn it on to get your waiting "
            "comments, your posts' numbers and your reply rate every Monday at 09:00 your time, "
            "instead of a nudge in the channel for each comment."
        )
        button = ButtonElement(text="Turn on", action_id=WEEKLY_DM_ACTION, value="on", style="primary")
    return [section(line), ActionsBlock(block_id="weekly-dm", elements=[button])]


def post_option(post: Post) -> Option:
    """A post as the flag dialog offers it, in Block Kit's 75 characters: "X · 3 Dec · x.com/acme/st…"."""
    network = PLATFORM_NAMES.get(post.platform, post.platform)[:20]
    lead = f"{network} · {post.shared_at.day} {post.shared_at:%b} · "
    address = post.canonical_url.split("://", 1)[-1]
    return Option(text=truncate(lead + address, OPTION_TEXT_LIMIT), value=str(post.id))


def render_flag_modal(
    channel_id: str,
    message_ts: str,
    reason: str,
    posts: Sequence[Post] = (),
    selected: Post | None = None,
) -> View:
    """The shortcut's modal, when the message and its thread don't say which post the comment is on:
    the channel's recent ``posts`` to choose from (``selected`` first chosen), and a link to paste as
    well. A post chosen wins over a link pasted."""
    options = [post_option(p) for p in posts[:FLAG_MODAL_POSTS]]
    chosen = None if selected is None else selected.id
    initial = next((o for o, p in zip(options, posts, strict=False) if p.id == chosen), None)
    blocks: list[Block] = [section(reason)]
    if options:
        blocks.append(
            InputBlock(
                block_id=FLAG_MODAL_POST_BLOCK,
                label="This channel's recent posts",
                optional=True,
                element=StaticSelectElement(
                    action_id=FLAG_MODAL_POST_INPUT,
                    placeholder="Choose the post",
                    options=options,
                    initial_option=initial,
                ),
            )
        )
    blocks.append(
        InputBlock(
            block_id=FLAG_MODAL_URL_BLOCK,
            label="or paste a post link" if options else "Link to the post it was left on",
            optional=bool(options),
            hint="Used when no post is chosen above." if options else None,
            element=PlainTextInputElement(action_id=FLAG_MODAL_URL_INPUT, placeholder="https://…"),
        )
    )
    return View(
        type="modal",
        callback_id=FLAG_MODAL,
        title="Flag comment",
        submit="Flag",
        close="Cancel",
        private_metadata=f"{channel_id}|{message_ts}",
        blocks=blocks,
    )


def render_reassign_modal(comment_id: int, channel_id: str | None) -> View:
    """ "Ask someone else": a person picker for who should take the comment; the modal carries the
    comment and the channel it was asked from ("" for the Home tab or a direct message)."""
    return View(
        type="modal",
        callback_id=REASSIGN_MODAL,
        title="Ask someone else",
        submit="Ask",
        close="Cancel",
        private_metadata=f"{comment_id}|{channel_id or ''}",
        blocks=[
            section(f"Who should take comment #{comment_id}? twoway tells them in the comment's thread."),
            InputBlock(
                block_id=REASSIGN_MODAL_BLOCK,
                label="Person",
                element=UserSelectElement(action_id=REASSIGN_MODAL_INPUT, placeholder="Pick a person"),
            ),
        ],
    )


def slot_date(moment: datetime) -> str:
    """A digest slot as Slack shows it to each reader: "Monday, Nov 30 at 9:00 AM"."""
    fallback = moment.strftime("%A %d %b %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_long_pretty}} at {{time}}|{fallback}>"


def zone_words(name: str) -> str:
    """A channel's zone as the schedule shows it; a fixed offset says it keeps no daylight saving."""
    if not is_fixed_offset(name):
        return name
    # POSIX signs: Etc/GMT-2 is two hours ahead of UTC.
    hours = -int(name.removeprefix("Etc/GMT"))
    return f"{name}, {offset_label(hours * 60)} all year with no daylight saving"


def schedule_words(channel: Channel) -> str:
    """`Fridays at 16:00 Europe/Paris`."""
    day, time = WEEKDAY_NAMES[channel.digest_weekday], clock_time(channel.digest_minute)
    return f"{day}s at {time} {zone_words(channel.timezone)}"


SCHEDULE_USAGE = "/twoway schedule [weekday] [time] [time zone] | /twoway schedule off"


def render_schedule(channel: Channel, now: datetime, *, changed: bool) -> Message:
    """`/twoway schedule`: when this channel's digest is posted, and the next one."""
    lead = "Saved. " if changed else ""
    if not channel.digest_enabled:
        line = f"{lead}This channel's digest is off. Turn it back on with `/twoway schedule monday 09:00`."
        return message(line, [section(line)])
    upcoming = next_period_for(channel, now).end
    weekday, time = WEEKDAY_NAMES[channel.digest_weekday], clock_time(channel.digest_minute)
    line = (
        f"{lead}This channel's digest is posted every {weekday} at {time} ({zone_words(channel.timezone)}); "
        f"the next one {slot_date(upcoming)}."
    )
    usage = f"`{SCHEDULE_USAGE}`, e.g. `/twoway schedule fri 4pm Europe/Paris`"
    return message(line, [section(line), context(usage)])


def render_schedule_question(question: ScheduleQuestion) -> Message:
    """The choices an ambiguous `/twoway schedule` may mean, a button each; nothing is saved yet."""
    line = f"{question.question} Nothing is changed until you pick one."
    buttons = [
        ButtonElement(
            text=option.label[:75],
            action_id=f"{SCHEDULE_CHOICE_ACTION}_{n}",
            value=schedule_text(option.request),
        )
        for n, option in enumerate(question.options)
    ]
    return message(line, [section(line), ActionsBlock(block_id="schedule-choices", elements=buttons)])


def render_schedule_change(user_id: str, channel: Channel) -> str:
    """The line in the channel after someone changed its schedule."""
    if not channel.digest_enabled:
        return f"{mention(user_id)} turned this channel's digest off."
    return f"{mention(user_id)} moved this channel's digest to {schedule_words(channel)}."


_SETTING_NAMES = {
    "unanswered_threshold_hours": "the nudge threshold",
    "flag_emoji": "the flag emoji",
    "resolve_emoji": "the resolve emoji",
    "dismiss_emoji": "the dismiss emoji",
    "claim_hours": "how long an “I'm on it” holds",
}


def render_settings_change(user_id: str, changed: dict[str, object]) -> str:
    """The line in the channel after someone changed its settings: each change, in one sentence."""
    parts = []
    for name, value in changed.items():
        if name == "watch_enabled":
            continue
        if name == "unanswered_threshold_hours":
            shown = f"{value} hours"
        elif name == "claim_hours" and isinstance(value, int):
            shown = claim_hours_text(value)
        else:
            shown = _emoji(str(value))
        parts.append(f"{_SETTING_NAMES.get(name, name.replace('_', ' '))} to {shown}")
    acts = []
    if parts:
        acts.append("set " + (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]))
    if "watch_enabled" in changed:
        turned = "on" if changed["watch_enabled"] else "off"
        acts.append(f"turned {turned} reading this channel's Bluesky and Mastodon posts on their networks")
    return f"{mention(user_id)} {', and '.join(acts)}."
