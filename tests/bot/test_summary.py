from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.summary import (
    MAX_COUNT,
    MAX_SUMMARY_LENGTH,
    Engagement,
    Summary,
    mentions_counts,
    parse_summary,
    read_summary,
)
from bot.text import escape

E = Engagement


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # key=value and key: value, any order, any subset
        ("comments=12 replies=3 shares=5 likes=40", E(12, 3, 5, 40)),
        ("likes=40 shares=5 replies=3 comments=12", E(12, 3, 5, 40)),
        ("comments: 12", E(comments=12)),
        ("comments:12, likes:40", E(comments=12, likes=40)),
        ("replies = 3", E(replies=3)),
        ("Comments=12 LIKES=40", E(comments=12, likes=40)),
        ("comments:12:", E(comments=12)),
        # count-first, every separator
        ("12 comments, 3 replies, 5 shares, 40 likes", E(12, 3, 5, 40)),
        ("40 likes 5 shares 3 replies 12 comments", E(12, 3, 5, 40)),
        ("12 comments and 3 replies", E(comments=12, replies=3)),
        ("12 comments; 3 replies", E(comments=12, replies=3)),
        ("12 comments · 3 replies", E(comments=12, replies=3)),
        ("12 comments | 3 replies", E(comments=12, replies=3)),
        ("12 comments / 3 replies", E(comments=12, replies=3)),
        ("12 comments/3 replies", E(comments=12, replies=3)),
        ("12 comments\n3 replies\n5 shares", E(comments=12, replies=3, shares=5)),
        ("12 comments,3 replies", E(comments=12, replies=3)),
        ("12 comments - 3 replies", E(comments=12, replies=3)),
        ("12 comments + 3 replies", E(comments=12, replies=3)),
        ("12comments", E(comments=12)),
        ("comments=12 3 replies", E(comments=12, replies=3)),
        # singulars
        ("1 comment, 1 reply, 1 share, 1 like", E(1, 1, 1, 1)),
        ("0 comments", E(comments=0)),
        # suffixes and thousands
        ("1.2k likes", E(likes=1200)),
        ("3K shares", E(shares=3000)),
        ("2m likes", E(likes=2_000_000)),
        ("1.5M hearts", E(likes=1_500_000)),
        ("1.2345k likes", E(likes=1234)),
        ("likes=4.5k", E(likes=4500)),
        ("1,234 likes", E(likes=1234)),
        ("1,234,567 likes", E(likes=1_234_567)),
        ("likes: 12,345", E(likes=12345)),
        ("1\u00a0234 likes", E(likes=1234)),
        ("1\u202f234 likes", E(likes=1234)),
        ("12 comments, 345 replies", E(comments=12, replies=345)),
        (f"{MAX_COUNT} likes", E(likes=MAX_COUNT)),
        # synonyms
        ("4 retweets", E(shares=4)),
        ("4 reposts", E(shares=4)),
        ("4 boosts", E(shares=4)),
        ("4 reshares", E(shares=4)),
        ("4 shares", E(shares=4)),
        ("4 RTs", E(shares=4)),
        ("7 upvotes", E(likes=7)),
        ("7 hearts", E(likes=7)),
        ("7 favourites", E(likes=7)),
        ("7 favorites", E(likes=7)),
        ("7 faves", E(likes=7)),
        ("7 reactions", E(likes=7)),
        ("2 answered", E(replies=2)),
        ("2 responses", E(replies=2)),
        ("2 answers", E(replies=2)),
        ("retweets=4 hearts=7", E(shares=4, likes=7)),
        # lead-ins, filler, emoji and Slack markup
        ("Summary: 14 comments, 3 replies, 20 shares, 51 likes", E(14, 3, 20, 51)),
        ("update: 12 comments", E(comments=12)),
        ("Stats: comments=12 replies=3", E(comments=12, replies=3)),
        ("12 comments so far", E(comments=12)),
        ("Engagement update → 12 comments, 3 replies", E(comments=12, replies=3)),
        (":bar_chart: 12 comments :speech_balloon: 3 replies", E(comments=12, replies=3)),
        ("📊 12 comments 💬 3 replies ❤️ 40 likes 👍🏽", E(comments=12, replies=3, likes=40)),
        ("*12* comments, _3 replies_", E(comments=12, replies=3)),
        ("`comments=12`", E(comments=12)),
        ("12 comments &amp; 3 replies", E(comments=12, replies=3)),
        ("stats so far -&gt; 12 comments", E(comments=12)),
        ("(12 comments, 3 replies)", E(comments=12, replies=3)),
        ("12 comments, 3 replies.", E(comments=12, replies=3)),
        ("  12 comments  ", E(comments=12)),
        # the same field twice is fine when it agrees
        ("3 likes, 3 hearts", E(likes=3)),
    ],
)
def test_summaries(text: str, expected: Engagement | None) -> None:
    assert parse_summary(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # conversation
        "I'll answer the 3 comments tonight",
        "thanks! 2 comments look like spam",
        "great post",
        "we got 12 comments, can someone help reply?",
        "12 comments?",
        "can someone reply to the 4 comments",
        "only 2 likes :(",
        "<@U024BE7LH> 3 comments need you",
        "3 comments from bots",
        "replied to 2 comments",
        "5 shares but no replies yet",
        "lol 40 likes",
        "wow, 1.2k likes already!",
        "https://x.com/a/status/1 3 comments",
        "<https://x.com/a/status/1> 3 comments",
        "dislikes: 3",
        "12 comments (mostly spam)",
        "~1~ *2 shares*",
        # no count at all
        "",
        "   ",
        "12",
        "comments",
        "comments=",
        "summary:",
        ":bar_chart:",
        # ambiguous or impossible numbers
        "3 likes, 5 likes",
        "comments=3 3 comments 4 comments",
        "12,3 replies",
        "comments=12,3 replies",
        "1 234 likes",
        "1.5 likes",
        "1.234 likes",
        "-3 likes",
        "+3 likes",
        "\u22123 likes",
        "comments=-3",
        f"{MAX_COUNT + 1} likes",
        "99999999999999999999 likes",
        "2000000m likes",
        "1e9 likes",
        "١٢ comments",
        "12 comments:  3",
        "comments: 12 replies",
        "12 = comments",
        "12 likesss",
        "&amp;lt;3 likes",
    ],
)
def test_conversation_is_not_a_summary(text: str) -> None:
    assert parse_summary(text) is None


