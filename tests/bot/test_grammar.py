from __future__ import annotations

from collections.abc import Callable
from random import Random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.grammar import (
    BY_NAME,
    SUBCOMMANDS,
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
    ReportRequest,
    Request,
    ScheduleRequest,
    SettingsRequest,
    SourcesRequest,
    Subcommand,
    Table,
    UnansweredRequest,
    UnavailableRequest,
    parse_command,
)
from bot.links import PostLink, parse_post_link
from bot.metrics import ReportPeriod
from bot.render import render_request
from bot.summary import Engagement
from bot.text import escape

POST = "https://x.com/ada/status/1"


def _link(url: str) -> PostLink:
    link = parse_post_link(url)
    assert link is not None, url
    return link


LINK = _link(POST)


def _assert_bad(text: str, reason: str) -> None:
    """The user sees `reason` and the usage of the subcommand they typed."""
    assert parse_command(text) == BadInput(reason, (BY_NAME[text.split()[0].lower()].usage,))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", HelpRequest()),
        ("   ", HelpRequest()),
        ("help", HelpRequest()),
        ("HELP", HelpRequest()),
        ("help log", HelpRequest(BY_NAME["log"])),
        ("help Report", HelpRequest(BY_NAME["report"])),
        ("digest", DigestRequest(post=False)),
        ("digest preview", DigestRequest(post=False)),
        ("Digest NOW", DigestRequest(post=True)),
        ("schedule", ScheduleRequest()),
        ("schedule mon 09:00 Europe/Paris", ScheduleRequest(weekday=0, minute=540, zone="Europe/Paris")),
        ("schedule Sunday 23:59", ScheduleRequest(weekday=6, minute=1439)),
        (
            "schedule thu 07:05 America/New_York",
            ScheduleRequest(weekday=3, minute=425, zone="America/New_York"),
        ),
        ("SCHEDULE off", ScheduleRequest(off=True)),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("frobnicate", "`frobnicate` isn't a twoway command."),
        ("reprot week", "`reprot` isn't a twoway command. Did you mean `report`?"),
        ("help nothing", "`nothing` isn't a twoway command."),
        ("<!channel>", "`&lt;!channel&gt;` isn't a twoway command."),
        ("a`b", "`a\u02cbb` isn't a twoway command."),
        ("flg\u0430", "`flg\u0430` isn't a twoway command. Did you mean `flag`?"),  # a Cyrillic a
        ("settngs", "`settngs` isn't a twoway command. Did you mean `settings`?"),
    ],
)
def test_unknown_subcommands_get_one_line_and_the_usage(text: str, reason: str) -> None:
    result = parse_command(text)
    assert isinstance(result, BadInput)
    assert result.reason == reason
    assert result.usage


def test_unknown_subcommand_usage_lists_every_subcommand() -> None:
    result = parse_command("nope")
    assert isinstance(result, BadInput)
    assert result.usage == tuple(sub.usage for sub in SUBCOMMANDS)


@pytest.mark.parametrize("sub", SUBCOMMANDS, ids=lambda sub: sub.name)
def test_only_unavailable_subcommands_answer_unavailable(sub: Subcommand) -> None:
    answer = parse_command(sub.name)
    assert isinstance(answer, UnavailableRequest) == (not sub.available)
    assert sub.available


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("digest later", "`later` isn't `preview` or `now`."),
        ("digest now please", "Unexpected `please`."),
        (
            "schedule xx 09:00",
            "I couldn't read `xx 09:00` as a weekday, a time or a time zone; write it e.g. "
            "`fri 4pm Paris`, `monday 09:00 Europe/Paris` or `thu 16:30 UTC+2`.",
        ),
        (
            "schedule t 09:00",
            "I couldn't read `t 09:00` as a weekday, a time or a time zone; write it e.g. "
            "`fri 4pm Paris`, `monday 09:00 Europe/Paris` or `thu 16:30 UTC+2`.",
        ),
        ("schedule mon 24:00", "`24:00` isn't a time of day; hours go to 23 and minutes to 59."),
        ("schedule mon 09:60", "`09:60` isn't a time of day; minutes go to 59."),
        (
            "schedule mon 09:00 Mars/Base",
            "I don't know the time zone `Mars/Base`. Write a city such as `Paris` or `New York`, an IANA "
            "name such as `Europe/Paris`, or an offset such as `UTC+2`.",
        ),
        ("schedule off now", "Unexpected `now`."),
        (
            "schedule mon 09:00 UTC extra",
            "I don't know the time zone `UTC extra`. Write a city such as `Paris` or `New York`, an IANA "
            "name such as `Europe/Paris`, or an offset such as `UTC+2`.",
        ),
    ],
)
def test_bad_digest_and_schedule_input(text: str, reason: str) -> None:
    result = parse_command(text)
    assert isinstance(result, BadInput)
    assert result.reason == reason
    assert len(result.usage) == 1


# /twoway log

