"""Block Kit for a post's numbers: the read-back of a recorded snapshot with its buttons, the hint
under a reply that spoke of counts twoway couldn't read, and the "Log numbers" modal.

Pure functions from results to `{text, blocks}` or a `View`; `read_numbers_form` reads the modal's
submission with the summaries' number rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, InputBlock, PlainTextInputElement
from slack_sdk.models.views import View

from bot.metrics import format_duration
from bot.render import Message, context, message, section
from bot.render_ledger import compact_count, format_post_link, network_name, platform_name
from bot.summary import MAX_COUNT, Engagement, Reading, parse_count
from bot.text import mention
from storage.models import Post, Snapshot

LOG_NUMBERS_ACTION = "log_numbers"
EDIT_NUMBERS_ACTION = "numbers_edit"
UNDO_NUMBERS_ACTION = "numbers_undo"
REPLIES_OURS_ACTION = "numbers_replies_ours"
REPLIES_AUDIENCE_ACTION = "numbers_replies_audience"
NUMBERS_MODAL = "log_numbers_modal"

# The modal's inputs: block id (the Engagement field) and label.
FORM_FIELDS = (
    ("comments", "Comments received"),
    ("replies", "Replies sent"),
    ("shares", "Shares"),
    ("likes", "Likes"),
    ("views", "Views"),
    ("impressions", "Impressions"),
    ("saves", "Saves"),
)
_INPUT = "count"
SUMMARY_FORMS = (
    "`14 comments, 3 replies, 20 shares, 1.2k likes` · `Likes 300, comments 12` · "
    "`230 comments (we answered 41)` · `💬 14 ↩️ 3` · `1,204 likes, 2M views`"
)


compact = compact_count


def counts_line(e: Engagement) -> str:
    """ "14 comments received, 3 replies sent, 20 shares, 1.2k likes", then views, impressions, saves
    where known."""
    parts = [
        f"{compact(e.comments or 0)} comments received",
        f"{compact(e.replies or 0)} replies sent",
        f"{compact(e.shares or 0)} shares",
        f"{compact(e.likes or 0)} likes",
    ]
    parts += [
        f"{compact(value)} {name}"
        for name in ("views", "impressions", "saves")
        if (value := getattr(e, name)) is not None
    ]
    return ", ".join(parts)


def numbers_from(snapshot: Snapshot, post: Post, now: datetime) -> str:
    """Where a snapshot's numbers came from, and when: "typed by @ada 2 days ago", "fetched from
    Bluesky 10 minutes ago", "imported 3 days ago"."""
    ago = f" {format_duration(max(now - snapshot.recorded_at, timedelta(0)))} ago"
    if snapshot.source == "fetched":
        return f"fetched from {network_name(post.platform)}{ago}"
    if snapshot.source == "import":
        return f"imported{ago}"
    by = f" by {mention(snapshot.recorded_by)}" if snapshot.recorded_by else ""
    return f"typed{by}{ago}"


def rate_line(e: Engagement) -> str:
    """The reply rate with both its counts (never above 100%), or why there is none."""
    comments, replies = e.comments or 0, e.replies or 0
    if comments == 0:
        return "No comments received, so no reply rate yet."
    answered = min(replies, comments)
    return f"Reply rate {round(100 * answered / comments)}% ({answered} of {comments})."


@dataclass(frozen=True)
class ReadBack:
    """A snapshot as recorded, for its read-back."""

    post: Post
    engagement: Engagement
    snapshot_id: int
    created: bool = True
    # How a bare "replies" count was read, where that mattered.
    replies_read_as: Reading | None = None
    lead: str = ""


def render_read_back(read: ReadBack) -> Message:
    """What was recorded, the reply rate, which reading of "replies" was used, and the buttons that fix
    it: the other reading, Edit, Undo."""
    e = read.engagement
    verb = "Recorded" if read.created else "Already recorded"
    line = f"{read.lead}{verb} for {format_post_link(read.post)}: {counts_line(e)}. {rate_line(e)}"
    blocks: list[Block] = [section(line)]
    buttons = [
        # The post too: an Edit of numbers undone since logs new ones for it.
        ButtonElement(text="Edit", action_id=EDIT_NUMBERS_ACTION, value=f"{read.post.id}:{read.snapshot_id}"),
        ButtonElement(text="Undo", action_id=UNDO_NUMBERS_ACTION, value=str(read.snapshot_id)),
    ]
    if read.replies_read_as == "audience":
        blocks.append(
            context(
                f"I read “replies” as comments from the audience, as {platform_name(read.post)} counts them. "
                "If they were your team's replies, say so."
            )
        )
        buttons.insert(
            0,
            ButtonElement(
                text="Those replies were ours",
                action_id=REPLIES_OURS_ACTION,
                value=f"{read.snapshot_id}:{e.comments}",
            ),
        )
    elif read.replies_read_as == "ours":
        blocks.append(
            context(
                "I read “replies” as your team's replies. If they were comments from the audience, say so."
            )
        )
        buttons.insert(
            0,
            ButtonElement(
                text="Those replies were the audience's",
                action_id=REPLIES_AUDIENCE_ACTION,
                value=f"{read.snapshot_id}:{e.replies}",
            ),
        )
    blocks.append(ActionsBlock(block_id=f"numbers-{read.snapshot_id}", elements=buttons))
    return message(line, blocks)


