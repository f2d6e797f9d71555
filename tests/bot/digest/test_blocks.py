from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.digest.blocks import (
    DIGEST_EVENT_TYPE,
    MAX_BLOCKS_JSON,
    OPEN_OLDEST_ACTION,
    digest_metadata,
    render_digest,
)
from bot.digest.build import (
    Broadcaster,
    Counts,
    Digest,
    DigestInput,
    FoldedNudge,
    LostDigest,
    LostNudge,
    PostLine,
    Streak,
    Undelivered,
    WaitingComment,
    WaitingFor,
    WaitingItem,
    WaitingList,
    build_digest,
)
from bot.digest.period import Period
from bot.metrics import PostFact, Rate, SnapshotFact
from bot.render_ledger import (
    ANSWERED_ACTION,
    CLAIM_ACTION,
    DISMISSED_ACTION,
    REASSIGN_ACTION,
    RELEASE_ACTION,
)

START = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
NOW = START + timedelta(weeks=1)
PERIOD = Period(START, NOW)
PREVIOUS = Period(START - timedelta(weeks=1), START)
NOTHING_LOST = Undelivered()
HOSTILE = "<!channel> <@U0HOSTILE> *bold* `code` _it_ ~gone~ &amp; > quoted"


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def post(
    post_id: int, owner: str, shared: float, comments: int, replies: int, url: str | None = None
) -> PostFact:
    return PostFact(
        post_id,
        owner,
        "x",
        url or f"https://x.com/{owner}/status/{post_id}",
        at(shared),
        (SnapshotFact(at(shared + 24), comments, replies, 0, 0),),
    )


def waiting(comment_id: int, text: str = "Is this still on sale?", **extra: Any) -> WaitingComment:
    fields: dict[str, Any] = {
        "comment_id": comment_id,
        "text": text,
        "author": "@fan",
        "since": at(comment_id),
        "platform": "x",
        "post_url": "https://x.com/twoway/status/1",
        "owner": "U1",
    }
    return WaitingComment(**{**fields, **extra})


def digest_of(
    posts: list[PostFact] | None = None,
    *,
    previous_posts: list[PostFact] | None = None,
    history: dict[str, list[PostFact]] | None = None,
    open_comments: list[WaitingComment] | None = None,
    missed_previous: bool = False,
    undelivered: Undelivered = NOTHING_LOST,
) -> Digest:
    return build_digest(
        DigestInput(
            channel_id="C1",
            period=PERIOD,
            previous=PREVIOUS,
            posts=posts or [],
            previous_posts=previous_posts or [],
            owner_history=history or {},
            waiting=open_comments or [],
            answered=[],
            missed_previous=missed_previous,
            undelivered=undelivered,
        ),
        NOW,
    )


def typical() -> Digest:
    posts = [post(1, "U1", 1, 8, 0), post(2, "U2", 2, 4, 4), post(3, "U2", 3, 5, 1), post(4, "U3", 4, 0, 0)]
    history = {"U1": [post(10 + n, "U1", -30 * (n + 1), 2, 0) for n in range(3)]}
    return digest_of(
        posts,
        previous_posts=[post(20, "U1", -100, 10, 2)],
        history=history,
        open_comments=[waiting(n) for n in range(12, 0, -1)],
        missed_previous=True,
    )


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def within_block_kit_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and block["type"] == "header":
            assert len(text["text"]) <= 150
        elif isinstance(text, dict):
            assert len(text["text"]) <= 3000
        fields = block.get("fields", [])
        assert len(fields) <= 10
        assert all(len(field["text"]) <= 2000 for field in fields)
        assert len(block.get("elements", [])) <= 10
    assert len(json.dumps(blocks)) <= MAX_BLOCKS_JSON < 12_000


def test_sections_in_order_with_the_missed_note_on_top() -> None:
    reply = render_digest(typical())
    within_block_kit_limits(reply["blocks"])
    assert reply["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Weekly digest", "emoji": True},
    }
    texts = section_texts(reply["blocks"])
    # The first line leads with what waits, never with a percentage.
    assert texts[0] == (
        "12 comments wait for an answer in <#C1>, oldest 6 days. "
        "Last week: 4 new posts, 1 one-way post, 1 conversation."
    )
    assert "%" not in texts[0]
    assert texts[1].startswith("Last week's digest couldn't be posted on time.")
    titles = ["*Waiting for an answer*", "*One-way broadcasting*", "*Conversations*", "*The week in counts*"]
    positions = [next(i for i, t in enumerate(texts) if t.startswith(title)) for title in titles]
    assert positions == sorted(positions)


