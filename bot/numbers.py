"""A post's numbers after they are recorded: read back to whoever gave them, fixed with one click, and
logged through the "Log numbers" modal.

A thread summary or `/twoway log` that records a snapshot is read back to its writer alone
(`render_read_back`), with buttons: the other reading of a bare "replies" count, Edit (the modal,
prefilled) and Undo. A reply under a post that speaks of counts twoway can't read gets a hint with a
"Log numbers" button instead. Every button acts on the post within the clicker's reach
(`bot.ledger.Reach`) and on the ledger as it is when clicked, not as it was when the button was drawn:
a snapshot undone or changed since is said so.

Edit, Undo and the other reading rewrite someone's record, so only the person who recorded that
snapshot may click them through: the read-back is shown to them alone, and anyone else who disagrees
records newer numbers, which count from then on and keep both in the trend.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import ledger
from bot.deps import Deps
from bot.ledger import Reach
from bot.render import Message, note
from bot.render_numbers import (
    ModalPlace,
    ReadBack,
    numbers_from,
    read_numbers_form,
    render_numbers_modal,
    render_read_back,
)
from bot.slack_calls import advice, attempt
from bot.summary import Engagement, Reading
from storage.models import Snapshot
from storage.posts import get_post
from storage.snapshots import delete_snapshot, get_snapshot, latest_snapshot, snapshot_before

logger = logging.getLogger(__name__)

# The reaction on a thread summary twoway recorded.
SUMMARY_REACTION = "bar_chart"

# The other reading's value: "snapshot id:the count as it was read".
_REREAD = re.compile(r"([0-9]{1,19}):([0-9]{1,10})")

_NO_POST = "That post isn't one twoway tracks here."
_GONE = "That snapshot isn't in the ledger any more (it was undone), so nothing changed."
_NOT_YOURS = (
    "Only the person who recorded those numbers can change them this way. If they are wrong, log the "
    "right ones: the newest numbers are the ones that count."
)


def place_in_reach(s: Session, team_id: str, reach: Reach, post_id: int) -> ledger.Placed | None:
    """The team's post ``post_id`` as ``reach`` sees it, or None when it is no post of the team or out
    of reach (the same answer, so that nobody learns what another channel holds)."""
    post = get_post(s, team_id, post_id)
    return None if post is None else ledger.post_within(s, team_id, reach, post.canonical_url)


def read_back_of(recorded: ledger.Recorded, reading: Reading | None, *, lead: str = "") -> Message:
    """The read-back of a snapshot just recorded."""
    if recorded.snapshot_id is None:  # pragma: no cover - record_engagement always finds its row
        return note("Recorded.")
    return render_read_back(
        ReadBack(recorded.post, recorded.engagement, recorded.snapshot_id, recorded.created, reading, lead)
    )


def open_numbers_modal(
    deps: Deps,
    client: WebClient,
    team_id: str,
    reach: Reach,
    post_id: int,
    trigger_id: str | None,
    *,
    snapshot_id: int | None = None,
    user_id: str,
) -> Message | None:
    """Open the "Log numbers" modal for the post (prefilled from its latest snapshot), or, for Edit,
    from ``snapshot_id``; return what to tell the clicker instead, if anything."""
    with deps.sessions.begin() as s:
        placed = place_in_reach(s, team_id, reach, post_id)
        if placed is None:
            return note(_NO_POST)
        lead = None
        shown = None
        if snapshot_id is not None:
            shown = get_snapshot(s, team_id, snapshot_id)
            if shown is None or shown.post_id != post_id:
                lead = "Those numbers were undone; these are the post's latest, and you'll log new ones."
                snapshot_id, shown = None, None
            elif shown.recorded_by != user_id:
                return note(_NOT_YOURS)
        if shown is None:
            shown = latest_snapshot(s, team_id, post_id)
        prefill = ledger.engagement_of(shown)
        view = render_numbers_modal(
            placed.post,
            prefill,
            ModalPlace(placed.post.id, placed.channel_id, snapshot_id),
            lead=lead,
            prefilled_from=None if shown is None else numbers_from(shown, placed.post, deps.clock()),
        )
    if not trigger_id:
        return note("Slack didn't say where to open the form. Use `/twoway log <url> comments=N …` instead.")
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        logger.warning("views.open failed: %s", error.response.get("error"))
        return note(f"I couldn't open the form: {advice(error)}")
    return None


@dataclass(frozen=True)
class ReadBackTo:
    """A read-back and where it goes: the post's channel and thread."""

    reply: Message
    channel_id: str
    thread_ts: str | None