NOT_A_LINK = "isn't a link; start with the post's link."
SLACK_LINK = "is a Slack link; use the post's own link on its platform."
NOT_WEB = "isn't a web link; use the post's https link."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"log <{POST}> comments=12", LogRequest(LINK, Engagement(comments=12))),
        (
            f"log <{POST}|x.com/ada/status/1> comments=12 replies=3 shares=4 likes=51",
            LogRequest(LINK, Engagement(comments=12, replies=3, shares=4, likes=51)),
        ),
        (f"log {POST} 12 comments, 3 replies", LogRequest(LINK, Engagement(comments=12, replies=3))),
        (
            "LOG <https://twitter.com/Ada/status/1?utm_source=a&amp;s=20> 14 comments, 3 replies, 20 likes",
            LogRequest(
                _link("https://twitter.com/Ada/status/1?utm_source=a&s=20"),
                Engagement(comments=14, replies=3, likes=20),
            ),
        ),
        (
            "log <https://bsky.app/profile/ada.bsky.social/post/3k>   1.2k likes",
            LogRequest(_link("https://bsky.app/profile/ada.bsky.social/post/3k"), Engagement(likes=1200)),
        ),
        (
            "log <https://example.com/blog/hello|our blog> comments=2 &amp; replies=1",
            LogRequest(_link("https://example.com/blog/hello"), Engagement(comments=2, replies=1)),
        ),
        (
            f"log <{POST}> *12 comments* :speech_balloon: 3 replies",
            LogRequest(LINK, Engagement(comments=12, replies=3)),
        ),
        (f"log\t<{POST}>\ncomments=0", LogRequest(LINK, Engagement(comments=0))),
        (f"log <{POST}>comments: 5", LogRequest(LINK, Engagement(comments=5))),
        # No counts: the post alone, which a channel's ledger adds if it doesn't track it yet.
        (f"log <{POST}>", LogRequest(LINK, None)),
        (f"log {POST} \n\t", LogRequest(LINK, None)),
    ],
)
def test_log(text: str, expected: LogRequest) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("log", "The post's link is missing."),
        ("log   ", "The post's link is missing."),
        ("log comments=12", f"`comments=12` {NOT_A_LINK}"),
        (
            "log <@U0ADA00001|ada> comments=1",
            f"`&lt;@U0ADA00001|ada&gt;` {NOT_A_LINK}",
        ),
        (
            "log <https://acme.slack.com/archives/C1/p1> comments=1",
            f"`https://acme.slack.com/archives/C1/p1` {SLACK_LINK}",
        ),
        (
            "log <https://pbs.twimg.com/media/Fabc.jpg> likes=3",
            "`https://pbs.twimg.com/media/Fabc.jpg` is an image; use the link to the post itself.",
        ),
        (
            "log <https://example.com/talk.mp4> comments=1",
            "`https://example.com/talk.mp4` is a file; use the link to the post itself.",
        ),
        (
            "log <mailto:ada@example.com|ada@example.com> comments=1",
            f"`mailto:ada@example.com` {NOT_WEB}",
        ),
        (
            f"log <{POST}> we got 12 comments",
            "I couldn't read any counts in `we got 12 comments`; write e.g. `comments=12 replies=3`.",
        ),
        (
            f"log <{POST}> comments=lots &amp;\nlikes",
            "I couldn't read any counts in `comments=lots &amp; likes`; write e.g. `comments=12 replies=3`.",
        ),
    ],
)
def test_log_bad_input(text: str, reason: str) -> None:
    _assert_bad(text, reason)


# /twoway flag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"flag <{POST}> When is the next release?", FlagRequest(LINK, "When is the next release?", None)),
        (f"flag <{POST}> When is it out? by @jane_doe", FlagRequest(LINK, "When is it out?", "@jane_doe")),
        (f"flag {POST} Q&amp;A at 5 &lt;3 by Jane Doe", FlagRequest(LINK, "Q&A at 5 <3", "Jane Doe")),
        (f'flag <{POST}> "Loved it, by the way" by Sam', FlagRequest(LINK, "Loved it, by the way", "Sam")),
        (f"flag <{POST}> Fixed by the way", FlagRequest(LINK, "Fixed by the way", None)),
        (f"flag <{POST}> Can you answer by Friday", FlagRequest(LINK, "Can you answer by Friday", None)),
        (f"flag <{POST}> how much? by 5pm", FlagRequest(LINK, "how much? by 5pm", None)),
        (
            f"flag <{POST}> Written by someone who cares a lot",
            FlagRequest(LINK, "Written by someone who cares a lot", None),
        ),
        (
            f"flag <{POST}> Great talk by Dr. Ada K. Lovelace",
            FlagRequest(LINK, "Great talk", "Dr. Ada K. Lovelace"),
        ),
        (f"flag <{POST}> Great talk BY   @ada", FlagRequest(LINK, "Great talk", "@ada")),
        (
            f"flag <{POST}> by the book, by Sam by O\u2019Brien",
            FlagRequest(LINK, "by the book, by Sam", "O\u2019Brien"),
        ),
        (f"flag <{POST}> Thanks! by <@U0JANE0001|jane>", FlagRequest(LINK, "Thanks!", "@jane")),
        (
            f"flag <{POST}> see <https://example.com/faq|example.com/faq> <!here>",
            FlagRequest(LINK, "see example.com/faq @here", None),
        ),
        (f"flag <{POST}> “Where do I sign up?”", FlagRequest(LINK, "Where do I sign up?", None)),
        (f'flag <{POST}> "He said "hi"" by Bo', FlagRequest(LINK, 'He said "hi"', "Bo")),
        (f"flag <{POST}> Typed &amp;lt; literally", FlagRequest(LINK, "Typed &lt; literally", None)),
        (f"flag <{POST}> line one\nline two by jane", FlagRequest(LINK, "line one\nline two", "jane")),
        (f"flag <{POST}> nul\x00 byte", FlagRequest(LINK, "nul byte", None)),
        pytest.param(
            f"flag <{POST}> " + "a" * 3000, FlagRequest(LINK, "a" * 3000, None), id="3000 characters"
        ),
        pytest.param(
            f"flag <{POST}> " + "&amp;" * 3000,
            FlagRequest(LINK, "&" * 3000, None),
            id="3000 escaped characters",
        ),
    ],
)
def test_flag(text: str, expected: FlagRequest) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("flag", "The post's link is missing."),
        ("flag When is it out?", f"`When` {NOT_A_LINK}"),
        (
            "flag <#C0SOCIAL01|social> hi",
            f"`&lt;#C0SOCIAL01|social&gt;` {NOT_A_LINK}",
        ),
        (
            "flag <ftp://example.com/a> hi",
            f"`ftp://example.com/a` {NOT_WEB}",
        ),
        (
            "flag <https://acme.slack.com/archives/C1/p1> hi",
            f"`https://acme.slack.com/archives/C1/p1` {SLACK_LINK}",
        ),
        (
            "flag <https://i.imgur.com/abc.png> nice",
            "`https://i.imgur.com/abc.png` is an image; use the link to the post itself.",
        ),
        (f"flag <{POST}>", "Add the comment's text after the link."),
        (f'flag <{POST}> ""', "Add the comment's text after the link."),
        (f"flag <{POST}> by @jane", "Add the comment's text after the link."),
        (f'flag <{POST}> "  " by Jane', "Add the comment's text after the link."),
        (f"flag <{POST}> \x00\x01", "Add the comment's text after the link."),
        (f"flag <{POST}> <|>", "Add the comment's text after the link."),
        pytest.param(
            f"flag <{POST}> " + "a" * 3001,
            "The comment is 3,001 characters long; the limit is 3,000.",
            id="3001 characters",
        ),
        pytest.param(
            f"flag <{POST}> " + "&lt;" * 3001,
            "The comment is 3,001 characters long; the limit is 3,000.",
            id="3001 escaped characters",
        ),
    ],
)
def test_flag_bad_input(text: str, reason: str) -> None:
    _assert_bad(text, reason)


