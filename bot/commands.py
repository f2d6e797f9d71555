"""Doing what each `/twoway` request asks: the ledger read or written, and the answer for the asker.

The request comes parsed (`bot.grammar`); the slash command's handler acknowledges it and hands it
here. Every answer is ephemeral, shown to whoever ran the command.

A command run in a channel reaches that channel's posts and comments only (`bot.ledger.Reach`). Run in
the app's direct message with the person (its Messages tab), it reaches their own posts and comments in
the channels they are in, and only what concerns them (`unanswered`, `answered`, `dismiss`, `log`,
`flag`); what concerns a channel as a whole is run in that channel.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot import ledger
from bot.claims import names_of
from bot.deps import Deps
from bot.digest.compose import SlackLookups, compose_digest
from bot.digest.period import next_period_for, period_for
from bot.flagging import Reply, close_all_and_notify, flag_and_notify
from bot.grammar import (
    BY_NAME,
    Asker,
    BadInput,
    CloseRequest,
    DigestRequest,
    DmRequest,
    ExportRequest,
    FlagRequest,
    HelpRequest,
    LogRequest,
    NamedPerson,
    Person,
    ReportRequest,
    Request,
    ScheduleQuestion,
    ScheduleRequest,
    SettingsRequest,
    SourcesRequest,
    UnansweredRequest,
    UnavailableRequest,
)
from bot.home import personal_reach, set_weekly_dm
from bot.ledger import Reach
from bot.links import PostLink
from bot.numbers import read_back_of
from bot.ownership import change_sources
from bot.people import Ambiguous, Found
from bot.render import DEFAULT_FLAG_EMOJI, DEFAULT_RESOLVE_EMOJI, Message, note, render_request
from bot.render_ledger import (
    LIST_LIMIT,
    LOG_WITH_COUNTS,
    added_line,
    format_post_link,
    render_already_flagged,
    render_logged,
    render_problem,
    render_report,
    render_schedule,
    render_schedule_change,
    render_schedule_question,
    render_settings,
    render_settings_change,
    render_unanswered,
    slot_date,
)
from bot.slack_calls import advice, attempt, post_message, slack_error
from bot.text import URL_LIMIT, channel_mention, escape, inline_code, mention
from bot.transfer import COMMENT_COLUMNS, POST_COLUMNS, SNAPSHOT_COLUMNS, write_csv
from bot.weekly import setting_line
from bot.welcome import arrive
from storage.bulk import export_comments, export_posts, export_snapshots
from storage.channels import ensure_channel, get_channel, update_channel_settings
from storage.models import Channel

logger = logging.getLogger(__name__)


def run_command(
    deps: Deps,
    client: WebClient,
    request: Request,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    reply: Reply,
) -> Message:
    """Do what ``request`` asks in the channel, as ``user_id``; return the answer for them.

    ``reply`` shows them a message before the answer, such as a notice Slack refused to post.
    A command run where twoway is not a member records nothing, and says how to invite it.
    """
    if isinstance(request, DmRequest):
        # The asker's own setting: the same wherever it is run.
        return _weekly_dm(deps, client, request, team_id, user_id)
    if channel_id.startswith("D"):
        return _from_direct_message(deps, client, request, team_id, channel_id, user_id, reply)
    outside = _outside(deps, client, team_id, channel_id, user_id)
    if outside is not None:
        return outside
    reach = Reach.channel(channel_id)
    match request:
        case LogRequest() | FlagRequest() | CloseRequest() | UnansweredRequest():
            return _personal(deps, client, request, team_id, reach, user_id, reply)
        case ReportRequest():
            owner = _whom(deps, client, team_id, user_id, request.person)
            if isinstance(owner, dict):
                return owner
            with deps.sessions.begin() as s:
                result = ledger.report(
                    s,
                    team_id,
                    channel_id=channel_id,
                    owner=owner,
                    period=request.period,
                    now=deps.clock(),
                )
            return render_report(result, scope=channel_mention(channel_id))
        case SettingsRequest():
            return _settings(deps, client, team_id, channel_id, user_id, request)
        case SourcesRequest():
            return change_sources(deps, team_id, channel_id, user_id, request)
        case ExportRequest():
            return _export(deps, client, team_id, channel_id, user_id, request)
        case DigestRequest(post=False):
            return _preview(deps, client, team_id, channel_id)
        case DigestRequest(post=True):
            return _post_digest(deps, client, team_id, channel_id)
        case ScheduleRequest():
            return _schedule(deps, client, team_id, channel_id, user_id, request)
        case ScheduleQuestion():
            return render_schedule_question(request)
    raise AssertionError(f"unhandled request {request!r}")  # pragma: no cover


def _weekly_dm(deps: Deps, client: WebClient, request: DmRequest, team_id: str, user_id: str) -> Message:
    """`/twoway dm [on|off]`: the asker's weekly summary, changed if asked (their Home tab drawn again)."""
    if request.on is not None:
        set_weekly_dm(deps, client, team_id, user_id, on=request.on)
    with deps.sessions.begin() as s:
        line = setting_line(s, team_id, user_id, deps.clock())
    return note(f"Saved. {line}" if request.on is not None else line)


