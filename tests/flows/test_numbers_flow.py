"""A post's numbers, end to end: summaries as people write them recorded with the right counts, read
back to their writer with buttons that fix the reading of "replies", edit and undo; a reply that speaks
of counts twoway can't read gets a hint and the "Log numbers" modal."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select

from bot.links import links_in_message
from bot.render_numbers import (
    EDIT_NUMBERS_ACTION,
    LOG_NUMBERS_ACTION,
    NUMBERS_MODAL,
    REPLIES_AUDIENCE_ACTION,
    REPLIES_OURS_ACTION,
    UNDO_NUMBERS_ACTION,
)
from storage.models import Post, Snapshot
from tests.support.flows import ADA, CHANNEL, GRACE, TEAM, Flow, views_of
from tests.support.polling import eventually

X = "https://x.com/twoway/status/17900000000000000{:02d}"
MASTODON = "https://mastodon.social/@twoway/1120000000000000{:02d}"
LINKEDIN = "https://www.linkedin.com/posts/twoway_launch-activity-71000000000000000{:02d}-abcd"

Counts = tuple[int, int, int, int, int | None, int | None, int | None]

# What people wrote under their posts, on which network, and what the snapshot must hold: comments
# received, replies sent, shares, likes, views, impressions, saves.
SUMMARIES: list[tuple[str, str, Counts]] = [
    ("3 new comments, answered 2", LINKEDIN, (3, 2, 0, 0, None, None, None)),
    ("Likes 300, comments 12", LINKEDIN, (12, 0, 0, 300, None, None, None)),
    ("230 comments (we answered 41)", X, (230, 41, 0, 0, None, None, None)),
    ("💬 14 ↩️ 3", LINKEDIN, (14, 3, 0, 0, None, None, None)),
    ("1,204 likes, 2M views, 45 comments", X, (45, 0, 0, 1204, 2_000_000, None, None)),
    ("6 replies, 3 boosts, 15 favourites", MASTODON, (6, 0, 3, 15, None, None, None)),
    ("Comments: 14 | Replies: 2", MASTODON, (14, 2, 0, 0, None, None, None)),
    (
        ":speech_balloon: 14 :leftwards_arrow_with_hook: 3 :repeat: 20 :heart: 51",
        X,
        (14, 3, 20, 51, None, None, None),
    ),
    ("impressions 10k · saves 4 · 1.2k views", LINKEDIN, (0, 0, 0, 0, 1200, 10_000, 4)),
]


def _snapshots(flow: Flow, post_id: int | None = None) -> list[Snapshot]:
    with flow.sessions.begin() as s:
        query = select(Snapshot).where(Snapshot.team_id == TEAM).order_by(Snapshot.id)
        if post_id is not None:
            query = query.where(Snapshot.post_id == post_id)
        return list(s.scalars(query))


def _post(flow: Flow, link: str) -> Post:
    [found_link] = links_in_message(link)
    url = found_link.canonical_url

    def found() -> Post | None:
        with flow.sessions.begin() as s:
            return s.scalars(select(Post).where(Post.team_id == TEAM, Post.canonical_url == url)).first()

    return eventually(found, what=f"the post {url}")


def _counts(snapshot: Snapshot) -> Counts:
    return (
        snapshot.comments_received,
        snapshot.replies_sent,
        snapshot.shares,
        snapshot.likes,
        snapshot.views,
        snapshot.impressions,
        snapshot.saves,
    )


def _shown(flow: Flow, user: str) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = flow._get(f"/_emulator/ephemerals?team={TEAM}&user={user}")
    return shown


def _shown_with(flow: Flow, user: str, action_id: str, *, after: int = 0) -> dict[str, Any]:
    """The newest ephemeral message shown to ``user`` (past the first ``after``) with that button."""

    def found() -> dict[str, Any] | None:
        with_button = [m for m in _shown(flow, user)[after:] if _button(m, action_id) is not None]
        return with_button[-1] if with_button else None

    return eventually(found, what=f"an ephemeral message with {action_id}")


def _button(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return dict(element)
    return None


def _click(flow: Flow, user: str, message: dict[str, Any], action_id: str) -> Any:
    button = _button(message, action_id)
    assert button is not None, message
    return flow.click(user, message["ts"], action_id, button["value"])


def test_every_summary_is_recorded_with_its_counts(flow: Flow) -> None:
    for number, (text, url, counts) in enumerate(SUMMARIES):
        link = url.format(number)
        shared = flow.say(ADA, f"Out now: {link}")
        post_id = _post(flow, link).id
        flow.say(GRACE, text, thread_ts=shared)
        [snapshot] = eventually(
            lambda post_id=post_id: _snapshots(flow, post_id),  # type: ignore[misc]
            what=f"the snapshot of {text!r}",
        )
        assert _counts(snapshot) == counts, text


def test_bad_input_records_nothing_and_conversation_gets_no_hint(flow: Flow) -> None:
    link = X.format(90)
    shared = flow.say(ADA, f"Out now: {link}")
    _post(flow, link)
    for text in ("we got 12 comments on the call?", "see you at 10:30", "42", "great post!"):
        flow.say(GRACE, text, thread_ts=shared)
    # Counts twoway can't read: an ambiguous number, a guess.
    for number, text in enumerate(("1.204 likes", "we have like 30ish comments and 4 replies maybe"), 1):
        flow.say(GRACE, text, thread_ts=shared)
        eventually(lambda number=number: len(_shown(flow, GRACE)) == number, what=f"the hint under {text!r}")  # type: ignore[misc]
    hints = _shown(flow, GRACE)
    for shown in hints:
        assert shown["thread_ts"] == shared
        assert "recorded nothing" in shown["text"]
        assert _button(shown, LOG_NUMBERS_ACTION) is not None
    # Only those two were answered: ordinary conversation gets nothing, and nothing was recorded.
    assert len(hints) == 2
    assert _snapshots(flow) == []


def test_read_back_fixes_the_reading_of_replies_and_undoes_only_its_snapshot(flow: Flow) -> None:
    link = MASTODON.format(1)
    shared = flow.say(ADA, f"Boosted: {link}")
    post = _post(flow, link)
    flow.say(ADA, "2 replies, 1 boost", thread_ts=shared)
    [earlier] = eventually(lambda: _snapshots(flow, post.id), what="the first snapshot")
    first_read_back = _shown_with(flow, ADA, UNDO_NUMBERS_ACTION)
    seen = len(_shown(flow, ADA))

    flow.say(ADA, "6 replies, 3 boosts, 15 favourites", thread_ts=shared)
    later = eventually(lambda: _snapshots(flow, post.id)[1:], what="the second snapshot")[0]
    assert _counts(later) == (6, 0, 3, 15, None, None, None)
    read_back = _shown_with(flow, ADA, REPLIES_OURS_ACTION, after=seen)
    assert read_back["thread_ts"] == shared
    assert read_back["text"] == (
        f"Recorded for <{post.canonical_url}|Mastodon post>: 6 comments received, 0 replies sent, "
        "3 shares, 15 likes. Reply rate 0% (0 of 6)."
    )
    assert "as Mastodon counts them" in str(read_back["blocks"])

    # One click reads those replies as the team's: the comments before them carry over.
    answered = _click(flow, ADA, read_back, REPLIES_OURS_ACTION)
    assert answered["ack"]["status"] == 200
    fixed = eventually(
        lambda: [s for s in _snapshots(flow, post.id) if s.id == later.id and s.replies_sent == 6],
        what="the snapshot read the other way",
    )[0]
    assert _counts(fixed) == (2, 6, 3, 15, None, None, None)
    [replaced] = [m for m in _shown(flow, ADA) if m["ts"] == read_back["ts"]]
    assert replaced["text"].startswith("Fixed. ")
    assert "Reply rate 100% (2 of 2)." in replaced["text"]

    # The fixed read-back offers the way back; an old copy of the first button acts on what is there
    # now, and says so.
    back = _button(replaced, REPLIES_AUDIENCE_ACTION)
    assert back is not None
    assert back["value"] == f"{later.id}:6"
    old_copy = _posted_button(flow, REPLIES_OURS_ACTION, f"{later.id}:6")
    seen = len(_shown(flow, ADA))
    flow.click(ADA, old_copy, REPLIES_OURS_ACTION, f"{later.id}:6")
    assert _told(flow, ADA, seen).startswith("Those numbers changed since, so I left them")
    assert _counts(_snapshots(flow, post.id)[1]) == (2, 6, 3, 15, None, None, None)

    # Undo deletes that snapshot and no other.
    undone = _click(flow, ADA, first_read_back, UNDO_NUMBERS_ACTION)
    assert undone["ack"]["status"] == 200
    eventually(
        lambda: [s.id for s in _snapshots(flow, post.id)] == [later.id], what="the first snapshot undone"
    )
    [after_undo] = [m for m in _shown(flow, ADA) if m["ts"] == first_read_back["ts"]]
    assert after_undo["text"].startswith(
        "Undone: those numbers are gone. The post's numbers are its earlier "
    )
    # The ones left say who typed them.
    assert f"ones again, typed by <@{ADA}> " in after_undo["text"]
    assert earlier.id not in [s.id for s in _snapshots(flow)]

    # An old Edit of the undone numbers opens the form for new ones, prefilled with the latest, and says so.
    edit = _posted_button(flow, EDIT_NUMBERS_ACTION, f"{post.id}:{earlier.id}")
    flow.click(ADA, edit, EDIT_NUMBERS_ACTION, f"{post.id}:{earlier.id}")
    [modal] = eventually(lambda: _modals(flow, ADA), what="the form for new numbers")
    assert modal["title"]["text"] == "Log numbers"
    assert "Those numbers were undone" in modal["blocks"][0]["text"]["text"]
    assert f"The numbers below were typed by <@{ADA}> " in modal["blocks"][0]["text"]["text"]
    assert (_prefill(modal)["comments"], _prefill(modal)["replies"]) == ("2", "6")


def _posted_button(flow: Flow, action_id: str, value: str) -> str:
    """A message in the channel carrying one of twoway's number buttons, as twoway would post it."""
    client = WebClient(token="xoxb-flow", base_url=flow.emulator.api_url)
    button = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": "Go"},
        "value": value,
    }
    answer = client.chat_postMessage(
        channel=CHANNEL, text="numbers", blocks=[{"type": "actions", "elements": [button]}]
    )
    return str(answer["ts"])