FB_POST = "https://facebook.com/acme/posts/pfbid02abc"
FB_COMMENT = "https://www.facebook.com/acme/posts/pfbid02abc?comment_id=123&reply_comment_id=456"
REDDIT_COMMENT = "https://www.reddit.com/r/python/comments/1abcde/comment/kx9y8z7/"
REPLY = "https://x.com/fan/status/2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f'flag <{FB_COMMENT}> "Do you ship to Canada?"',
            FlagRequest(PostLink(FB_POST, FB_POST, "facebook"), "Do you ship to Canada?", None, FB_COMMENT),
        ),
        (
            f"flag {REDDIT_COMMENT} Where is the changelog? by @fan",
            FlagRequest(
                PostLink(
                    "https://reddit.com/comments/1abcde", "https://reddit.com/comments/1abcde", "reddit"
                ),
                "Where is the changelog?",
                "@fan",
                REDDIT_COMMENT,
            ),
        ),
        (f'flag <{POST}> <{REPLY}> "When is it out?"', FlagRequest(LINK, "When is it out?", None, REPLY)),
        (f"flag {POST} {REPLY}?s=20 When? by @fan", FlagRequest(LINK, "When?", "@fan", f"{REPLY}?s=20")),
        (
            f"flag <{POST}> <https://www.google.com/url?q={REPLY}> When?",
            FlagRequest(LINK, "When?", None, REPLY),
        ),
        # A link on another network is the comment's text, as before.
        (
            f"flag <{POST}> <https://example.com/faq> is broken",
            FlagRequest(LINK, "https://example.com/faq is broken", None),
        ),
    ],
)
def test_flag_with_the_comments_own_link(text: str, expected: FlagRequest) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            f"flag <{FB_COMMENT}> <{FB_COMMENT}> hi",
            "Give the comment's link alone, or the post's link and then the reply's.",
        ),
        (
            f"flag <{POST}> <{POST}> hi",
            f"`{POST}` isn't a reply on the same X post; give the post's link, then the reply's, "
            "then the comment's text.",
        ),
        (f"flag <{POST}> <{REPLY}>", "Add the comment's text after the link."),
    ],
)
def test_flag_with_a_comments_link_bad_input(text: str, reason: str) -> None:
    _assert_bad(text, reason)


# /twoway answered, /twoway dismiss


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("answered 12", CloseRequest((12,), "answered")),
        ("answered #12", CloseRequest((12,), "answered")),
        ("ANSWERED #1", CloseRequest((1,), "answered")),
        ("answered 9223372036854775807", CloseRequest((2**63 - 1,), "answered")),
        ("  answered   42  ", CloseRequest((42,), "answered")),
        ("dismiss 7", CloseRequest((7,), "dismissed")),
        ("dismiss #007", CloseRequest((7,), "dismissed")),
        ("Dismiss\t#3", CloseRequest((3,), "dismissed")),
        ("dismiss #9223372036854775807", CloseRequest((2**63 - 1,), "dismissed")),
        ("answered #0007", CloseRequest((7,), "answered")),
        ("Answered 1", CloseRequest((1,), "answered")),
        ("answered\n#99", CloseRequest((99,), "answered")),
        ("dismiss 1", CloseRequest((1,), "dismissed")),
        ("DISMISS #42", CloseRequest((42,), "dismissed")),
        ("dismiss   #9000  ", CloseRequest((9000,), "dismissed")),
        ("dismiss 0012", CloseRequest((12,), "dismissed")),
    ],
)
def test_close(text: str, expected: CloseRequest) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("answered 5 6 7", CloseRequest((5, 6, 7), "answered")),
        ("answered #5, #6 and #7", CloseRequest((5, 6, 7), "answered")),
        ("answered #5,#6,#7", CloseRequest((5, 6, 7), "answered")),
        ("dismiss 5 6", CloseRequest((5, 6), "dismissed")),
        ("dismiss 6 5 6 #05", CloseRequest((6, 5), "dismissed")),
        ("Answered 9 AND 3", CloseRequest((9, 3), "answered")),
        ("answered " + " ".join(str(n) for n in range(1, 21)), CloseRequest(tuple(range(1, 21)), "answered")),
    ],
)
def test_close_several(text: str, expected: CloseRequest) -> None:
    assert parse_command(text) == expected