def help_answer(
    deps: Deps, request: HelpRequest | UnavailableRequest | BadInput, team_id: str | None, channel_id: str
) -> Message:
    """The answer to a request that needs no ledger; help names the channel's own reactions, read on
    the ack path through the sessions that never wait behind a writer (the defaults where twoway has
    no settings for the channel, or the read fails)."""
    flag, resolve = DEFAULT_FLAG_EMOJI, DEFAULT_RESOLVE_EMOJI
    if isinstance(request, HelpRequest) and request.topic is None and team_id:
        try:
            with (deps.reads or deps.sessions)() as s:
                channel = get_channel(s, team_id, channel_id)
                if channel is not None:
                    flag, resolve = channel.flag_emoji, channel.resolve_emoji
        except SQLAlchemyError:
            logger.exception("could not read the reactions of %s for help", channel_id)
    return render_request(request, flag_emoji=flag, resolve_emoji=resolve)


PersonalRequest = LogRequest | FlagRequest | CloseRequest | UnansweredRequest
_IN_A_CHANNEL = (
    "From here, `/twoway` works on your own posts in the channels you are in: `unanswered`, `answered`, "
    "`dismiss`, `log` and `flag`. Run the rest in the channel it is about."
)


def _personal(
    deps: Deps,
    client: WebClient,
    request: PersonalRequest,
    team_id: str,
    reach: Reach,
    user_id: str,
    reply: Reply,
) -> Message:
    """The requests about single posts and comments, on those within ``reach``."""
    match request:
        case LogRequest():
            return _log(deps, team_id, reach, user_id, request)
        case FlagRequest():
            return _flag(deps, client, team_id, reach, user_id, request, reply)
        case CloseRequest():
            return close_all_and_notify(
                deps, client, team_id, reach, request.comment_ids, state=request.state, by=user_id
            )
        case UnansweredRequest():
            owner = _whom(deps, client, team_id, user_id, request.person)
            if isinstance(owner, dict):
                return owner
            with deps.sessions.begin() as s:
                waiting = ledger.unanswered(s, team_id, reach, owner=owner, limit=LIST_LIMIT)
            where = "in this channel" if reach.owner is None else "in your channels"
            claimed = any(c.claimed_by for c, _ in waiting.items)
            names = names_of(deps.people, client, team_id) if claimed else {}
            return render_unanswered(
                waiting, deps.clock(), owner=reach.owner or owner, where=where, names=names
            )


_AUTOCOMPLETE = "type `@` and pick them from Slack's list, so Slack links them"