@pytest.mark.parametrize(
    ("text", "platform", "expected"),
    [
        # what people write under their posts
        ("3 new comments, answered 2", None, Summary(E(comments=3, replies=2))),
        ("Likes 300, comments 12", None, Summary(E(comments=12, likes=300))),
        ("230 comments (we answered 41)", None, Summary(E(comments=230, replies=41))),
        ("💬 14 ↩️ 3", "linkedin", Summary(E(comments=14, replies=3))),
        ("14 💬 3 ↩️ 20 🔁 51 ❤️", "x", Summary(E(14, 3, 20, 51))),
        ("💬: 14 🗨 3", None, Summary(E(comments=14, replies=3))),
        (
            ":speech_balloon: 14 :leftwards_arrow_with_hook: 3 :repeat: 20 :heart: 51",
            None,
            Summary(E(14, 3, 20, 51)),
        ),
        ("1,204 likes, 2M views, 45 comments", None, Summary(E(comments=45, likes=1204, views=2_000_000))),
        ("views 1.2k · impressions 10k · saves 4", None, Summary(E(views=1200, impressions=10_000, saves=4))),
        ("12 bookmarks, 3 shares", None, Summary(E(shares=3, saves=12))),
        ("we replied 3, 10 comments", None, Summary(E(comments=10, replies=3))),
        ("our replies 3 · 10 comments", None, Summary(E(comments=10, replies=3))),
        ("responded 2", None, Summary(E(replies=2))),
        # thousands in both styles, when the text shows its style
        ("1.204 likes, 2,5k views", None, Summary(E(likes=1204, views=2500))),
        ("1.234.567 likes", None, Summary(E(likes=1_234_567))),
        ("1.234,5k views", None, Summary(E(views=1_234_500))),
        ("1,234.5k views", None, Summary(E(views=1_234_500))),
        # "replies" by network
        (
            "6 replies, 3 boosts, 15 favourites",
            "mastodon",
            Summary(E(comments=6, shares=3, likes=15), "audience"),
        ),
        ("6 replies", "bluesky", Summary(E(comments=6), "audience")),
        ("Replies: 6", "threads", Summary(E(comments=6), "audience")),
        ("6 replies", "x", Summary(E(comments=6), "audience")),
        ("6 replies", "facebook", Summary(E(replies=6), "ours")),
        ("6 replies", None, Summary(E(replies=6), "ours")),
        ("Comments: 14 | Replies: 2", "mastodon", Summary(E(comments=14, replies=2))),
        ("5 replies, we replied 2", "bluesky", Summary(E(comments=5, replies=2))),
        ("5 replies, answered 2", "facebook", Summary(E(comments=5, replies=2))),
        ("replies=3", "mastodon", Summary(E(replies=3))),
        ("↩️ 3", "x", Summary(E(comments=3), "audience")),
        # conversation stays conversation, on any network
        ("we got 12 comments on the call?", "x", None),
        ("5 replies, 4 comments, 3 replies", "x", None),
        ("6 replies, 2 comments, we replied 3", "x", None),
        ("1.204 likes", None, None),
        ("1.204 likes, 1,204 shares", None, None),
        ("1,204 likes, 1,5k shares", None, None),
        ("1.2.3 likes", None, None),
    ],
)
def test_summaries_people_write(text: str, platform: str | None, expected: Summary | None) -> None:
    assert read_summary(text, platform) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("we have like 30ish comments and 4 replies maybe", True),
        ("about 300 likes I think", True),
        ("comments are around 40", True),
        ("💬 lots, like 14", True),
        ("1 like lol", True),
        ("42", False),
        ("see you at 10:30", False),
        ("meeting on 12.05.", False),
        ("it's 3 pm", False),
        ("I'd like 2 of those", False),
        ("2 people shared it", False),
        ("great post!", False),
        ("we got 12 comments on the call?", False),
        ("I'll answer the 3 comments tonight", False),
        ("thanks! 2 comments look like spam", False),
        ("1.204 likes", True),
        ("30 comments, 4 replies, roughly", True),
        ("our 3 ❤️", True),
    ],
)
def test_counts_mentioned_outside_a_summary(text: str, hint: bool) -> None:
    assert mentions_counts(text) is hint