NOT_AN_ID = "isn't a comment id; ids are whole numbers like `12` or `#12`."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("answered", "Give the comment's id, e.g. `#12`."),
        ("dismiss", "Give the comment's id, e.g. `#12`."),
        ("answered 0", f"`0` {NOT_AN_ID}"),
        ("dismiss #0", f"`#0` {NOT_AN_ID}"),
        ("answered -3", f"`-3` {NOT_AN_ID}"),
        ("answered 12.5", f"`12.5` {NOT_AN_ID}"),
        ("answered #", f"`#` {NOT_AN_ID}"),
        ("dismiss ##12", f"`##12` {NOT_AN_ID}"),
        ("answered twelve", f"`twelve` {NOT_AN_ID}"),
        ("answered 1e3", f"`1e3` {NOT_AN_ID}"),
        ("answered ١٢", f"`١٢` {NOT_AN_ID}"),
        ("answered 9223372036854775808", f"`9223372036854775808` {NOT_AN_ID}"),
        ("dismiss " + "1" * 5000, f"`{'1' * 39}…` {NOT_AN_ID}"),
        ("dismiss -1", f"`-1` {NOT_AN_ID}"),
        ("dismiss #12a", f"`#12a` {NOT_AN_ID}"),
        ("dismiss 9223372036854775808", f"`9223372036854775808` {NOT_AN_ID}"),
        ("dismiss <#C0SOCIAL01|social>", f"`&lt;#C0SOCIAL01|social&gt;` {NOT_AN_ID}"),
        ("dismiss #12 thanks &amp; bye", f"`thanks` {NOT_AN_ID} Nothing was closed."),
        ("answered 5 6 seven", f"`seven` {NOT_AN_ID} Nothing was closed."),
        ("answered 5, -6", f"`-6` {NOT_AN_ID} Nothing was closed."),
        ("answered 5 <@U0ADA00001|ada>", f"`&lt;@U0ADA00001|ada&gt;` {NOT_AN_ID} Nothing was closed."),
        (
            "answered " + " ".join(str(n) for n in range(1, 22)),
            "Give at most 20 comment ids at once; nothing was closed.",
        ),
        ("dismiss and", "Give the comment's id, e.g. `#12`."),
    ],
)
def test_close_bad_input(text: str, reason: str) -> None:
    _assert_bad(text, reason)


# /twoway unanswered


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("unanswered", UnansweredRequest(None)),
        ("UNANSWERED   ", UnansweredRequest(None)),
        ("unanswered <@U0ADA00001|ada>", UnansweredRequest("U0ADA00001")),
        ("unanswered <@U0ADA00001>", UnansweredRequest("U0ADA00001")),
        ("unanswered <@W0ENT00001|bo>", UnansweredRequest("W0ENT00001")),
        ("Unanswered <@U0ADA00001|ada lovelace>", UnansweredRequest("U0ADA00001")),
        ("unanswered   <@U0ADA00001>  ", UnansweredRequest("U0ADA00001")),
        ("unanswered\t<@U0ADA00001|ada.l-x>", UnansweredRequest("U0ADA00001")),
        # Typed out, not picked from Slack's list: a name to look up when the command runs.
        ("unanswered @ada", UnansweredRequest(NamedPerson("ada"))),
        ("unanswered @Ada_Lovelace", UnansweredRequest(NamedPerson("Ada_Lovelace"))),
        ("unanswered @Ada   Lovelace ", UnansweredRequest(NamedPerson("Ada Lovelace"))),
        ("unanswered @Zoë&amp;Co", UnansweredRequest(NamedPerson("Zoë&Co"))),
        ("unanswered me", UnansweredRequest(Asker())),
        ("unanswered ME", UnansweredRequest(Asker())),
    ],
)
def test_unanswered(text: str, expected: UnansweredRequest) -> None:
    assert parse_command(text) == expected


