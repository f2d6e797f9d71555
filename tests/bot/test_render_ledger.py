from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ledger import Closed, Flagged, Home, Waiting
from bot.metrics import Rate
from bot.nudges import Batch, render_batch
from bot.render_ledger import (
    LIST_LIMIT,
    closing_line,
    fetched_line,
    format_post_link,
    quote,
    quoted_comment,
    render_already_flagged,
    render_closed,
    render_closed_several,
    render_flag_notice,
    render_home,
    render_notice_closed,
    render_settings_change,
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
    assert notice["blocks"][3]["elements"][0]["text"] == (
        "Flagged by <@U2>. Close it with the buttons, `/twoway answered 7` or `/twoway dismiss 7`."
    )
    assert LIST_LIMIT == 10


def test_a_notice_drawn_for_a_reply_seen_on_bluesky_says_where_it_was_seen() -> None:
    channel = Channel(team_id="T1", channel_id="C1", unanswered_threshold_hours=24, timezone="UTC")
    notice = render_flag_notice(Flagged(_seen(), _bluesky_post(), channel, True, NOW + timedelta(hours=24)))
    assert notice["blocks"][3]["elements"][0]["text"] == (
        "Seen on Bluesky. Close it with the buttons, `/twoway answered 7` or `/twoway dismiss 7`."
    )
    assert "<@>" not in json.dumps(notice)


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


# ---- replies twoway saw on Bluesky and Mastodon: nobody flagged them, nobody in Slack may have answered


def _bluesky_post() -> Post:
    url = "https://bsky.app/profile/acme.example/post/3kxyz"
    return Post(
        id=2,
        team_id="T1",
        channel_id="C1",
        canonical_url=url,
        url=url,
        platform="bluesky",
        owner_user_id="U1",
        message_ts="1.2",
        shared_at=NOW - timedelta(days=2),
    )


def _seen(**closed: object) -> Comment:
    """A reply read on Bluesky: no flag, no Slack message, no notice; its own link."""
    fields: dict[str, object] = {
        "id": 7,
        "team_id": "T1",
        "post_id": 2,
        "channel_id": "C1",
        "text": "Is this on sale yet?",
        "author": "fan.bsky.social",
        "state": "open",
        "flagged_by": None,
        "flagged_at": NOW - timedelta(hours=3),
        "written_at": NOW - timedelta(hours=5),
        "url": "https://bsky.app/profile/fan.bsky.social/post/3kabc",
        "seen_on": "bluesky",
        "remote_id": "at://did:plc:fan/app.bsky.feed.post/3kabc",
    }
    return Comment(**{**fields, **closed})


ANSWERED_THERE = {"state": "answered", "answered_at": NOW - timedelta(hours=2)}
DISMISSED_BY_NOBODY = {"state": "dismissed", "dismissed_at": NOW - timedelta(hours=1)}


@pytest.mark.parametrize(
    ("closed", "line"),
    [
        (ANSWERED_THERE, ":white_check_mark: Comment #7 was answered on Bluesky after 3 hours."),
        (
            {**ANSWERED_THERE, "answered_by": "U3"},
            ":white_check_mark: Comment #7 was answered by <@U3> after 3 hours.",
        ),
        ({**ANSWERED_THERE, "seen_on": None}, ":white_check_mark: Comment #7 was answered after 3 hours."),
        (DISMISSED_BY_NOBODY, ":no_entry_sign: Comment #7 needs no reply."),
        (
            {**DISMISSED_BY_NOBODY, "dismissed_by": "U3"},
            ":no_entry_sign: Comment #7 needs no reply, said <@U3>.",
        ),
    ],
    ids=["answered there", "answered by someone", "answered, nobody known", "dismissed", "dismissed by"],
)
def test_how_a_comment_closed_names_who_or_where_and_never_an_empty_mention(
    closed: dict[str, object], line: str
) -> None:
    comment = _seen(**closed)
    assert closing_line(comment, NOW) == line
    assert render_notice_closed(comment, _bluesky_post(), NOW)["text"] == line


@pytest.mark.parametrize(
    ("closed", "already", "several"),
    [
        (
            ANSWERED_THERE,
            "Comment #7 was already answered on Bluesky 2 hours ago.",
            "#7 was already answered on Bluesky 2 hours ago.",
        ),
        (
            DISMISSED_BY_NOBODY,
            "Comment #7 was already marked as needing no reply 1 hour ago.",
            "#7 was already marked as needing no reply 1 hour ago.",
        ),
    ],
)
def test_a_comment_closed_on_the_network_is_told_as_such_when_closed_again(
    closed: dict[str, object], already: str, several: str
) -> None:
    comment = _seen(**closed)
    post = _bluesky_post()
    assert render_closed(Closed(comment, post, changed=False), NOW)["text"] == already
    assert (
        render_closed_several("answered", [(7, Closed(comment, post, changed=False))], NOW)["text"] == several
    )
    flagged_again = render_already_flagged(comment, post, NOW)["text"]
    assert flagged_again == (
        "That comment is already #7 on <https://bsky.app/profile/acme.example/post/3kxyz|Bluesky post>, "
        f"seen on Bluesky 3 hours ago, {several.removeprefix('#7 was already ').removesuffix('.')}."
    )


def test_a_reply_seen_on_the_network_is_marked_so_in_lists_the_home_tab_and_nudges() -> None:
    post = _bluesky_post()
    seen, flagged = _seen(), _comment(1, "Where do I sign up?")
    flagged.post_id, flagged.written_at = post.id, NOW - timedelta(hours=1)
    items = [(seen, post), (flagged, post)]
    listed = render_unanswered(Waiting(items, 2), NOW, owner=None)["blocks"]
    assert listed[1]["text"]["text"] == (
        "*#7* · 5 hours · <https://bsky.app/profile/acme.example/post/3kxyz|Bluesky post> · <@U1> · "
        "from fan.bsky.social · seen on Bluesky\n"
        "> Is this on sale yet? · <https://bsky.app/profile/fan.bsky.social/post/3kabc|comment>"
    )
    # A flagged comment doesn't name (or ping) whoever flagged it in a list.
    assert listed[3]["text"]["text"].startswith(
        "*#1* · 1 hour · <https://bsky.app/profile/acme.example/post/3kxyz|Bluesky post> · <@U1>\n"
    )
    home = render_home(Home("U1", Waiting(items, 2), [post], Rate(0, 0, None)), NOW).to_dict()
    assert listed[1]["text"]["text"] in [b.get("text", {}).get("text") for b in home["blocks"]]
    nudge = render_batch(Batch("C1", 1, "U1", tuple(items)), NOW)["blocks"]
    assert nudge[1]["text"]["text"] == (
        "*#7* from fan.bsky.social on <https://bsky.app/profile/acme.example/post/3kxyz|Bluesky post> · "
        "waited 5 hours · seen on Bluesky"
    )
    assert nudge[2]["text"]["text"] == (
        "> Is this on sale yet? · <https://bsky.app/profile/fan.bsky.social/post/3kabc|comment>"
    )
    for blocks in (listed, home["blocks"], nudge):
        assert "<@>" not in json.dumps(blocks)
        assert "None" not in json.dumps(blocks)


def test_a_nudge_drawn_again_after_the_team_answered_on_bluesky_says_where() -> None:
    blocks = render_batch(Batch("C1", 2, None, ((_seen(**ANSWERED_THERE), _bluesky_post()),)), NOW)["blocks"]
    assert blocks[0]["text"]["text"] == "Nothing here waits any more."
    assert blocks[1]["text"]["text"] == (
        "*#7* from fan.bsky.social on <https://bsky.app/profile/acme.example/post/3kxyz|Bluesky post> "
        "(<@U1>'s post)\n:white_check_mark: Comment #7 was answered on Bluesky after 3 hours."
    )


@pytest.mark.parametrize(
    ("fetched", "posts", "line"),
    [
        ({}, 4, ""),
        ({"bluesky": 2}, 5, "The latest numbers of 2 of the 5 posts were fetched from Bluesky."),
        (
            {"mastodon": 1, "bluesky": 1},
            2,
            "The latest numbers of every post were fetched from Bluesky and Mastodon.",
        ),
        ({"mastodon": 1}, 1, "The latest numbers of the post were fetched from Mastodon."),
    ],
)
def test_a_report_says_how_many_posts_have_numbers_fetched_from_their_network(
    fetched: dict[str, int], posts: int, line: str
) -> None:
    assert fetched_line(fetched, posts) == line


def test_a_settings_change_that_turns_watching_off_says_so_in_words_of_its_own() -> None:
    assert render_settings_change("U0ADA00001", {"watch_enabled": False}) == (
        "<@U0ADA00001> turned off reading this channel's Bluesky and Mastodon posts on their networks."
    )
    assert render_settings_change("U0ADA00001", {"unanswered_threshold_hours": 6, "watch_enabled": True}) == (
        "<@U0ADA00001> set the nudge threshold to 6 hours, and turned on reading this channel's Bluesky "
        "and Mastodon posts on their networks."
    )