def _reacted(flow: Flow, ts: str) -> list[str]:
    """The reactions on a message, as the emulator keeps it."""
    [message] = [m for m in flow.messages() if m["ts"] == ts]
    return [r["name"] for r in message.get("reactions", [])]


def _told(flow: Flow, user: str, after: int) -> str:
    return str(eventually(lambda: _shown(flow, user)[after:], what=f"an answer for {user}")[-1]["text"])


def test_only_the_recorder_undoes_and_a_stale_undo_says_so(flow: Flow) -> None:
    link = X.format(2)
    shared = flow.say(ADA, f"Out now: {link}")
    post = _post(flow, link)
    summary = flow.say(ADA, "14 comments, 3 replies", thread_ts=shared)
    [snapshot] = eventually(lambda: _snapshots(flow, post.id), what="the snapshot")
    eventually(lambda: _reacted(flow, summary), what="the summary's :bar_chart:")
    undo = _posted_button(flow, UNDO_NUMBERS_ACTION, str(snapshot.id))

    seen = len(_shown(flow, GRACE))
    flow.click(GRACE, undo, UNDO_NUMBERS_ACTION, str(snapshot.id))
    assert "Only the person who recorded" in _told(flow, GRACE, seen)
    assert [s.id for s in _snapshots(flow, post.id)] == [snapshot.id]

    assert _reacted(flow, summary) == ["bar_chart"]
    seen = len(_shown(flow, ADA))
    flow.click(ADA, undo, UNDO_NUMBERS_ACTION, str(snapshot.id))
    assert _told(flow, ADA, seen).startswith("Undone")
    assert _snapshots(flow, post.id) == []
    # The summary's :bar_chart: comes off: that message no longer counts.
    assert _reacted(flow, summary) == []
    seen = len(_shown(flow, ADA))
    flow.click(ADA, undo, UNDO_NUMBERS_ACTION, str(snapshot.id))
    assert "isn't in the ledger any more" in _told(flow, ADA, seen)