NOT_A_PERSON = "isn't a person: mention one, e.g. @Ada, or write `me`."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("unanswered ada", f"`ada` {NOT_A_PERSON}"),
        ("unanswered @", f"`@` {NOT_A_PERSON}"),
        ("unanswered @ada <@U0BO000001|bo>", "Give at most one person."),
        ("unanswered @ada @grace", "Give at most one person."),
        ("unanswered me <@U0BO000001|bo>", "Give at most one person."),
        ("unanswered me please", "Unexpected `please`."),
        (
            "unanswered @" + "a" * 81,
            f"`@{'a' * 38}…` is longer than any name in Slack; mention the person, e.g. @Ada.",
        ),
        ("unanswered <!here>", f"`&lt;!here&gt;` {NOT_A_PERSON}"),
        ("unanswered <#C0SOCIAL01|social>", f"`&lt;#C0SOCIAL01|social&gt;` {NOT_A_PERSON}"),
        ("unanswered <!subteam^S0TEAM|@social>", f"`&lt;!subteam^S0TEAM|@social&gt;` {NOT_A_PERSON}"),
        ("unanswered <@u0ada00001|ada>", f"`&lt;@u0ada00001|ada&gt;` {NOT_A_PERSON}"),
        ("unanswered <@U0ADA00001|ada> <@U0BO000001|bo>", "Give at most one person."),
        ("unanswered <@U0ADA00001|ada> please", "Unexpected `please`."),
    ],
)
def test_unanswered_bad_input(text: str, reason: str) -> None:
    _assert_bad(text, reason)


# /twoway report


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("report", ReportRequest("week", None)),
        ("report week", ReportRequest("week", None)),
        ("report month", ReportRequest("month", None)),
        ("REPORT MONTH", ReportRequest("month", None)),
        ("report <@U0ADA00001|ada>", ReportRequest("week", "U0ADA00001")),
        ("report <@U0ADA00001|ada> month", ReportRequest("month", "U0ADA00001")),
        ("report month <@U0ADA00001>", ReportRequest("month", "U0ADA00001")),
        ("report Week <@W0ENT00001|bo>", ReportRequest("week", "W0ENT00001")),
        ("report\t  month  ", ReportRequest("month", None)),
        ("report @ada", ReportRequest("week", NamedPerson("ada"))),
        ("report month @Ada Lovelace", ReportRequest("month", NamedPerson("Ada Lovelace"))),
        ("report @ada month", ReportRequest("month", NamedPerson("ada"))),
        ("report me", ReportRequest("week", Asker())),
        ("report Me month", ReportRequest("month", Asker())),
    ],
)
def test_report(text: str, expected: ReportRequest) -> None:
    assert parse_command(text) == expected


NOT_A_PERIOD = "isn't a period or a person; use `week`, `month`, `me` or a mention like @Ada."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("report year", f"`year` {NOT_A_PERIOD}"),
        ("report weekly", f"`weekly` {NOT_A_PERIOD}"),
        ("report last month", f"`last` {NOT_A_PERIOD}"),
        ("report ada", f"`ada` {NOT_A_PERIOD}"),
        ("report week month", "Give one period: `week` or `month`."),
        ("report week week", "Give one period: `week` or `month`."),
        ("report <@U0ADA00001> <@U0BO000001>", "Give at most one person."),
        ("report @ada <@U0ADA00001>", "Give at most one person."),
        ("report me @ada", "Give at most one person."),
        ("report week month @ada", "Give one period: `week` or `month`."),
        ("report <!channel>", f"`&lt;!channel&gt;` {NOT_A_PERSON}"),
        ("report week; DROP TABLE comments", f"`week; DROP TABLE comments` {NOT_A_PERIOD}"),
    ],
)
def test_report_bad_input(text: str, reason: str) -> None:
    _assert_bad(text, reason)


# /twoway settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("settings", SettingsRequest(None, None, None, None)),
        ("settings threshold 24", SettingsRequest(24, None, None, None)),
        ("settings threshold 24h", SettingsRequest(24, None, None, None)),
        ("SETTINGS THRESHOLD 720H", SettingsRequest(720, None, None, None)),
        ("settings threshold 1", SettingsRequest(1, None, None, None)),
        ("settings flag :eyes:", SettingsRequest(None, "eyes", None, None)),
        ("settings flag eyes", SettingsRequest(None, "eyes", None, None)),
        ("settings flag :Eyes:", SettingsRequest(None, "eyes", None, None)),
        ("settings resolve :white_check_mark:", SettingsRequest(None, None, "white_check_mark", None)),
        ("settings dismiss :no_entry_sign:", SettingsRequest(None, None, None, "no_entry_sign")),
        ("settings resolve :+1::skin-tone-2:", SettingsRequest(None, None, "+1", None)),
        ("settings flag thumbsup::skin-tone-6", SettingsRequest(None, "thumbsup", None, None)),
        ("settings dismiss :-1:", SettingsRequest(None, None, None, "-1")),
        ("settings flag :don't:", SettingsRequest(None, "don't", None, None)),
        ("settings claim 2d", SettingsRequest(None, None, None, None, claim_hours=48)),
        ("settings claim 36h", SettingsRequest(None, None, None, None, claim_hours=36)),
        ("settings CLAIM 1H", SettingsRequest(None, None, None, None, claim_hours=1)),
        ("settings claim 14d threshold 6", SettingsRequest(6, None, None, None, claim_hours=336)),
        ("settings watch off", SettingsRequest(None, None, None, None, watch=False)),
        ("settings WATCH On", SettingsRequest(None, None, None, None, watch=True)),
        ("settings threshold 6 watch on", SettingsRequest(6, None, None, None, watch=True)),
        (
            "settings dismiss :zipper_mouth_face: threshold 48 flag :rotating_light: resolve heavy-check",
            SettingsRequest(48, "rotating_light", "heavy-check", "zipper_mouth_face"),
        ),
    ],
)
def test_settings(text: str, expected: SettingsRequest) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("settings sites", SourcesRequest("sites")),
        ("settings SITES blog.acme.com www.blog.acme.com", SourcesRequest("sites", add=("blog.acme.com",))),
        # Slack links a typed domain: `<http://acme.substack.com|acme.substack.com>`.
        (
            "settings sites <http://acme.substack.com|acme.substack.com> blog.acme.com",
            SourcesRequest("sites", add=("acme.substack.com", "blog.acme.com")),
        ),
        ("settings sites remove blog.acme.com", SourcesRequest("sites", remove=("blog.acme.com",))),
        ("settings accounts", SourcesRequest("accounts")),
        (
            "settings accounts x.com/Acme <https://bsky.app/profile/acme.bsky.social>",
            SourcesRequest("accounts", add=("x.com/acme", "bsky.app/profile/acme.bsky.social")),
        ),
        ("settings accounts Remove twitter.com/rival", SourcesRequest("accounts", remove=("x.com/rival",))),
    ],
)
def test_settings_sites_and_accounts(text: str, expected: SourcesRequest) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "settings sites acme.com/blog",
            "is a page; name the whole site by its host alone, e.g. `acme.com`.",
        ),
        ("settings sites twitter.com", "`twitter.com` is X, whose links count already"),
        ("settings sites <@U123|ada>", "isn't a site or an account"),
        ("settings sites remove", "Say which to remove, e.g. `settings sites remove blog.acme.com`."),
        ("settings accounts instagram.com/p/C0ffee", "isn't a network account"),
        (
            "settings accounts " + " ".join(f"x.com/a{i}" for i in range(21)),
            "Give at most 20 accounts at once.",
        ),
        ("settings flag :eyes: accounts x.com/acme", "`accounts` comes on its own"),
    ],
)
def test_bad_sites_and_accounts(text: str, reason: str) -> None:
    request = parse_command(text)
    assert isinstance(request, BadInput), request
    assert reason in request.reason
    assert request.usage == (BY_NAME["settings"].usage,)