def _whom(
    deps: Deps, client: WebClient, team_id: str, user_id: str, person: Person | None
) -> str | Message | None:
    """The user id a command is about: as mentioned, the asker for `me`, or the one member going by a
    typed `@name`; else the answer saying why no one is (nobody by that name, or more than one)."""
    if not isinstance(person, NamedPerson):
        return user_id if isinstance(person, Asker) else person
    typed = inline_code("@" + person.name, limit=82)
    try:
        found = deps.people.find(client, team_id, person.name)
    except SlackApiError as error:
        logger.warning("could not list the members of %s: %s", team_id, slack_error(error))
        return render_problem(
            f"I couldn't look up {typed}: {advice(error)} Mention them instead: {_AUTOCOMPLETE}."
        )
    match found:
        case Found():
            return found.user_id
        case Ambiguous():
            shown = found.user_ids[:10]
            who = ", ".join(mention(u) for u in shown) + (
                " and more" if len(found.user_ids) > len(shown) else ""
            )
            return render_problem(
                f"More than one person goes by {typed}: {who}. Mention the one you mean: {_AUTOCOMPLETE}."
            )
    return render_problem(f"No one in this workspace goes by {typed}. Mention them instead: {_AUTOCOMPLETE}.")


def _from_direct_message(
    deps: Deps,
    client: WebClient,
    request: Request,
    team_id: str,
    channel_id: str,
    user_id: str,
    reply: Reply,
) -> Message:
    """A command run in a direct message: in the person's DM with twoway, on their own items in the
    channels they are in; in any other (twoway is in none), the answer saying where twoway works.

    Slack's payload names a DM only as `directmessage`, whoever is in it; the DM with twoway is the one
    conversations.open (im:write) gives for the person.
    """
    opened = attempt(lambda: client.conversations_open(users=user_id), "conversations.open")
    if opened is None or (opened.get("channel") or {}).get("id") != channel_id:
        return _invite(channel_id)
    if not isinstance(request, PersonalRequest):
        return render_problem(_IN_A_CHANNEL)
    try:
        reach = personal_reach(client, user_id)
    except SlackApiError as error:
        logger.warning("could not list the channels of %s: %s", user_id, slack_error(error))
        return render_problem(f"I couldn't check which channels you are in: {advice(error)}")
    return _personal(deps, client, request, team_id, reach, user_id, reply)


# What conversations.info answers for a conversation twoway is not in: a private channel or a direct
# message it can't see (channel_not_found), or a direct message it has no im:read for (missing_scope).
_NOT_VISIBLE = ("channel_not_found", "missing_scope", "method_not_supported_for_channel_type")
_INVITE = "Invite it with `/invite @twoway`, then run the command again."


def _outside(deps: Deps, client: WebClient, team_id: str, channel_id: str, user_id: str) -> Message | None:
    """None when twoway is in the channel; otherwise the answer saying how to invite it.

    The ledger knows the channels twoway is in from Slack's membership events. For any other channel
    (new to twoway, or one it was removed from and may have been invited back to while it was not
    listening) Slack is asked once (conversations.info), and a membership it reports is recorded.
    """
    with deps.sessions.begin() as s:
        known = get_channel(s, team_id, channel_id)
        if known is not None and known.active:
            return None
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        if slack_error(error) in _NOT_VISIBLE:
            return _invite(channel_id)
        logger.warning("could not ask Slack about %s: %s", channel_id, slack_error(error))
        return render_problem(f"I couldn't check that twoway is in this channel: {advice(error)}")
    if info.get("is_archived"):
        return render_problem("This channel is archived, so twoway's digests and nudges have stopped here.")
    if not info.get("is_member"):
        return _invite(channel_id)
    # A channel first set up by a command takes the time zone of whoever ran it.
    arrive(deps, client, team_id, channel_id, by=user_id)
    if deps.schedules is not None:
        deps.schedules.sync_channel(team_id, channel_id)
    return None


def _invite(channel_id: str) -> Message:
    if channel_id.startswith("D"):
        return render_problem(
            f"twoway works in channels, not in direct messages. Run `/twoway` in a channel twoway is in. "
            f"To add it to one: {_INVITE}"
        )
    return render_problem(f"twoway isn't in this channel, so it keeps no ledger here. {_INVITE}")


