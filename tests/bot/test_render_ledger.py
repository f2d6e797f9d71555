from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ledger import Flagged, Home, Waiting
from bot.metrics import Rate
from bot.nudges import Batch, render_batch
from bot.render_ledger import (
    LIST_LIMIT,
    format_post_link,
    quote,
    quoted_comment,
    render_flag_notice,
    render_home,
    render_unanswered,
)
from storage.models import Channel, Comment, Post

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _post(n: int = 1, url: str = "https://x.com/twoway/status/1") -> Post:
    return Post(
        id=n,
        team_id="T1",
        channel_id="C1",
        canonical_url=url,
        url=url,
        platform="x",
        owner_user_id="U1",
        message_ts="1.1",
        shared_at=NOW - timedelta(days=2),
    )


def _comment(n: int, text: str) -> Comment:
    return Comment(
        id=n,
        team_id="T1",
        post_id=1,
        channel_id="C1",
        text=text,
        author=None,
        state="open",
        flagged_by="U2",
        flagged_at=NOW - timedelta(hours=n),
        written_at=None,
    )


def _block_limits(blocks: list[dict[str, object]], *, most: int = 50, size: int = 12_000) -> None:
    """A message's limits by default; a view may hold 100 blocks and 250 kB (views.open's
    `view_too_large`)."""
    assert len(blocks) <= most
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            assert len(str(text.get("text", ""))) <= 3000
    assert len(json.dumps(blocks)) < size


def test_hundreds_of_long_comments_stay_within_block_kit_limits() -> None:
    post = _post()
    items = [(_comment(n, "word " * 10_000), post) for n in range(300)]
    reply = render_unanswered(Waiting(items, 300), NOW, owner=None)
    _block_limits(reply["blocks"])
    assert "and 290 more" in json.dumps(reply["blocks"][-1])
    home = render_home(
        Home("U1", Waiting(items, 300), [post] * 200, Rate(3, 4, 0.75), on_it=items), NOW
    ).to_dict()
    _block_limits(home["blocks"], most=100, size=250_000)
    assert "75% (3 replies to 4 comments)" in json.dumps(home["blocks"])


@given(st.text(max_size=5000))
def test_quoted_text_is_escaped_and_cut(text: str) -> None:
    shown = quote(text)
    assert len(shown) <= 2 + 280 * 5  # an escape turns one character into at most five
    assert "<" not in shown
    assert ">" not in shown[1:]


@pytest.mark.parametrize(
    "url",
    ["https://x.com/a/status/1", "https://blog.example/a|b", "https://blog.example/a>b"],
)
def test_post_links_cannot_break_out_of_their_markup(url: str) -> None:
    link = format_post_link(_post(url=url))
    assert link.startswith("<https://")
    assert link.count("|") == 1
    assert link.count(">") == 1


def test_flag_notice_names_owner_id_and_nudge_time_with_buttons() -> None:
    channel = Channel(team_id="T1", channel_id="C1", unanswered_threshold_hours=24, timezone="UTC")
    comment = _comment(7, "When is the next drop?")
    comment.author = "@fan"
    notice = render_flag_notice(Flagged(comment, _post(), channel, True, NOW + timedelta(hours=24)))
    head = notice["blocks"][0]["text"]["text"]
    assert "Comment #7 from @fan on <https://x.com/twoway/status/1|X post>" in head
    assert "Owner: <@U1>" in head
    assert f"<!date^{int((NOW + timedelta(hours=24)).timestamp())}^" in head
    assert notice["text"] == "Comment #7 (X post) is waiting for an answer; owner <@U1>."
    assert [e["action_id"] for e in notice["blocks"][2]["elements"]] == [
        "comment_answered",
        "comment_dismissed",
        "comment_claim",
    ]
    assert LIST_LIMIT == 10


@pytest.mark.parametrize("level", [1, 2])
def test_a_comments_own_link_shows_beside_its_text_in_notices_lists_and_nudges(level: int) -> None:
    comment = _comment(1, "Where is the changelog?")
    comment.url = "https://www.facebook.com/acme/posts/pfbid0?comment_id=1&reply_comment_id=2"
    shown = "> Where is the changelog? · <https://www.facebook.com/acme/posts/pfbid0?comment_id=1&amp;reply_comment_id=2|comment>"
    assert quoted_comment(comment) == shown
    notice = render_flag_notice(Flagged(comment, _post(), Channel(), True, NOW))
    listed = render_unanswered(Waiting([(comment, _post())], 1), NOW, owner=None)
    nudge = render_batch(Batch("C1", level, _post().owner_user_id, ((comment, _post()),)), NOW)
    for message in (notice, listed, nudge):
        assert any(shown in str(block.get("text", {}).get("text", "")) for block in message["blocks"])
    comment.url = None
    assert quoted_comment(comment) == "> Where is the changelog?"