NOT_HOURS = "isn't a threshold; use whole hours from 1 to 720, e.g. `24`."
NOT_EMOJI = "isn't an emoji name; use one like `:eyes:`."
BOTH = "can't be both the"
NOT_A_SETTING = "isn't a setting: use `threshold`, `claim`, `flag`, `resolve`, `dismiss`, `watch`."
NOT_CLAIM = "isn't a claim time; use hours or days from 1h to 14d, e.g. `claim 2d` or `claim 36h`."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("settings threshold", "`threshold` needs a number of hours, e.g. `threshold 24`."),
        ("settings threshold 0", f"`0` {NOT_HOURS}"),
        ("settings threshold 721", f"`721` {NOT_HOURS}"),
        ("settings threshold 1.5", f"`1.5` {NOT_HOURS}"),
        ("settings threshold -3", f"`-3` {NOT_HOURS}"),
        ("settings threshold 2d", f"`2d` {NOT_HOURS}"),
        ("settings threshold " + "9" * 5000, f"`{'9' * 39}…` {NOT_HOURS}"),
        ("settings threshold 24 hours", f"`hours` {NOT_A_SETTING}"),
        ("settings claim", "`claim` needs a time from 1h to 14d, e.g. `claim 2d` or `claim 36h`."),
        ("settings claim 0h", f"`0h` {NOT_CLAIM}"),
        ("settings claim 15d", f"`15d` {NOT_CLAIM}"),
        ("settings claim 337h", f"`337h` {NOT_CLAIM}"),
        ("settings claim 2", f"`2` {NOT_CLAIM}"),
        ("settings claim 1.5d", f"`1.5d` {NOT_CLAIM}"),
        ("settings claim 2w", f"`2w` {NOT_CLAIM}"),
        ("settings claim 1d claim 2d", "`claim` is given twice; give each setting once."),
        ("settings watch", "`watch` needs `on` or `off`, e.g. `watch off`."),
        ("settings watch maybe", "`maybe` isn't `on` or `off`; write `watch on` or `watch off`."),
        ("settings watch yes", "`yes` isn't `on` or `off`; write `watch on` or `watch off`."),
        ("settings watch on watch off", "`watch` is given twice; give each setting once."),
        ("settings colour blue", f"`colour` {NOT_A_SETTING}"),
        ("settings threshold 1 THRESHOLD 2", "`threshold` is given twice; give each setting once."),
        ("settings flag", "`flag` needs an emoji, e.g. `flag :eyes:`."),
        ("settings dismiss", "`dismiss` needs an emoji, e.g. `dismiss :no_entry_sign:`."),
        ("settings flag :eyes", f"`:eyes` {NOT_EMOJI}"),
        ("settings flag 👀", f"`👀` {NOT_EMOJI}"),
        ("settings resolve :a:b:", f"`:a:b:` {NOT_EMOJI}"),
        ("settings flag :eyes::skin-tone-7:", f"`:eyes::skin-tone-7:` {NOT_EMOJI}"),
        ("settings flag :_:", f"`:_:` {NOT_EMOJI}"),
        ("settings flag \u212aelvin", f"`\u212aelvin` {NOT_EMOJI}"),
        ("settings flag <@U0ADA00001|ada>", f"`&lt;@U0ADA00001|ada&gt;` {NOT_EMOJI}"),
        (
            "settings flag :eyes: resolve eyes",
            "`:eyes:` can't be both the `flag` and the `resolve` reaction.",
        ),
        (
            "settings resolve :x: dismiss :x::skin-tone-3:",
            "`:x:` can't be both the `resolve` and the `dismiss` reaction.",
        ),
    ],
)
def test_settings_bad_input(text: str, reason: str) -> None:
    _assert_bad(text, reason)