def _unknown_post(url: str, reach: Reach, usage: str) -> Message:
    """The answer for a link no post in reach has. In a channel that is a post of another channel (a new
    one is added, `ledger.post_within_or_added`); from the app's direct message, any post, which
    belongs in a channel. Either way the words name no other channel, owner or item."""
    # Slack links a URL shown whole; one too long to show is named, never cut into a wrong link.
    shown = escape(url) if len(url) <= URL_LIMIT else "that link"
    if reach.home is None:
        line = (
            f"twoway isn't tracking {shown} in your channels, and from here it can't tell which channel "
            "it belongs to: run the command in that channel, and the post is added to its ledger."
        )
    else:
        line = f"twoway isn't tracking {shown} in this channel: share it here in a message, and it will be."
    return render_problem(line, usage)


def _place(
    deps: Deps, s: Session, team_id: str, reach: Reach, user_id: str, link: PostLink
) -> ledger.Placed | None:
    return ledger.post_within_or_added(
        s, team_id, reach, link, user_id=user_id, now=deps.clock(), timezone=deps.config.timezone
    )


def _log(deps: Deps, team_id: str, reach: Reach, user_id: str, request: LogRequest) -> Message:
    """Record the snapshot; a post the ledger has nowhere is added to the channel first, and without
    counts that is all the command does."""
    now = deps.clock()
    with deps.sessions.begin() as s:
        placed = ledger.post_within(s, team_id, reach, request.link.canonical_url)
        if placed is not None and request.engagement is None:
            return render_problem(
                f"twoway tracks {format_post_link(placed.post)} already and no numbers came with it, so "
                "there is nothing to record. Add its counts after the link:",
                LOG_WITH_COUNTS,
            )
        if placed is None:
            placed = _place(deps, s, team_id, reach, user_id, request.link)
        if placed is None:
            return _unknown_post(request.link.canonical_url, reach, BY_NAME["log"].usage)
        if request.engagement is None:
            return render_logged(None, placed.post, added=placed.added)
        recorded = ledger.record_engagement(
            s,
            team_id,
            placed.post,
            request.engagement,
            recorded_at=now,
            recorded_by=user_id,
            source="command",
        )
        lead = added_line(placed.post) + " " if placed.added else ""
        return read_back_of(recorded, request.replies_read_as, lead=lead)


def _flag(
    deps: Deps,
    client: WebClient,
    team_id: str,
    reach: Reach,
    user_id: str,
    request: FlagRequest,
    reply: Reply,
) -> Message:
    with deps.sessions.begin() as s:
        placed = _place(deps, s, team_id, reach, user_id, request.link)
    if placed is None:
        return _unknown_post(request.link.canonical_url, reach, BY_NAME["flag"].usage)

    # The notice goes under the message that shared the post in the channel, where its owner looks; a
    # post no message shares (added by a command, or imported) has no thread, and its notice goes in
    # the channel itself, as a post of the channel's is everyone's there.
    post = placed.post
    flagged = flag_and_notify(
        deps,
        client,
        team_id,
        post=post,
        channel_id=placed.channel_id,
        text=request.text,
        author=request.author,
        flagged_by=user_id,
        message_ts=None,
        thread_ts=placed.thread_ts,
        reply=reply,
        url=request.comment_url,
    )
    lead = added_line(post) + " " if placed.added else ""
    if not flagged.created:
        return render_already_flagged(flagged.comment, post, deps.clock())
    where = "the post's thread" if placed.thread_ts else "the channel"
    line = (
        f"{lead}Flagged as comment #{flagged.comment.id} on {format_post_link(post)}; "
        f"its owner <@{post.owner_user_id}> will see it in {where}."
    )
    return note(line)