def test_waiting_comments_carry_their_ids_on_the_buttons() -> None:
    blocks = render_digest(typical())["blocks"]
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [b["block_id"] for b in actions] == [f"comment-{n}" for n in range(1, 11)]
    for n, block in enumerate(actions, start=1):
        assert [(e["action_id"], e["value"]) for e in block["elements"]] == [
            (ANSWERED_ACTION, str(n)),
            (DISMISSED_ACTION, str(n)),
            (CLAIM_ACTION, str(n)),
        ]
    texts = section_texts(blocks)
    # comment 1 was flagged an hour into the week: 167 hours ago
    assert "*#1* · 6 days · <https://x.com/twoway/status/1|X post> · <@U1> · from @fan\n> Is this" in texts[3]
    more = [b for b in blocks if b["type"] == "context" and "more" in b["elements"][0]["text"]]
    assert more[0]["elements"][0]["text"] == "and 2 more: `/twoway unanswered`"


def one_way_blocks(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """The one-way section's blocks: from its title to the next divider."""
    blocks = reply["blocks"]
    first = next(i for i, b in enumerate(blocks) if "One-way" in b.get("text", {}).get("text", ""))
    last = next(i for i in range(first, len(blocks)) if blocks[i]["type"] == "divider")
    return blocks[first:last]


def test_one_way_and_streak_lines() -> None:
    digest = replace(typical(), names={"U1": "Linus"})
    blocks = one_way_blocks(render_digest(digest))
    assert [b["text"]["text"] for b in blocks] == [
        "*One-way broadcasting*: posts that got comments and no replies",
        "• Linus: the last 4 posts with comments drew 14 comments and no replies. "
        "This week: <https://x.com/U1/status/1|X post>. "
        "Next: pick one question on the <https://x.com/twoway/status/1|X post> and answer it.",
    ]
    assert "<@" not in json.dumps(blocks)


def test_the_one_way_line_opens_the_oldest_comment() -> None:
    oldest = waiting(1, url="https://www.tiktok.com/@linus/video/1?comment=9", platform="tiktok")
    digest = digest_of([post(1, "U1", 1, 8, 0)], open_comments=[waiting(3), oldest, waiting(2)])
    [_, person] = one_way_blocks(render_digest(digest))
    assert (
        "Next: pick one question on the <https://x.com/twoway/status/1|TikTok post> and answer it."
        in (person["text"]["text"])
    )
    assert person["accessory"] == {
        "type": "button",
        "action_id": OPEN_OLDEST_ACTION,
        "text": {"type": "plain_text", "text": "Open the oldest comment", "emoji": True},
        "url": "https://www.tiktok.com/@linus/video/1?comment=9",
    }
    # With no link of its own, the composer's link to its message in Slack.
    linked = replace(
        digest, broadcasters=(replace(digest.broadcasters[0], oldest_link="https://t.slack.com/x"),)
    )
    [_, person] = one_way_blocks(render_digest(replace(linked, waiting=digest.waiting)))
    assert person["accessory"]["url"] == "https://t.slack.com/x"


def test_with_nothing_waiting_the_one_way_line_says_so_kindly_and_names_no_one_with_a_ping() -> None:
    [_, person] = one_way_blocks(render_digest(digest_of([post(1, "U1", 1, 8, 0)])))
    assert person["text"]["text"] == (
        "• A teammate: 1 post drew 8 comments and no replies: <https://x.com/U1/status/1|X post>. "
        "Nothing of theirs waits for an answer now: next time, ask a question back to start one."
    )
    assert "accessory" not in person


def test_names_are_shown_as_written() -> None:
    digest = replace(digest_of([post(1, "U1", 1, 8, 0)]), names={"U1": "perf_nerd <!channel>"})
    [_, person] = one_way_blocks(render_digest(digest))
    assert person["text"]["text"].startswith("• `perf_nerd` &lt;!channel&gt;: 1 post drew")


def test_conversations_and_counts() -> None:
    blocks = render_digest(typical())["blocks"]
    text = next(t for t in section_texts(blocks) if t.startswith("*Conversations*"))
    # Post 2 (4 comments, 4 replies) has fewer comments than a conversation needs.
    assert text.splitlines()[1:] == [
        "• <https://x.com/U2/status/3|X post> by <@U2>: answered 1 of 5 comments"
    ]
    counts = next(b for b in blocks if b["type"] == "section" and b.get("fields"))
    # this week 5 replies to 17 comments, answered 0+4+1+0 = 5: 29%; the week before 2 of 10: 20%
    assert [f["text"] for f in counts["fields"]] == [
        "*New posts*\n4 (+3)",
        "*Comments received*\n17 (+7)",
        "*Replies sent*\n5 (+3)",
        "*Reply rate*\n29% (5 replies to 17 comments)\nup from 20% (2 replies to 10 comments)",
        "*Median time to answer*\n— (none answered)\nnone answered the week before",
        "*Waiting for an answer now*\n12 comments",
    ]


def test_text_fallback() -> None:
    assert render_digest(typical())["text"] == (
        "12 comments wait for an answer in <#C1>, oldest 6 days. "
        "Last week: 4 new posts, 1 one-way post, 1 conversation."
    )


def test_the_first_line_says_when_nothing_waits() -> None:
    reply = render_digest(digest_of([post(1, "U1", 1, 6, 6)]))
    assert reply["text"] == (
        "Nothing waits for an answer in <#C1>. Last week: 1 new post, 0 one-way posts, 1 conversation."
    )
    assert section_texts(reply["blocks"])[0] == reply["text"]


def test_comments_on_older_posts_are_listed_without_saying_0_posts() -> None:
    reply = render_digest(digest_of(open_comments=[waiting(1)]))
    assert reply["text"] == "1 comment waits for an answer in <#C1>, oldest 6 days. No new posts last week."
    dumped = json.dumps(reply["blocks"])
    assert "0 posts" not in dumped
    assert "0 new posts" not in dumped
    assert "*New posts*\\nnone" in dumped
    assert any(b["type"] == "actions" for b in reply["blocks"])


def test_a_week_under_way_is_named_so() -> None:
    under_way = replace(digest_of([post(1, "U1", 1, 6, 6)]), as_of=at(80))
    reply = render_digest(under_way)
    where = reply["blocks"][1]["elements"][0]["text"]
    assert where == (
        "<#C1> · This week so far: <!date^1714986000^{date_short}|6 May 2024> to "
        "<!date^1715274000^{date_short}|9 May 2024>"
    )
    assert "This week so far: 1 new post" in reply["text"]
    ended = render_digest(digest_of([post(1, "U1", 1, 6, 6)]))["blocks"][1]["elements"][0]["text"]
    assert ended.startswith("<#C1> · Last week: <!date^1714986000^{date_short}|6 May 2024> to ")


@pytest.mark.parametrize("missed", [False, True])
def test_a_quiet_week_is_short_and_honest(missed: bool) -> None:
    reply = render_digest(digest_of(previous_posts=[post(20, "U1", -100, 10, 2)], missed_previous=missed))
    within_block_kit_limits(reply["blocks"])
    assert reply["text"] == "A quiet week in <#C1>: no posts shared and nothing waiting."
    assert len(reply["blocks"]) == 4 + missed
    assert reply["text"] in section_texts(reply["blocks"])
    assert not any(b["type"] == "actions" for b in reply["blocks"])


# The lost digest's week ended where this one starts: Monday 6 May 2024, 09:00 UTC.
LOST_WEEK_TO = "<!date^1714986000^{date_short}|6 May 2024>"


def lost_digests(*errors: str | None) -> tuple[LostDigest, ...]:
    """Digests of the weeks before this one, the last error the newest's."""
    weeks = range(len(errors), 0, -1)
    return tuple(
        LostDigest(Period(START - timedelta(weeks=n), START - timedelta(weeks=n - 1)), error)
        for n, error in zip(weeks, errors, strict=True)
    )


def note_of(reply: dict[str, Any]) -> str:
    [note] = [
        t for t in section_texts(reply["blocks"]) if t.startswith("*Not delivered since the last digest*")
    ]
    return note


def test_what_never_reached_the_channel_is_noted_under_the_missed_note() -> None:
    nudges = (
        LostNudge(3, 1, "ratelimited", True),
        LostNudge(3, 2, "fatal_error", True),
        LostNudge(5, 1, "ratelimited", True),
    )
    digest = replace(typical(), undelivered=Undelivered(lost_digests("ratelimited"), nudges))

    reply = render_digest(digest)

    within_block_kit_limits(reply["blocks"])
    texts = section_texts(reply["blocks"])
    assert texts[1].startswith("Last week's digest couldn't be posted on time.")
    assert texts[2] == (
        "*Not delivered since the last digest*\n"
        f"• The digest of the week to {LOST_WEEK_TO} never reached this channel "
        "(Slack answered `ratelimited`).\n"
        "• 3 nudges about 2 comments could not be sent (Slack answered `ratelimited` and `fatal_error`). "
        "#3 and #5 are still waiting for an answer: can anyone take them?"
    )
    assert texts[3].startswith("*Waiting for an answer*")
    assert reply["text"].endswith(
        "1 conversation. Not delivered since the last digest: 1 digest and 3 nudges."
    )


def test_nothing_undelivered_no_note() -> None:
    reply = render_digest(typical())
    assert not any("Not delivered" in t for t in section_texts(reply["blocks"]))
    assert "Not delivered" not in reply["text"]


@pytest.mark.parametrize(
    ("error", "why"),
    [
        pytest.param(None, "", id="unknown"),
        pytest.param("ratelimited", " (Slack answered `ratelimited`)", id="slack-code"),
        pytest.param("history: not_in_channel", " (Slack answered `not_in_channel`)", id="history-search"),
        pytest.param("compose: RuntimeError('no figures')", " (twoway couldn't compose it)", id="compose"),
        pytest.param("internal: ValueError('x')", " (twoway failed while sending it)", id="internal"),
        pytest.param(
            "URLError(ConnectionRefusedError(111, 'Connection refused'))",
            " (no answer from Slack: URLError(ConnectionRefusedError(11…)",
            id="network",
        ),
        pytest.param(
            "<!channel> <@U0HOSTILE> *bold* `code`",
            " (no answer from Slack: &lt;!channel&gt; &lt;@U0HOSTILE…)",
            id="hostile",
        ),
        pytest.param(
            "ratelimited\n<!here>", " (no answer from Slack: ratelimited &lt;!here&gt;)", id="two-lines"
        ),
        # A code span, which can't hold a backtick, cut to 40 characters of JSON: five \u02cb and the
        # ellipsis.
        pytest.param("`" * 200, " (no answer from Slack: `" + "\u02cb" * 5 + "`…)", id="backticks"),
    ],
)
def test_why_a_digest_was_lost_is_said_in_a_few_escaped_words(error: str | None, why: str) -> None:
    reply = render_digest(digest_of(undelivered=Undelivered(lost_digests(error))))
    lines = note_of(reply).splitlines()
    assert lines[1] == f"• The digest of the week to {LOST_WEEK_TO} never reached this channel{why}."
    # Not missed: this digest says itself that it lists everything still waiting.
    assert lines[2:] == ["This digest lists everything still waiting, however old."]


def test_lost_digests_beyond_the_room_are_counted_and_the_newest_named() -> None:
    errors = ["fatal_error", "fatal_error", "ratelimited", None, None, None, "ratelimited"]
    digest = digest_of(missed_previous=True, undelivered=Undelivered(lost_digests(*errors)))

    lines = note_of(render_digest(digest)).splitlines()

    assert lines[1] == "• 2 earlier digests never reached this channel (Slack answered `fatal_error`)."
    assert [line.split("|")[1].split(">")[0] for line in lines[2:]] == [
        "8 Apr 2024",
        "15 Apr 2024",
        "22 Apr 2024",
        "29 Apr 2024",
        "6 May 2024",
    ]
    assert lines[-1].endswith("(Slack answered `ratelimited`).")


@pytest.mark.parametrize(
    ("nudges", "line"),
    [
        pytest.param(
            [LostNudge(4, 1, "ratelimited", True)],
            "• 1 nudge about 1 comment could not be sent (Slack answered `ratelimited`). "
            "#4 is still waiting for an answer: can anyone take it?",
            id="one-waiting",
        ),
        pytest.param(
            [LostNudge(4, 1, None, False)],
            "• 1 nudge about 1 comment could not be sent. That comment has been answered or dismissed since.",
            id="one-closed",
        ),
        pytest.param(
            [LostNudge(n, 1, "fatal_error", n != 2) for n in (1, 2, 3)],
            "• 3 nudges about 3 comments could not be sent (Slack answered `fatal_error`). "
            "#1 and #3 are still waiting for an answer: can anyone take them?",
            id="some-closed",
        ),
        pytest.param(
            [LostNudge(n, 2, f"error_{n % 3}", True) for n in range(1, 8)],
            "• 7 nudges about 7 comments could not be sent (Slack answered `error_1` and `error_0`; "
            "more in the log). #1, #2, #3, #4, #5 and 2 more are still waiting for an answer: "
            "can anyone take them?",
            id="many",
        ),
    ],
)
def test_failed_nudges_are_counted_with_what_still_waits(nudges: list[LostNudge], line: str) -> None:
    note = note_of(render_digest(digest_of(undelivered=Undelivered(nudges=tuple(nudges)))))
    assert note.splitlines()[1:] == [line]


def test_a_quiet_week_still_says_what_was_not_delivered() -> None:
    lost = Undelivered(nudges=(LostNudge(4, 1, "ratelimited", False),))
    reply = render_digest(digest_of(missed_previous=True, undelivered=lost))
    within_block_kit_limits(reply["blocks"])
    assert len(reply["blocks"]) == 6
    assert section_texts(reply["blocks"])[1].startswith("*Not delivered since the last digest*\n• 1 nudge")
    assert reply["text"] == (
        "A quiet week in <#C1>: no posts shared and nothing waiting. "
        "Not delivered since the last digest: 1 nudge."
    )


def test_an_empty_week_with_comments_waiting_says_so() -> None:
    reply = render_digest(digest_of(open_comments=[waiting(1)]))
    texts = section_texts(reply["blocks"])
    assert (
        "*One-way broadcasting*: posts that got comments and no replies\nNo one-way posts last week." in texts
    )
    assert any(t.endswith("No post with that many comments got replies last week.") for t in texts)
    counts = next(b for b in reply["blocks"] if b.get("fields"))
    assert (
        counts["fields"][3]["text"] == "*Reply rate*\n— (no comments received)\nno comments the week before"
    )


def test_hostile_text_is_escaped() -> None:
    comment = waiting(1, HOSTILE, author=HOSTILE, platform="<!here>")
    reply = render_digest(digest_of(open_comments=[comment]))
    dumped = json.dumps(reply["blocks"], ensure_ascii=False)
    for leak in ("<!channel>", "<@U0HOSTILE>", "<!here>"):
        assert leak not in dumped
    text = section_texts(reply["blocks"])[2]
    # Each word with a formatting mark is a code span, shown exactly as written; the span can't hold a
    # backtick, so that one shows as U+02CB.
    assert "&lt;!channel&gt; &lt;@U0HOSTILE&gt; `*bold*` `\u02cbcode\u02cb` `_it_` `~gone~`" in text
    assert "&amp;amp; &gt; quoted" in text
    assert "|&lt;!here&gt; post>" in text
    for lookalike in ("\u2217", "\u02cd", "\u223c", "\uff3f"):
        assert lookalike not in dumped


def test_handles_are_shown_exactly() -> None:
    comment = waiting(1, "thanks @perf_nerd!", author="@perf_nerd")
    text = section_texts(render_digest(digest_of(open_comments=[comment]))["blocks"])[2]
    assert "from `@perf_nerd`\n> thanks `@perf_nerd!`" in text


@given(st.text(max_size=3000), st.text(max_size=300))
def test_any_comment_text_stays_in_its_quote(text: str, author: str) -> None:
    reply = render_digest(digest_of(open_comments=[waiting(1, text, author=author)]))
    shown = section_texts(reply["blocks"])[2]
    _, _, quoted = shown.partition("\n")
    assert "\n" not in quoted
    assert "<" not in quoted
    assert ">" not in quoted[1:]
    # Backticks only open and close code spans: in pairs, each span within a word.
    for part in (quoted, shown.partition("\n")[0]):
        assert part.count("`") % 2 == 0
        assert all(" " not in span for span in part.split("`")[1::2])
    assert len(json.dumps(quoted)) <= 2 + 2 + 280


def test_long_urls_lose_their_link_not_the_limits() -> None:
    url = "https://blog.example/" + "a" * 5000
    reply = render_digest(
        digest_of([post(1, "U1", 1, 3, 3, url=url)], open_comments=[waiting(1, post_url=url)])
    )
    within_block_kit_limits(reply["blocks"])
    assert url not in json.dumps(reply["blocks"])


def test_post_links_cannot_break_out_of_their_markup() -> None:
    comment = waiting(1, post_url="https://blog.example/a|b>c<d e")
    text = section_texts(render_digest(digest_of(open_comments=[comment]))["blocks"])[2]
    assert "<https://blog.example/a%7Cb%3Ec%3Cd%20e|X post>" in text


def huge() -> Digest:
    big_text = ("<!channel> 🎉 &&& *x* " * 1000)[:20_000]
    long_url = "https://blog.example/" + "é/" * 1000
    open_comments = [
        waiting(n, big_text, author=big_text, post_url=long_url if n % 2 else f"https://x.com/a/status/{n}")
        for n in range(500)
    ]
    # 60 owners each with 4 one-way posts this week (240), and 60 more posts in conversation
    posts = [
        post(o * 4 + k, f"U{o:04d}", 10 + o + k, 5, 0, url=long_url) for o in range(60) for k in range(4)
    ]
    # ...shared before those, so each owner's last 4 posts with comments are one-way
    posts += [post(1000 + n, f"U{n:04d}", n / 10, 10, 10) for n in range(60)]
    return digest_of(posts, open_comments=open_comments, missed_previous=True)


def test_huge_ledgers_stay_within_block_kit_limits() -> None:
    digest = huge()
    assert len(digest.broadcasters) == 60
    assert all(b.streak is not None and b.streak.posts == 4 for b in digest.broadcasters)
    reply = render_digest(digest)
    within_block_kit_limits(reply["blocks"])
    assert len([b for b in reply["blocks"] if b["type"] == "actions"]) == 10
    dumped = json.dumps(reply["blocks"])
    assert "and 490 more: `/twoway unanswered`" in dumped
    assert "more people" in dumped
    # short post links survive the squeeze; the 2,000-character ones don't
    assert "<https://x.com/a/status/0|X post>" in dumped
    assert "<!channel>" not in dumped
    assert len(reply["text"]) < 300


def test_the_undelivered_note_survives_the_squeeze() -> None:
    nudges = tuple(LostNudge(n, 1, "ratelimited", True) for n in range(500))
    digest = replace(huge(), undelivered=Undelivered(lost_digests(*["fatal_error"] * 30), nudges))

    reply = render_digest(digest)

    within_block_kit_limits(reply["blocks"])
    lines = note_of(reply).splitlines()
    # The squeeze names fewer digests and counts the rest: all 30 are accounted for.
    named = [line for line in lines if line.startswith("• The digest of the week to ")]
    assert 1 <= len(named) < 30
    assert lines[1] == (
        f"• {30 - len(named)} earlier digests never reached this channel (Slack answered `fatal_error`)."
    )
    assert lines[-2].startswith(f"• The digest of the week to {LOST_WEEK_TO} never reached")
    assert lines[-1].startswith(
        "• 500 nudges about 500 comments could not be sent (Slack answered `ratelimited`). #0"
    )
    assert "Not delivered since the last digest: 30 digests and 500 nudges." in reply["text"]


def _worst_undelivered() -> Undelivered:
    # Every error distinct and as costly in JSON as it can be; comment ids as long as BIGINT allows.
    def error(n: int) -> str:
        return f"{n}" + "😀&" * 1000

    digests = tuple(
        LostDigest(Period(START - timedelta(weeks=n + 1), START - timedelta(weeks=n)), error(n))
        for n in reversed(range(1000))
    )
    nudges = tuple(LostNudge(2**63 - 1 - n, 2, error(n), True) for n in range(1000))
    return Undelivered(digests, nudges)


def _worst(n: int, url: str) -> WaitingItem:
    # Every character costs the most JSON it can: an escaped surrogate pair, or "&amp;".
    # Seen on a network by nobody's flag, which the line says too.
    comment = waiting(n, "😀&" * 10_000, author="😀" * 10_000, post_url=url, seen_on="mastodon")
    return WaitingItem(replace(comment, comment_id=10**12 + n), timedelta(weeks=500))


# A URL of 100 characters, which the rooms before the last two still link, and one far too long for any.
@pytest.mark.parametrize("missed", [True, False])
@pytest.mark.parametrize("url", ["https://e.x/" + "a" * 88, "https://" + "😀" * 1000])
def test_the_last_resort_fits_the_worst_case(url: str, missed: bool) -> None:
    line = PostLine(1, "U" + "W" * 39, "mastodon", url, NOW, 10**9, 10**9, fetched_at=NOW)
    digest = Digest(
        channel_id="C" * 12,
        period=PERIOD,
        previous=PREVIOUS,
        missed_previous=missed,
        waiting=WaitingList(tuple(_worst(n, url) for n in range(10)), 10**9),
        broadcasters=tuple(
            Broadcaster(
                f"U{n:039d}",
                (line,) * 50,
                Streak(10**6, 10**9, 10**9),
                _worst(n, url).comment,
                "https://acme.slack.com/archives/" + "😀" * 100,
            )
            for n in range(500)
        ),
        names={f"U{n:039d}": "😀&" * 1000 for n in range(500)},
        conversations=(line,) * 5,
        counts=Counts(
            10**9, Rate(10**9, 10**9, 1.0), 10**9, timedelta(weeks=5000), 10**9, ("bluesky", "mastodon"), NOW
        ),
        previous_counts=Counts(0, Rate(10**9, 10**9 + 1, 0.5), 10**9, timedelta(weeks=5000)),
        quiet=False,
        undelivered=_worst_undelivered(),
    )
    reply = render_digest(digest)
    blocks = reply["blocks"]
    within_block_kit_limits(blocks)
    assert len([b for b in blocks if b["type"] == "actions"]) == 10
    lines = note_of(reply).splitlines()
    assert lines[1].startswith("• 999 earlier digests never reached this channel (no answer from Slack: ")
    assert lines[-1].startswith("• 1000 nudges about 1000 comments could not be sent (no answer from Slack: ")
    assert lines[-1].endswith(
        f"#{2**63 - 1000} and 999 more are still waiting for an answer: can anyone take them?"
    )


@pytest.mark.parametrize("url", ["https://e.x/" + "a" * 88, "https://" + "😀" * 1000])
def test_the_last_resort_fits_ten_comments_someone_is_on(url: str) -> None:
    on_it = tuple(
        WaitingItem(
            replace(item.comment, claimed_by="U" + "W" * 31, claimed_at=NOW, claimer="😀" * 100), item.age
        )
        for item in (_worst(n, url) for n in range(10))
    )
    line = PostLine(1, "U" + "W" * 39, "mastodon", url, NOW, 10**9, 10**9, fetched_at=NOW)
    digest = Digest(
        channel_id="C" * 12,
        period=PERIOD,
        previous=PREVIOUS,
        missed_previous=True,
        waiting=WaitingList(on_it, 10**9),
        broadcasters=tuple(
            Broadcaster(f"U{n:039d}", (line,) * 50, Streak(10**6, 10**9, 10**9)) for n in range(500)
        ),
        conversations=(line,) * 5,
        counts=Counts(
            10**9, Rate(10**9, 10**9, 1.0), 10**9, timedelta(weeks=5000), 10**9, ("bluesky", "mastodon"), NOW
        ),
        previous_counts=Counts(0, Rate(10**9, 10**9 + 1, 0.5), 10**9, timedelta(weeks=5000)),
        quiet=False,
        undelivered=_worst_undelivered(),
    )
    blocks = render_digest(digest)["blocks"]
    within_block_kit_limits(blocks)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 10
    # Whoever is on each can still let it go, from the digest itself.
    assert all(RELEASE_ACTION in [e["action_id"] for e in a["elements"]] for a in actions)
    assert all("is on it" in t for t in section_texts(blocks) if t.startswith("*#"))


def test_a_claimed_comment_shows_who_is_on_it_by_name_and_offers_let_go_and_ask() -> None:
    base = typical()
    first = base.waiting.items[0]
    claimed = replace(first.comment, claimed_by="U0GRACE001", claimed_at=NOW, claimer="Grace")
    digest = replace(base, waiting=replace(base.waiting, items=(replace(first, comment=claimed),)))
    blocks = render_digest(digest)["blocks"]
    text = next(t for t in section_texts(blocks) if t.startswith(f"*#{claimed.comment_id}*"))
    assert f"Grace is on it since <!date^{int(NOW.timestamp())}^" in text
    assert "<@U0GRACE001>" not in text
    actions = next(b for b in blocks if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        ANSWERED_ACTION,
        DISMISSED_ACTION,
        RELEASE_ACTION,
        REASSIGN_ACTION,
    ]


def test_metadata_identifies_the_digest() -> None:
    period = Period(datetime(2024, 3, 25, 8, tzinfo=UTC), datetime(2024, 4, 1, 7, tzinfo=UTC))
    assert digest_metadata("T1", "C1", period) == {
        "event_type": DIGEST_EVENT_TYPE,
        "event_payload": {
            "team_id": "T1",
            "channel_id": "C1",
            "period_start": "2024-03-25T08:00:00Z",
            "period_end": "2024-04-01T07:00:00Z",
        },
    }
    assert DIGEST_EVENT_TYPE == "twoway_digest"


def unnumbered(post_id: int, owner: str, shared: float) -> PostFact:
    return PostFact(post_id, owner, "x", f"https://x.com/{owner}/status/{post_id}", at(shared), ())


def test_posts_with_no_numbers_are_listed_and_their_owners_not_judged() -> None:
    posts = [post(1, "U1", 1, 8, 0), unnumbered(2, "U2", 2), unnumbered(3, "U1", 3), unnumbered(4, "U2", 4)]
    reply = render_digest(digest_of(posts))
    within_block_kit_limits(reply["blocks"])
    texts = section_texts(reply["blocks"])
    one_way = next(i for i, t in enumerate(texts) if t.startswith("*One-way broadcasting*"))
    assert texts[one_way + 1 : one_way + 3] == [
        "• A teammate: 1 post drew 8 comments and no replies: <https://x.com/U1/status/1|X post>. "
        "Nothing of theirs waits for an answer now: next time, ask a question back to start one.",
        "• Can't tell yet for A teammate (2 posts) and A teammate (1 post): no numbers logged, "
        "see *Numbers missing*.",
    ]
    named = render_digest(replace(digest_of(posts), names={"U1": "Linus", "U2": "Ada"}))
    assert "• Can't tell yet for Ada (2 posts) and Linus (1 post)" in json.dumps(
        named["blocks"], ensure_ascii=False
    )
    missing = texts[one_way + 3]
    assert missing.splitlines() == [
        "*Numbers missing*: 3 posts with no comments or replies logged. "
        "Reply in a post's thread with them (`14 comments, 3 replies`).",
        "• <https://x.com/U2/status/2|X post> by <@U2>",
        "• <https://x.com/U1/status/3|X post> by <@U1>",
        "• <https://x.com/U2/status/4|X post> by <@U2>",
    ]
    assert reply["text"].endswith("1 one-way post, 0 conversations; 3 posts with numbers missing.")
    assert "<@U1>" not in json.dumps(one_way_blocks(reply)[:3])


def test_with_no_numbers_at_all_the_one_way_section_says_it_cannot_tell() -> None:
    reply = render_digest(digest_of([unnumbered(1, "U1", 1)]))
    one_way = next(t for t in section_texts(reply["blocks"]) if t.startswith("*One-way broadcasting*"))
    assert one_way.splitlines()[1:] == [
        "No one-way posts last week among the posts with numbers.",
        "• Can't tell yet for A teammate (1 post): no numbers logged, see *Numbers missing*.",
    ]


def test_many_posts_with_no_numbers_stay_within_slacks_limits() -> None:
    posts = [
        unnumbered(
            n,
            f"U{n}",
            n % 160,
        )
        for n in range(1, 400)
    ]
    reply = render_digest(digest_of(posts))
    within_block_kit_limits(reply["blocks"])
    texts = section_texts(reply["blocks"])
    missing = next(t for t in texts if t.startswith("*Numbers missing*: 399 posts"))
    assert missing.endswith("more")
    one_way = next(t for t in texts if t.startswith("*One-way broadcasting*"))
    assert "394 more people" in one_way


def test_a_link_too_long_for_a_button_leaves_the_line_without_one() -> None:
    long_link = "https://blog.example/" + "a" * 3000
    digest = digest_of([post(1, "U1", 1, 8, 0)], open_comments=[waiting(1, url=long_link)])
    reply = render_digest(digest)
    within_block_kit_limits(reply["blocks"])
    [_, person] = one_way_blocks(reply)
    assert "accessory" not in person
    assert person["text"]["text"].endswith("answer it.")


def test_nudges_folded_into_the_digest_are_one_line_per_person_longest_wait_first() -> None:
    folded = (
        FoldedNudge("U0GRACE", NOW - timedelta(days=3)),
        FoldedNudge("U0LINUS", NOW - timedelta(days=1)),
        FoldedNudge("U0GRACE", NOW - timedelta(days=2)),
        FoldedNudge("U0GRACE", NOW - timedelta(hours=30)),
        FoldedNudge(None, NOW - timedelta(days=2)),
    )
    digest = build_digest(
        DigestInput(
            channel_id="C1",
            period=PERIOD,
            previous=PREVIOUS,
            posts=[],
            previous_posts=[],
            owner_history={},
            waiting=[waiting(n) for n in range(1, 6)],
            answered=[],
            folded=folded,
        ),
        NOW,
    )

    assert digest.waiting_for == (
        WaitingFor("U0GRACE", 3, timedelta(days=3)),
        WaitingFor(None, 1, timedelta(days=2)),
        WaitingFor("U0LINUS", 1, timedelta(days=1)),
    )
    texts = section_texts(render_digest(digest)["blocks"])
    assert (
        "*Waiting for you*\n"
        "<@U0GRACE>: 3 comments wait for you, oldest 3 days\n"
        "1 comment waits for someone to take it, oldest 2 days\n"
        "<@U0LINUS>: 1 comment waits for you, oldest 1 day"
    ) in texts


def test_a_digest_with_nothing_folded_has_no_waiting_for_you_part() -> None:
    assert "Waiting for you" not in json.dumps(render_digest(typical())["blocks"])


def fetched(post_id: int, owner: str, shared: float, comments: int, replies: int, network: str) -> PostFact:
    """A post on Bluesky or Mastodon whose latest counts twoway fetched, a day after a typed snapshot."""
    return PostFact(
        post_id,
        owner,
        network,
        f"https://{network}.example/{owner}/{post_id}",
        at(shared),
        (
            SnapshotFact(at(shared + 1), 1, 0, 0, 0, source="thread"),
            SnapshotFact(at(shared + 25), comments, replies, 0, 0, source="fetched"),
        ),
    )


def test_a_reply_nobody_flagged_says_where_it_was_seen_and_links_to_itself() -> None:
    seen = waiting(
        1,
        seen_on="bluesky",
        platform="bluesky",
        post_url="https://bsky.app/profile/acme.example/post/3kxyz",
        author="fan.bsky.social",
        url="https://bsky.app/profile/fan.bsky.social/post/3kabc",
    )
    reply = render_digest(digest_of([post(1, "U1", 1, 8, 0)], open_comments=[waiting(2), seen]))
    [first, second] = [t for t in section_texts(reply["blocks"]) if t.startswith("*#")]
    assert first == (
        "*#1* · 6 days · <https://bsky.app/profile/acme.example/post/3kxyz|Bluesky post> · <@U1> · "
        "from fan.bsky.social · seen on Bluesky\n"
        "> Is this still on sale? · <https://bsky.app/profile/fan.bsky.social/post/3kabc|comment>"
    )
    assert "seen on" not in second
    # The first line still leads with what waits, and the one-way line opens the reply's own link.
    assert reply["text"].startswith("2 comments wait for an answer in <#C1>, oldest 6 days.")
    [_, person] = one_way_blocks(reply)
    assert person["accessory"]["url"] == "https://bsky.app/profile/fan.bsky.social/post/3kabc"


def test_counts_fetched_from_a_network_say_so_and_when() -> None:
    posts = [
        fetched(1, "U1", 1, 9, 6, "bluesky"),
        fetched(2, "U2", 2, 6, 1, "mastodon"),
        post(3, "U3", 3, 5, 5),
    ]
    blocks = render_digest(digest_of(posts))["blocks"]
    text = next(t for t in section_texts(blocks) if t.startswith("*Conversations*"))
    fetched_at = int(at(27).timestamp())
    assert text.splitlines()[1:] == [
        "• <https://x.com/U3/status/3|X post> by <@U3>: answered 5 of 5 comments",
        "• <https://bluesky.example/U1/1|Bluesky post> by <@U1>: answered 6 of 9 comments "
        f"(fetched from Bluesky <!date^{int(at(26).timestamp())}^{{date_short_pretty}} at {{time}}|"
        "Tue 07 May 11:00 UTC>)",
        "• <https://mastodon.example/U2/2|Mastodon post> by <@U2>: answered 1 of 6 comments "
        f"(fetched from Mastodon <!date^{fetched_at}^{{date_short_pretty}} at {{time}}|"
        "Tue 07 May 12:00 UTC>)",
    ]
    note = next(b for b in blocks if b["type"] == "context" and "Changes are from" in str(b))
    assert note["elements"][0]["text"].endswith(
        "never above 100%. The counts of 2 of the 3 new posts were fetched from Bluesky and Mastodon, last "
        f"<!date^{fetched_at}^{{date_short_pretty}} at {{time}}|Tue 07 May 12:00 UTC>."
    )
    # The latest snapshot counts, fetched or typed: 12 of 20 comments answered.
    counts = next(b for b in blocks if b["type"] == "section" and b.get("fields"))
    assert counts["fields"][3]["text"].startswith("*Reply rate*\n60% (12 replies to 20 comments)")


def test_typed_counts_say_nothing_of_where_they_came_from() -> None:
    blocks = render_digest(typical())["blocks"]
    assert "fetched" not in json.dumps(blocks)