# /twoway export


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export", ExportRequest(None)),
        ("Export  ", ExportRequest(None)),
        ("export posts", ExportRequest("posts")),
        ("export snapshots", ExportRequest("snapshots")),
        ("export comments", ExportRequest("comments")),
        ("EXPORT Posts", ExportRequest("posts")),
        ("export   COMMENTS  ", ExportRequest("comments")),
        ("export\tsnapshots", ExportRequest("snapshots")),
    ],
)
def test_export(text: str, expected: ExportRequest) -> None:
    assert parse_command(text) == expected


NOT_A_TABLE = "isn't a table; use `posts`, `snapshots` or `comments`."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("export all", f"`all` {NOT_A_TABLE}"),
        ("export users", f"`users` {NOT_A_TABLE}"),
        ("export post", f"`post` {NOT_A_TABLE}"),
        ("export csv", f"`csv` {NOT_A_TABLE}"),
        ("export posts;", f"`posts;` {NOT_A_TABLE}"),
        ("export 'posts'", f"`'posts'` {NOT_A_TABLE}"),
        ("export <@U0ADA00001>", f"`&lt;@U0ADA00001&gt;` {NOT_A_TABLE}"),
        ("export posts comments", "Unexpected `comments`."),
        ("export posts --team T1", "Unexpected `--team T1`."),
    ],
)
def test_export_bad_input(text: str, reason: str) -> None:
    _assert_bad(text, reason)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dm", DmRequest(None)),
        ("dm on", DmRequest(True)),
        ("DM Off", DmRequest(False)),
    ],
)
def test_dm(text: str, expected: DmRequest) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("dm yes", "`yes` isn't `on` or `off`."),
        ("dm on off", "Unexpected `off`."),
        ("dm <@U0ADA00001>", "`&lt;@U0ADA00001&gt;` isn't `on` or `off`."),
    ],
)
def test_dm_bad_input(text: str, reason: str) -> None:
    _assert_bad(text, reason)


# Properties

REQUEST_TYPES = (
    HelpRequest,
    UnavailableRequest,
    BadInput,
    LogRequest,
    FlagRequest,
    CloseRequest,
    UnansweredRequest,
    ReportRequest,
    SettingsRequest,
    ExportRequest,
    DigestRequest,
    ScheduleRequest,
    DmRequest,
)


def _assert_well_formed(request: Request) -> None:
    assert isinstance(request, REQUEST_TYPES)
    match request:
        case BadInput(reason=reason, usage=usage):
            assert reason
            assert reason.splitlines() == [reason]
            assert "\n" not in reason
            assert len(reason) < 300
            assert usage
        case FlagRequest(text=text, author=author):
            assert text.strip()
            assert len(text) <= 3000
            assert author is None or author.strip()
        case LogRequest(engagement=engagement):
            assert engagement is None or not engagement.is_empty()
        case CloseRequest(comment_ids=comment_ids):
            assert 0 < len(comment_ids) <= 20
            assert all(0 < comment_id < 2**63 for comment_id in comment_ids)
        case SettingsRequest(threshold_hours=hours):
            assert hours is None or 1 <= hours <= 720
        case ScheduleRequest(weekday=weekday, minute=minute):
            assert weekday is None or 0 <= weekday <= 6
            assert minute is None or 0 <= minute < 24 * 60


FRAGMENTS = st.sampled_from(
    [
        POST,
        f"<{POST}>",
        f"<{POST}|x.com/ada>",
        "<https://acme.slack.com/archives/C1/p1>",
        "<https://pbs.twimg.com/media/a.jpg>",
        "<https://[::1>",
        "<http://[zz]/>",
        "<@U0ADA00001|ada>",
        "<@U0ADA00001>",
        "<@W0ENT00001>",
        "@ada",
        "<!here>",
        "<!subteam^S1|@team>",
        "<#C0SOCIAL01|social>",
        "<|>",
        "<>",
        "<",
        ">",
        "&amp;",
        "&lt;",
        "&gt;",
        "&amp;lt;",
        "by",
        "BY",
        "by @jane",
        '"',
        "“",
        "”",
        "'; DROP TABLE comments; --",
        "1 OR 1=1",
        "comments=3",
        "12 comments,",
        "1.2k likes",
        "week",
        "month",
        "threshold",
        "flag",
        "resolve",
        "dismiss",
        "24h",
        ":eyes:",
        ":+1::skin-tone-2:",
        "#12",
        "9" * 30,
        "`",
        "*bold*",
        "\x00",
        "\x1f",
        "\r\n",
        "\u2028",
        "\u200b",
        "\ud800",
        "👀",
        "🏳️‍🌈",
        "עברית",
        "العربية",
        "日本語",
        "Ελληνικά",
        "\u2124\U0001d556\U0001d563\U0001d560",
        "\u212a",
    ]
)
PREFIXES = st.sampled_from([*BY_NAME, "LOG", "Flag", "", f"log <{POST}>", f"flag <{POST}>", "settings flag"])
COMMANDS = st.builds(
    lambda prefix, pieces, separator: prefix + separator + separator.join(pieces),
    PREFIXES,
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=20),
    st.sampled_from([" ", "", "  ", "\t", "\n"]),
)


@given(st.text(max_size=2000))
def test_any_text_parses_to_a_well_formed_request(text: str) -> None:
    _assert_well_formed(parse_command(text))