def _settings(
    deps: Deps, client: WebClient, team_id: str, channel_id: str, user_id: str, request: SettingsRequest
) -> Message:
    changes: dict[str, object] = {
        name: value
        for name, value in (
            ("unanswered_threshold_hours", request.threshold_hours),
            ("claim_hours", request.claim_hours),
            ("flag_emoji", request.flag_emoji),
            ("resolve_emoji", request.resolve_emoji),
            ("dismiss_emoji", request.dismiss_emoji),
            ("watch_enabled", request.watch),
        )
        if value is not None
    }
    refused = _unknown_emoji(deps, client, team_id, request)
    if refused is not None:
        return refused
    now = deps.clock()
    with deps.sessions.begin() as s:
        channel = ensure_channel(s, team_id, channel_id, timezone=deps.config.timezone, now=now)
        emojis = {
            kind: changes.get(f"{kind}_emoji", getattr(channel, f"{kind}_emoji"))
            for kind in ("flag", "resolve", "dismiss")
        }
        if len(set(emojis.values())) < 3:
            return render_problem(
                "The flag, resolve and dismiss reactions must differ: "
                + ", ".join(f"{kind} :{emoji}:" for kind, emoji in emojis.items())
                + ".",
                BY_NAME["settings"].usage,
            )
        changed = {name: value for name, value in changes.items() if getattr(channel, name) != value}
        updated = update_channel_settings(s, team_id, channel_id, changed, now=now)
        assert updated is not None, "ensured above in this transaction"
        answer = render_settings(updated, changed=bool(changes))
    if changed:
        _announce(client, channel_id, render_settings_change(user_id, changed))
    return answer


def _unknown_emoji(deps: Deps, client: WebClient, team_id: str, request: SettingsRequest) -> Message | None:
    """The answer refusing any emoji the settings name that Slack doesn't know: neither in its standard
    set nor among the workspace's custom emoji; None when all are known."""
    given = [e for e in (request.flag_emoji, request.resolve_emoji, request.dismiss_emoji) if e is not None]
    checked = deps.emoji.check(client, team_id, given)
    if not checked.unknown:
        return None
    names = " and ".join(inline_code(f":{name}:", limit=104) for name in checked.unknown)
    verb = "isn't" if len(checked.unknown) == 1 else "aren't"
    if checked.custom_error is None:
        line = (
            f"{names} {verb} in Slack's standard emoji or this workspace's custom ones; nothing was changed."
        )
    else:
        why = (
            "twoway lacks the `emoji:read` permission: reinstall it to grant it"
            if checked.custom_error == "missing_scope"
            else f"Slack answered `{checked.custom_error}`"
        )
        line = (
            f"{names} {verb} in Slack's standard emoji, and I couldn't list this workspace's custom ones "
            f"({why}); nothing was changed. Standard emoji work meanwhile, e.g. `:raising_hand:`."
        )
    return render_problem(line, BY_NAME["settings"].usage)


_EXPORTS = {
    "posts": (export_posts, POST_COLUMNS),
    "snapshots": (export_snapshots, SNAPSHOT_COLUMNS),
    "comments": (export_comments, COMMENT_COLUMNS),
}


def _export(
    deps: Deps, client: WebClient, team_id: str, channel_id: str, user_id: str, request: ExportRequest
) -> Message:
    tables = [request.table] if request.table else list(_EXPORTS)
    uploads: list[dict[str, Any]] = []
    with deps.sessions.begin() as s:
        for table in tables:
            rows, columns = _EXPORTS[table]
            out = io.StringIO()
            write_csv(rows(s, team_id, channel_id), columns, out)
            uploads.append(
                {"content": out.getvalue(), "filename": f"twoway-{table}-{channel_id}.csv", "title": table}
            )
    try:
        dm = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=dm,
            file_uploads=uploads,
            initial_comment=f"The ledger of <#{channel_id}>: {', '.join(tables)} (CSV).",
        )
    except SlackApiError as error:
        logger.warning("export for %s failed: %s", user_id, error.response.get("error"))
        return render_problem(f"I couldn't send you the export: {advice(error)}")
    files = "a CSV file" if len(uploads) == 1 else f"{len(uploads)} CSV files"
    line = f"Sent you {files} in a direct message: {', '.join(tables)}."
    return note(line)