def render_hint(post: Post) -> Message:
    """Under a reply that spoke of counts twoway couldn't read: the forms it reads, and the modal."""
    line = f"I couldn't read numbers for {format_post_link(post)} in that reply, so I recorded nothing."
    return message(
        line,
        [
            section(line),
            context(f"I read replies like {SUMMARY_FORMS}."),
            ActionsBlock(
                block_id=f"hint-{post.id}",
                elements=[
                    ButtonElement(
                        text="Log numbers", action_id=LOG_NUMBERS_ACTION, value=str(post.id), style="primary"
                    )
                ],
            ),
        ],
    )


@dataclass(frozen=True)
class ModalPlace:
    """What the modal's submission acts on: the post, the channel to answer in, the snapshot an Edit
    rewrites (None: a new snapshot)."""

    post_id: int
    channel_id: str
    snapshot_id: int | None = None

    def dump(self) -> str:
        return json.dumps({"post": self.post_id, "channel": self.channel_id, "snapshot": self.snapshot_id})

    @classmethod
    def load(cls, text: object) -> ModalPlace | None:
        try:
            data = json.loads(text) if isinstance(text, str) else None
            if not isinstance(data, dict):
                return None
            place = cls(int(data["post"]), str(data["channel"]), data.get("snapshot"))
        except (ValueError, TypeError, KeyError):
            return None
        return place if place.snapshot_id is None or isinstance(place.snapshot_id, int) else None


def render_numbers_modal(
    post: Post,
    prefill: Engagement | None,
    place: ModalPlace,
    *,
    lead: str | None = None,
    prefilled_from: str | None = None,
) -> View:
    """The "Log numbers" modal, each count prefilled from ``prefill`` (the latest snapshot, or the one
    being edited), under ``lead`` when something needs saying first; ``prefilled_from`` says where the
    prefilled numbers came from (`numbers_from`)."""
    intro = f"Numbers for {format_post_link(post)}. Leave a field empty if you don't know it."
    if prefilled_from:
        intro += f" The numbers below were {prefilled_from}."
    blocks: list[Block] = [section(f"{lead} {intro}" if lead else intro)]
    for field, label in FORM_FIELDS:
        value = getattr(prefill, field) if prefill is not None else None
        blocks.append(
            InputBlock(
                block_id=field,
                label=label,
                optional=True,
                element=PlainTextInputElement(
                    action_id=_INPUT,
                    initial_value=None if value is None else str(value),
                    placeholder="e.g. 1,204 or 1.2k",
                    max_length=20,
                ),
            )
        )
    return View(
        type="modal",
        callback_id=NUMBERS_MODAL,
        title="Edit numbers" if place.snapshot_id is not None else "Log numbers",
        submit="Record",
        close="Cancel",
        private_metadata=place.dump(),
        blocks=blocks,
    )


def read_numbers_form(values: dict[str, Any]) -> Engagement | dict[str, str]:
    """The counts a submitted modal holds (``view.state.values``), or an error for each field that is
    no count, by block id."""
    counts: dict[str, int] = {}
    errors: dict[str, str] = {}
    for field, _ in FORM_FIELDS:
        entry = values.get(field)
        typed = entry.get(_INPUT) if isinstance(entry, dict) else None
        raw = typed.get("value") if isinstance(typed, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            continue
        count = parse_count(raw)
        if count is None:
            errors[field] = f"Write a whole count from 0 to {MAX_COUNT:,}, such as 1204, 1,204 or 1.2k."
        else:
            counts[field] = count
    if errors:
        return errors
    if not counts:
        return {"comments": "Fill in at least one count."}
    return Engagement(**counts)