def _modals(flow: Flow, user: str) -> list[dict[str, Any]]:
    return [v for v in views_of(flow, user) if v["type"] == "modal" and v["callback_id"] == NUMBERS_MODAL]


def _values(**typed: str) -> dict[str, dict[str, str]]:
    return {field: {"count": value} for field, value in typed.items()}


def _submit(flow: Flow, user: str, **typed: str) -> dict[str, Any]:
    answer: dict[str, Any] = flow._post(
        "/_emulator/submit", {"team": TEAM, "user": user, "values": _values(**typed)}
    )
    return answer


def _prefill(modal: dict[str, Any]) -> dict[str, str | None]:
    return {
        block["block_id"]: block["element"].get("initial_value")
        for block in modal["blocks"]
        if block["type"] == "input"
    }


def test_the_hint_opens_the_modal_which_checks_each_field_then_records_and_reads_back(flow: Flow) -> None:
    link = X.format(3)
    shared = flow.say(ADA, f"Out now: {link}")
    post = _post(flow, link)
    flow.say(ADA, "10 comments, 2 replies", thread_ts=shared)
    [first] = eventually(lambda: _snapshots(flow, post.id), what="the first snapshot")
    flow.say(GRACE, "about 300 likes I think", thread_ts=shared)
    hint = _shown_with(flow, GRACE, LOG_NUMBERS_ACTION)

    clicked = _click(flow, GRACE, hint, LOG_NUMBERS_ACTION)
    assert clicked["ack"]["status"] == 200
    [modal] = eventually(lambda: _modals(flow, GRACE), what="the Log numbers modal")
    assert _prefill(modal) == {
        "comments": "10",
        "replies": "2",
        "shares": "0",
        "likes": "0",
        "views": None,
        "impressions": None,
        "saves": None,
    }
    [opened] = [c for c in flow.calls("views.open") if c["args"]["view"]["callback_id"] == NUMBERS_MODAL]
    assert opened["args"]["trigger_id"] == clicked["trigger_id"]

    refused = _submit(flow, GRACE, comments="lots", likes="1.204", views="2M")
    assert refused["ack"]["body"]["response_action"] == "errors"
    assert set(refused["ack"]["body"]["errors"]) == {"comments", "likes"}
    assert refused["closed"] is False
    assert [s.id for s in _snapshots(flow, post.id)] == [first.id]

    seen = len(_shown(flow, GRACE))
    done = _submit(flow, GRACE, comments="12", replies="3", shares="0", likes="1,204", views="2M", saves="")
    assert done["closed"] is True
    latest = eventually(lambda: _snapshots(flow, post.id)[1:], what="the modal's snapshot")[0]
    assert _counts(latest) == (12, 3, 0, 1204, 2_000_000, None, None)
    assert (latest.source, latest.recorded_by) == ("command", GRACE)
    read_back = eventually(lambda: _shown(flow, GRACE)[seen:], what="the read-back")[-1]
    assert read_back["thread_ts"] == shared
    assert "12 comments received, 3 replies sent, 0 shares, 1,204 likes, 2M views" in read_back["text"]
    assert "Reply rate 25% (3 of 12)." in read_back["text"]

    # Edit opens the same modal on that snapshot, and rewrites it rather than adding one.
    _click(flow, GRACE, read_back, EDIT_NUMBERS_ACTION)
    edit = eventually(lambda: _modals(flow, GRACE)[1:], what="the Edit modal")[0]
    assert _prefill(edit)["likes"] == "1204"
    assert _prefill(edit)["views"] == "2000000"
    _submit(flow, GRACE, comments="12", replies="4", shares="0", likes="1204", views="2000000")
    eventually(
        lambda: [s for s in _snapshots(flow, post.id) if s.id == latest.id and s.replies_sent == 4],
        what="the snapshot edited",
    )
    assert [s.id for s in _snapshots(flow, post.id)] == [first.id, latest.id]


def test_log_command_reads_back_and_the_button_stays_within_reach(flow: Flow) -> None:
    link = MASTODON.format(4)
    [answer] = flow.command(ADA, f"log {link} 6 replies, 3 boosts")
    assert "6 comments received, 0 replies sent, 3 shares, 0 likes" in answer["text"]
    assert "as Mastodon counts them" in str(answer["blocks"])
    [snapshot] = _snapshots(flow)
    assert _counts(snapshot) == (6, 0, 3, 0, None, None, None)

    # A post of a private channel Grace isn't in: its id on a button here opens nothing.
    flow._post(
        "/_emulator/channel",
        {"team": TEAM, "id": "C0PRIVATE1", "name": "private", "is_private": True, "members": [ADA]},
    )
    hidden = X.format(5)
    flow.say(ADA, f"Secret: {hidden}", channel="C0PRIVATE1")
    secret = _post(flow, hidden)
    button = _posted_button(flow, LOG_NUMBERS_ACTION, str(secret.id))
    seen = len(_shown(flow, GRACE))
    flow.click(GRACE, button, LOG_NUMBERS_ACTION, str(secret.id))
    assert _told(flow, GRACE, seen) == "That post isn't one twoway tracks here."
    assert _modals(flow, GRACE) == []