@given(COMMANDS)
def test_slack_like_text_parses_to_a_well_formed_request(text: str) -> None:
    _assert_well_formed(parse_command(text))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PREFIXES, st.one_of(FRAGMENTS, st.text(min_size=1, max_size=40)))
def test_50_kb_of_text_parses_to_a_well_formed_request(prefix: str, piece: str) -> None:
    _assert_well_formed(parse_command(prefix + " " + piece * (50_000 // len(piece) + 1)))


@given(st.text(max_size=2000))
def test_requests_that_need_no_ledger_render(text: str) -> None:
    request = parse_command(text)
    if isinstance(request, HelpRequest | UnavailableRequest | BadInput):
        reply = render_request(request)
        assert reply["text"]
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in reply["blocks"])


# Generated valid commands

USER_IDS = st.from_regex(r"[UW][A-Z0-9]{8,10}", fullmatch=True)
LABELS = st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True)
CASES = st.sampled_from([str.lower, str.upper, str.title])


def _mention(user_id: str, label: str | None) -> str:
    return f"<@{user_id}>" if label is None else f"<@{user_id}|{label}>"


@given(
    st.sampled_from([None, "week", "month"]),
    st.none() | USER_IDS,
    st.none() | LABELS,
    CASES,
    st.booleans(),
)
def test_report_in_any_order(
    period: ReportPeriod | None,
    user_id: str | None,
    label: str | None,
    case: Callable[[str], str],
    user_first: bool,
) -> None:
    words = [case(period) if period else "", _mention(user_id, label) if user_id else ""]
    text = "report " + " ".join(reversed(words) if user_first else words)
    assert parse_command(text) == ReportRequest(period or "week", user_id)


@given(USER_IDS, st.none() | LABELS)
def test_unanswered_reads_any_mention(user_id: str, label: str | None) -> None:
    assert parse_command(f"unanswered {_mention(user_id, label)}") == UnansweredRequest(user_id)


EMOJI_NAMES = st.from_regex(r"[a-z0-9][a-z0-9_+'-]{0,30}", fullmatch=True)


def _emoji(name: str, colons: bool, skin_tone: int | None) -> str:
    tone = "" if skin_tone is None else f"::skin-tone-{skin_tone}"
    return f":{name}{tone}:" if colons else f"{name}{tone}"


@given(
    st.none() | st.integers(1, 720),
    st.booleans(),
    st.lists(EMOJI_NAMES, min_size=3, max_size=3, unique=True),
    st.lists(st.booleans(), min_size=3, max_size=3),
    st.lists(st.booleans(), min_size=3, max_size=3),
    st.lists(st.none() | st.integers(2, 6), min_size=3, max_size=3),
    st.randoms(use_true_random=False),
)
def test_settings_with_any_subset_in_any_order(
    hours: int | None,
    suffix: bool,
    names: list[str],
    present: list[bool],
    colons: list[bool],
    tones: list[int | None],
    random: Random,
) -> None:
    pairs = [] if hours is None else [f"threshold {hours}{'h' if suffix else ''}"]
    keys = ("flag", "resolve", "dismiss")
    pairs += [
        f"{key} {_emoji(name, colon, tone)}"
        for key, name, is_set, colon, tone in zip(keys, names, present, colons, tones, strict=True)
        if is_set
    ]
    random.shuffle(pairs)
    chosen = [name if is_set else None for name, is_set in zip(names, present, strict=True)]
    assert parse_command("settings " + " ".join(pairs)) == SettingsRequest(
        hours, chosen[0], chosen[1], chosen[2]
    )


@given(st.integers(1, 2**63 - 1), st.booleans(), st.sampled_from(["answered", "dismiss"]))
def test_close_reads_any_id(comment_id: int, hashed: bool, name: str) -> None:
    text = f"{name} {'#' if hashed else ''}{comment_id}"
    assert parse_command(text) == CloseRequest(
        (comment_id,), "answered" if name == "answered" else "dismissed"
    )


@given(
    st.fixed_dictionaries(
        {},
        optional={field: st.integers(0, 10**9) for field in ("comments", "replies", "shares", "likes")},
    ).filter(bool),
    st.randoms(use_true_random=False),
)
def test_log_reads_any_counts_in_any_order(counts: dict[str, int], random: Random) -> None:
    pairs = [f"{field}={value}" for field, value in counts.items()]
    random.shuffle(pairs)
    assert parse_command(f"log <{POST}> " + " ".join(pairs)) == LogRequest(LINK, Engagement(**counts))


TYPED_WORDS = st.text(
    st.characters(exclude_categories=["Cc", "Cs"], exclude_characters='"\u201c\u201d').filter(
        lambda c: not c.isspace()
    ),
    min_size=1,
    max_size=12,
).filter(lambda word: word.lower() != "by")
HANDLES = st.from_regex(r"@[a-z][a-z0-9_]{0,14}", fullmatch=True)


@given(st.lists(TYPED_WORDS, min_size=1, max_size=30), st.none() | HANDLES)
def test_flag_keeps_what_the_user_typed(words: list[str], author: str | None) -> None:
    typed = " ".join(words)
    text = f"flag <{POST}> {escape(typed)}" + ("" if author is None else f" by {author}")
    assert parse_command(text) == FlagRequest(LINK, typed, author)


@given(st.sampled_from([None, "posts", "snapshots", "comments"]), CASES)
def test_export_reads_any_table(table: Table | None, case: Callable[[str], str]) -> None:
    assert parse_command(f"export {case(table) if table else ''}") == ExportRequest(table)