def submit_numbers(
    deps: Deps, team_id: str, user_id: str, place: ModalPlace, values: dict[str, Any]
) -> dict[str, str] | ReadBackTo:
    """Record what the modal holds; return its read-back, or the errors to show under the modal's
    fields, when a field is no count or the post is no longer in the channel (checked again: it may
    have left since the modal opened). An Edit rewrites its snapshot, if it is still there."""
    read = read_numbers_form(values)
    if isinstance(read, dict):
        return read
    now = deps.clock()
    with deps.sessions.begin() as s:
        placed = place_in_reach(s, team_id, Reach.channel(place.channel_id), place.post_id)
        if placed is None:
            return {"comments": _NO_POST}
        snapshot = None if place.snapshot_id is None else get_snapshot(s, team_id, place.snapshot_id)
        if snapshot is not None and snapshot.post_id == placed.post.id and snapshot.recorded_by == user_id:
            _rewrite(snapshot, read.merged_over(None))
            reply = render_read_back(
                ReadBack(placed.post, ledger.engagement_of(snapshot) or read, snapshot.id, lead="Edited. ")
            )
        else:
            recorded = ledger.record_engagement(
                s,
                team_id,
                placed.post,
                read.merged_over(None) if place.snapshot_id is not None else read,
                recorded_at=now,
                recorded_by=user_id,
                source="command",
            )
            lead = (
                "That snapshot was undone, so these are new numbers. "
                if place.snapshot_id is not None
                else ""
            )
            reply = read_back_of(recorded, None, lead=lead)
        return ReadBackTo(reply, place.channel_id, placed.thread_ts)


def _rewrite(snapshot: Snapshot, e: Engagement) -> None:
    snapshot.comments_received = e.comments or 0
    snapshot.replies_sent = e.replies or 0
    snapshot.shares = e.shares or 0
    snapshot.likes = e.likes or 0
    snapshot.views = e.views
    snapshot.impressions = e.impressions
    snapshot.saves = e.saves


def _own_snapshot(
    s: Session, team_id: str, reach: Reach, snapshot_id: int, user_id: str
) -> Snapshot | Message:
    snapshot = get_snapshot(s, team_id, snapshot_id)
    if snapshot is None:
        return note(_GONE)
    if place_in_reach(s, team_id, reach, snapshot.post_id) is None:
        return note(_GONE)
    if snapshot.recorded_by != user_id:
        return note(_NOT_YOURS)
    return snapshot


def undo(
    deps: Deps, client: WebClient, team_id: str, reach: Reach, snapshot_id: int, user_id: str
) -> Message:
    """Delete that snapshot, and no other; the post's numbers are its latest remaining snapshot's. A
    summary's :bar_chart: comes off its message, which no longer counts."""
    with deps.sessions.begin() as s:
        snapshot = _own_snapshot(s, team_id, reach, snapshot_id, user_id)
        if not isinstance(snapshot, Snapshot):
            return snapshot
        post_id = snapshot.post_id
        summary_ts = snapshot.source_ref if snapshot.source == "thread" else None
        placed = place_in_reach(s, team_id, reach, post_id)
        delete_snapshot(s, team_id, snapshot_id)
        latest = latest_snapshot(s, team_id, post_id)
        earlier = None
        if latest is not None and placed is not None:
            earlier = numbers_from(latest, placed.post, deps.clock())
    if summary_ts is not None and placed is not None:
        channel = placed.channel_id
        attempt(
            lambda: client.reactions_remove(channel=channel, timestamp=summary_ts, name=SUMMARY_REACTION),
            "reactions.remove",
            quiet=("no_reaction", "message_not_found"),
        )
    if latest is None:
        return note("Undone: those numbers are gone, and the post has no numbers recorded now.")
    from_where = f", {earlier}" if earlier else ""
    return note(f"Undone: those numbers are gone. The post's numbers are its earlier ones again{from_where}.")


def reread_replies(
    deps: Deps, team_id: str, reach: Reach, value: str, user_id: str, *, now_read_as: Reading
) -> Message:
    """Rewrite a snapshot whose bare "replies" count was read one way to the other: ``value`` is
    "snapshot id:count". Counts that changed since the read-back are left alone, and said so."""
    named = _REREAD.fullmatch(value)
    if named is None or not 0 < int(named[1]) < 2**63:
        return note("That button doesn't name numbers twoway recorded.")
    count = int(named[2])
    with deps.sessions.begin() as s:
        snapshot = _own_snapshot(s, team_id, reach, int(named[1]), user_id)
        if not isinstance(snapshot, Snapshot):
            return snapshot
        previous = ledger.engagement_of(snapshot_before(s, team_id, snapshot)) or Engagement(0, 0, 0, 0)
        was = snapshot.comments_received if now_read_as == "ours" else snapshot.replies_sent
        if was != count:
            current = ledger.engagement_of(snapshot) or Engagement()
            post = get_post(s, team_id, snapshot.post_id)
            assert post is not None
            return render_read_back(
                ReadBack(post, current, snapshot.id, lead="Those numbers changed since, so I left them: ")
            )
        if now_read_as == "ours":
            snapshot.replies_sent, snapshot.comments_received = count, previous.comments or 0
        else:
            snapshot.comments_received, snapshot.replies_sent = count, previous.replies or 0
        post = get_post(s, team_id, snapshot.post_id)
        assert post is not None
        e = ledger.engagement_of(snapshot) or Engagement()
        return render_read_back(ReadBack(post, e, snapshot.id, replies_read_as=now_read_as, lead="Fixed. "))