def test_overlong_text_is_not_a_summary() -> None:
    text = "12 comments, " * (MAX_SUMMARY_LENGTH // 13 + 1)
    assert parse_summary(text[:MAX_SUMMARY_LENGTH]) == E(comments=12)
    assert parse_summary(text) is None


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (E(likes=50), E(1, 2, 3, 4), E(1, 2, 3, 50)),
        (E(likes=50), None, E(0, 0, 0, 50)),
        (E(), E(1, None, 3, None), E(1, 0, 3, 0)),
        (E(0, 0, 0, 0), E(1, 2, 3, 4), E(0, 0, 0, 0)),
        (E(likes=5), E(1, 2, 3, 4, views=100), E(1, 2, 3, 5, views=100)),
        (E(views=7), None, E(0, 0, 0, 0, views=7)),
    ],
)
def test_merged_over(current: Engagement, previous: Engagement | None, expected: Engagement) -> None:
    assert current.merged_over(previous) == expected


@pytest.mark.parametrize(
    ("engagement", "empty"),
    [(E(), True), (E(likes=0), False), (E(1, 2, 3, 4), False)],
)
def test_is_empty(engagement: Engagement, empty: bool) -> None:
    assert engagement.is_empty() is empty


def _check(result: Engagement | None) -> None:
    if result is not None:
        assert not result.is_empty()
        for value in (
            result.comments,
            result.replies,
            result.shares,
            result.likes,
            result.views,
            result.impressions,
            result.saves,
        ):
            assert value is None or 0 <= value <= MAX_COUNT