def _channel(deps: Deps, s: Session, team_id: str, channel_id: str) -> Channel:
    return ensure_channel(s, team_id, channel_id, timezone=deps.config.timezone, now=deps.clock())


def _preview(deps: Deps, client: WebClient, team_id: str, channel_id: str) -> Message:
    """The next digest as it stands now, for the asker's eyes only: this week so far, named so in the
    message, where `digest now` posts last week's."""
    now = deps.clock()
    with deps.sessions.begin() as s:
        period = next_period_for(_channel(deps, s, team_id, channel_id), now)
        composed = compose_digest(
            s, team_id, channel_id, period, now, names=lambda: names_of(deps.people, client, team_id)
        )
    preview = composed.looked_up(SlackLookups(client, team_id, deps.people)).message
    lead = (
        f"Preview, only you see it: this week so far. The digest due {slot_date(period.end)} will tell "
        "the whole week; `/twoway digest now` posts last week's."
    )
    return {"text": f"{lead} {preview['text']}", "blocks": [*note(lead)["blocks"], *preview["blocks"]][:50]}


def _post_digest(deps: Deps, client: WebClient, team_id: str, channel_id: str) -> Message:
    """Post the digest of the week that ended at the last slot, unless it is in the channel already."""
    if deps.publisher is None:
        return render_problem("Digests aren't running in this twoway process.")
    with deps.sessions.begin() as s:
        period = period_for(_channel(deps, s, team_id, channel_id), deps.clock())
    outcome = deps.publisher.publish_digest(team_id, channel_id, period)
    week = f"last week (to {slot_date(period.end)})"
    match outcome.status:
        case "posted":
            return note(f"Posted the digest of {week} in <#{channel_id}>.")
        case "already_posted" | "found_after_crash":
            link = _permalink(client, channel_id, outcome.ts)
            return note(f"The digest of {week} is in <#{channel_id}> already{link}.")
        case "in_progress":
            return note(f"The digest of {week} is being posted right now.")
    return render_problem(
        f"I couldn't post the digest of {week}: Slack answered `{outcome.error}`. "
        "I'll try again at the next sweep, within a few minutes."
    )


def _permalink(client: WebClient, channel_id: str, ts: str | None) -> str:
    if ts is None:
        return ""
    found = attempt(lambda: client.chat_getPermalink(channel=channel_id, message_ts=ts), "chat.getPermalink")
    return f": <{found['permalink']}|see it>" if found is not None and found.get("permalink") else ""


def _schedule(
    deps: Deps, client: WebClient, team_id: str, channel_id: str, user_id: str, request: ScheduleRequest
) -> Message:
    """Show, set or turn off the channel's digest; a change is said in the channel, naming who made it."""
    changes: dict[str, object] = {}
    if request.off:
        changes["digest_enabled"] = False
    if request.weekday is not None:
        changes.update(digest_weekday=request.weekday, digest_enabled=True)
    if request.minute is not None:
        changes.update(digest_minute=request.minute, digest_enabled=True)
    if request.zone is not None:
        changes["timezone"] = request.zone
    now = deps.clock()
    with deps.sessions.begin() as s:
        before = _channel(deps, s, team_id, channel_id)
        changed = {name: value for name, value in changes.items() if getattr(before, name) != value}
        channel = update_channel_settings(s, team_id, channel_id, changed, now=now)
        assert channel is not None, "ensured above in this transaction"
    if changed:
        if deps.schedules is not None:
            deps.schedules.sync_channel(team_id, channel_id)
        _announce(client, channel_id, render_schedule_change(user_id, channel))
    return render_schedule(channel, now, changed=bool(changes))


def _announce(client: WebClient, channel_id: str, line: str) -> None:
    """One line in the channel saying what changed and who changed it; a failure is logged only."""
    attempt(lambda: post_message(client, channel=channel_id, text=line), "chat.postMessage")