EMOJI = ["📊", "❤️", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "1️⃣", "🇫🇷", "\u200d", "\ufe0f"]
FRAGMENTS = [
    "12",
    " comments",
    "likes",
    "=",
    ":",
    ",",
    "k",
    "M",
    ".",
    "-",
    "&amp;",
    "*",
    "_",
    ":bar_chart:",
    "1,234",
    "\u00a0",
    " and ",
    "so far",
    *EMOJI,
]


@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    _check(parse_summary(text))


@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=60).map("".join))
def test_never_raises_on_near_summaries(text: str) -> None:
    _check(parse_summary(text))


@given(st.text(st.characters(), min_size=1, max_size=50), st.sampled_from(EMOJI))
def test_never_raises_on_50_kb(text: str, emoji: str) -> None:
    chunk = text + emoji + "\x00\x1b 12 comments "
    assert parse_summary(chunk * (50_000 // len(chunk) + 1)) is None


SYNONYMS = {
    "comments": ("comments", "comment", "Comments"),
    "replies": ("replies", "reply", "responses", "answered", "answers"),
    "shares": ("shares", "retweets", "reposts", "boosts", "reshares", "Shares"),
    "likes": ("likes", "hearts", "favourites", "favorites", "faves", "reactions", "like"),
}
SEPARATORS = (", ", " ", " and ", "; ", " · ", " | ", " / ", "/", ";", "|", "\n", ",\n", " & ", " → ")
LEAD_INS = ("", "Summary: ", "update: ", ":bar_chart: ", "stats so far → ", "📊 ", "*Engagement*\n")
FORMS = ("{n} {w}", "{n}{w}", "{w}={n}", "{w}: {n}", "*{n}* {w}", "_{n} {w}_", "{w} = {n}")


def _numerals(value: int) -> list[str]:
    numerals = [str(value), f"{value:,}"]
    if value and value % 1000 == 0:
        numerals += [f"{value // 1000}k", f"{value // 1000}K"]
    if value and value % 100 == 0 and value < 1_000_000:
        numerals.append(f"{value // 1000}.{value % 1000 // 100}k")
    if value and value % 1_000_000 == 0:
        numerals.append(f"{value // 1_000_000}M")
    return numerals


@st.composite
def rendered_summaries(draw: st.DrawFn) -> tuple[Engagement, str]:
    counts = draw(
        st.dictionaries(
            st.sampled_from(tuple(SYNONYMS)),
            st.one_of(
                st.integers(0, 1000), st.integers(0, MAX_COUNT), st.integers(0, 10**6).map(lambda n: n * 100)
            ),
            min_size=1,
        )
    )
    phrases = [
        draw(st.sampled_from(FORMS)).format(
            n=draw(st.sampled_from(_numerals(value))), w=draw(st.sampled_from(SYNONYMS[field]))
        )
        for field, value in counts.items()
    ]
    phrases = draw(st.permutations(phrases))
    text = draw(st.sampled_from(LEAD_INS)) + phrases[0]
    for phrase in phrases[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + phrase
    # Slack delivers message text with &, < and > escaped.
    return Engagement(**counts), escape(text) if draw(st.booleans()) else text


@given(rendered_summaries())
def test_rendered_summary_parses_back(case: tuple[Engagement, str]) -> None:
    engagement, text = case
    assert parse_summary(text) == engagement
