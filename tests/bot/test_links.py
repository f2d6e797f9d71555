from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.links import (
    PLATFORM_NAMES,
    PLATFORMS,
    PostLink,
    canonical_url,
    comment_link,
    is_short_link,
    links_in_message,
    parse_post_link,
    platform_of,
    unwrap,
)
from bot.text import escape

STATUS = "https://x.com/alice/status/1234567890"
VIDEO = "https://youtube.com/watch?v=dQw4w9WgXcQ"
THREAD = "https://reddit.com/comments/1abcde"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://twitter.com/Alice/status/1234567890?s=20&t=abc", STATUS),
        ("https://mobile.twitter.com/alice/status/1234567890/", STATUS),
        ("http://WWW.X.COM/alice/statuses/1234567890/photo/1", STATUS),
        ("https://x.com/search?src=typed_query&q=twoway", "https://x.com/search?q=twoway&src=typed_query"),
        (
            "https://m.facebook.com/story.php?story_fbid=123&id=456&mibextid=abc",
            "https://facebook.com/story.php?id=456&story_fbid=123",
        ),
        (
            "https://www.facebook.com/acme/posts/pfbid02abc?fbclid=IwAR0&__tn__=R",
            "https://facebook.com/acme/posts/pfbid02abc",
        ),
        ("https://fb.com/acme/posts/1", "https://facebook.com/acme/posts/1"),
        ("https://fb.watch/abcDEF/?mibextid=x", "https://fb.watch/abcDEF"),
        (
            "https://www.linkedin.com/posts/acme_activity-7100-abcd?utm_source=share&utm_medium=member_desktop",
            "https://linkedin.com/feed/update/urn:li:activity:7100",
        ),
        (
            "https://www.linkedin.com/feed/update/urn:li:activity:7100000000000000000/",
            "https://linkedin.com/feed/update/urn:li:activity:7100000000000000000",
        ),
        (
            "https://www.instagram.com/p/CxYz123AbC/?igshid=MzRlODBiNWFlZA==",
            "https://instagram.com/p/CxYz123AbC",
        ),
        ("https://www.threads.net/@acme/post/C1a2B3c4?xmt=abc", "https://threads.com/@acme/post/C1a2B3c4"),
        ("https://mastodon.social/@alice/1123581321/", "https://mastodon.social/@alice/1123581321"),
        (
            "HTTPS://Fosstodon.ORG/@bob/110000000000000001#replies",
            "https://fosstodon.org/@bob/110000000000000001",
        ),
        (
            "https://bsky.app/profile/acme.bsky.social/post/3kabc2def",
            "https://bsky.app/profile/acme.bsky.social/post/3kabc2def",
        ),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&feature=youtu.be&t=42s&list=PL1", VIDEO),
        ("https://youtu.be/dQw4w9WgXcQ?si=AbCdEf", VIDEO),
        ("https://m.youtube.com/shorts/dQw4w9WgXcQ", VIDEO),
        ("https://www.youtube.com/@acme/videos?feature=shared", "https://youtube.com/@acme/videos"),
        ("https://old.reddit.com/r/Python/comments/1abcde/a_title/?utm_source=share", THREAD),
        ("https://www.reddit.com/r/python/comments/1abcde/a_title/kx9y8z7/", THREAD),
        (
            "https://www.tiktok.com/@acme/video/7300000000000000000?is_from_webapp=1&sender_device=pc",
            "https://tiktok.com/@/video/7300000000000000000",
        ),
        (
            "https://medium.com/@alice/a-post-1a2b3c?source=rss----1",
            "https://medium.com/@alice/a-post-1a2b3c",
        ),
        ("https://alice.medium.com/a-post-1a2b3c?sk=abc", "https://alice.medium.com/a-post-1a2b3c"),
        (
            "http://Example.COM:80/Blog/Post/?b=2&utm_campaign=x&a=1#top",
            "http://example.com/Blog/Post?a=1&b=2",
        ),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com//", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://www.example.com/%7ealice/caf%c3%a9", "https://example.com/~alice/caf%C3%A9"),
        ("https://example.com/café", "https://example.com/caf%C3%A9"),
        ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
        ("https://example.com/search?q=a%26b&q=c", "https://example.com/search?q=a%26b&q=c"),
        ("https://example.com/?si=1&s=2&t=3&feature=4", "https://example.com/?feature=4&s=2&t=3"),
        (
            "https://example.com/p?utm_source=a&UTM_Medium=b&gclid=1&fbclid=2&mc_cid=3&mc_eid=4"
            "&ref_src=5&ref_url=6&igshid=7&keep=1",
            "https://example.com/p?keep=1",
        ),
        ("https://Bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://faß.de/", "https://xn--fa-hia.de/"),
        ("https://[2001:DB8::0001]:8080/p", "https://[2001:db8::1]:8080/p"),
        ("https://example.com./post", "https://example.com/post"),
        ("https://user:secret@example.com/post", "https://example.com/post"),
        ("  https://example.com/post\n", "https://example.com/post"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    "urls",
    [
        [
            "https://twitter.com/alice/status/1",
            "https://x.com/Alice/status/1?s=20&t=xyz",
            "http://mobile.twitter.com/alice/status/1/",
            "https://www.x.com/alice/status/1#m",
        ],
        [
            "https://youtu.be/abc123",
            "https://www.youtube.com/watch?v=abc123&feature=share",
            "https://m.youtube.com/watch?v=abc123&si=q&t=10",
            "https://youtube.com/shorts/abc123",
        ],
        ["https://www.facebook.com/acme/posts/1?fbclid=x", "https://m.facebook.com/acme/posts/1/"],
        [
            "https://example.com/post/",
            "https://EXAMPLE.com/post?utm_source=newsletter",
            "https://example.com/post#c",
        ],
        ["https://example.com", "https://example.com/", "https://example.com:443/?gclid=abc"],
        ["https://example.com/p?b=2&a=1", "https://example.com/p?a=1&b=2&utm_medium=email"],
        ["https://threads.net/@acme/post/C1", "https://www.threads.com/@acme/post/C1/"],
    ],
)
def test_the_same_post_has_one_canonical_url(urls: list[str]) -> None:
    assert len({canonical_url(url) for url in urls}) == 1


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "mailto:team@example.com",
        "ftp://example.com/post",
        "javascript:alert(1)",
        "slack://channel?id=C1",
        "example.com/post",
        "//example.com/post",
        "http://",
        "https:///path",
        "http://x.com:99999/",
        "http://x.com:abc/",
        "http://x.com:0/",
        "http://[::1",
        "http://[nope]/",
        "http://exa mple.com/",
        "https://exa\x00mple.com/",
        "https://example.com/a\tb",
        "http://a..b/",
        "http://x.com\\@evil.com/",
        "http://%78.com/",
    ],
)
def test_canonical_url_of_what_isnt_an_http_url_is_none(url: str) -> None:
    assert canonical_url(url) is None


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://x.com/alice/status/1", "x"),
        ("https://twitter.com/alice/status/1", "x"),
        ("https://facebook.com/acme/posts/1", "facebook"),
        ("https://fb.com/acme/posts/1", "facebook"),
        ("https://fb.watch/abc", "facebook"),
        ("https://www.linkedin.com/posts/acme_activity-1", "linkedin"),
        ("https://instagram.com/p/Cx1", "instagram"),
        ("https://threads.net/@acme/post/C1", "threads"),
        ("https://www.threads.com/@acme/post/C1", "threads"),
        ("https://mastodon.social/@alice/1123581321", "mastodon"),
        ("https://fosstodon.org/@bob/110000000000000001", "mastodon"),
        ("https://hachyderm.io/@carol/111222333444555666", "mastodon"),
        ("https://infosec.exchange/@dave@mastodon.social/110000000000000002", "mastodon"),
        ("https://mastodon.online/users/erin/statuses/109876543210", "mastodon"),
        ("https://bsky.app/profile/acme.bsky.social/post/3kabc", "bluesky"),
        ("https://youtube.com/watch?v=abc", "youtube"),
        ("https://youtu.be/abc", "youtube"),
        ("https://www.youtube.com/@acme", "youtube"),
        ("https://reddit.com/r/python/comments/1abc", "reddit"),
        ("https://old.reddit.com/r/python/comments/1abc", "reddit"),
        ("https://redd.it/1abc", "reddit"),
        ("https://www.tiktok.com/@acme/video/7300", "tiktok"),
        ("https://vm.tiktok.com/ZMabc/", "tiktok"),
        ("https://medium.com/@alice/a-post-1a2b", "medium"),
        ("https://alice.medium.com/a-post-1a2b", "medium"),
        ("https://blog.example.com/2024/06/why-two-way", "blog"),
        ("https://example.com/@alice", "blog"),
        ("https://example.com/@alice/not-a-number", "blog"),
        ("https://notmedium.com/a", "blog"),
    ],
)
def test_platform(url: str, platform: str) -> None:
    link = parse_post_link(url)
    assert link is not None
    assert link.platform == platform
    assert platform_of(link.canonical_url) == platform


def test_every_platform_has_a_display_name() -> None:
    assert tuple(PLATFORM_NAMES) == PLATFORMS
    assert PLATFORM_NAMES["x"] == "X"
    assert PLATFORM_NAMES["linkedin"] == "LinkedIn"
    assert PLATFORM_NAMES["blog"] == "Blog"


def test_platform_of_junk_is_blog() -> None:
    assert platform_of("not a url") == "blog"
    assert platform_of("http://[::1") == "blog"


@pytest.mark.parametrize(
    "url",
    [
        "mailto:team@example.com",
        "ftp://files.example.com/post",
        "slack://open",
        "https://acme.slack.com/archives/C123/p1700000000000100",
        "https://app.slack.com/client/T1/C1",
        "https://slack.com/",
        "https://files.slack.com/files-pri/T1-F1/notes",
        "https://slack-files.com/T1-F1-abc",
        "https://example.com/chart.png",
        "https://example.com/Photo.JPEG?w=800",
        "https://example.com/a.jpg",
        "https://example.com/a.gif",
        "https://example.com/logo.svg",
        "https://example.com/p.webp",
        "https://cdn.example.com/v.mp4",
        "https://example.com/clip.MOV",
        "https://example.com/report.pdf",
        "https://pbs.twimg.com/media/F1abc?format=jpg&name=large",
        "https://scontent-lhr8-1.xx.fbcdn.net/v/t39.30808-6/123_n",
        "not a url",
    ],
)
def test_not_posts(url: str) -> None:
    assert parse_post_link(url) is None


def _urls(text: str, blocks: list[dict[str, Any]] | None = None) -> list[str]:
    return [link.url for link in links_in_message(text, blocks)]


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("<https://x.com/a/status/1|my post>", ["https://x.com/a/status/1"]),
        ("new post: <https://example.com/post>", ["https://example.com/post"]),
        ("<https://example.com/p?a=1&amp;b=2|p>", ["https://example.com/p?a=1&b=2"]),
        ("<https://example.com/q?x=&lt;y&gt;>", ["https://example.com/q?x=<y>"]),
        ("read https://example.com/post.", ["https://example.com/post"]),
        ("(see https://en.wikipedia.org/wiki/Foo_(bar)), ok?", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("HTTPS://Example.com/Up!", ["HTTPS://Example.com/Up"]),
        ("a https://example.com/p?a=1&amp;b=2; b", ["https://example.com/p?a=1&b=2"]),
        ("<@U123> <#C123|general> <!here> <!subteam^S1|@team> <mailto:a@b.co|a@b.co>", []),
        ("`https://example.com/a` and <https://example.com/b>", ["https://example.com/b"]),
        ("`<https://example.com/a>` and <https://example.com/b>", ["https://example.com/b"]),
        (
            "```\n<https://example.com/a>\nhttps://example.com/c\n```\n<https://example.com/b>",
            ["https://example.com/b"],
        ),
        (
            "<https://twitter.com/a/status/1?s=20> again <https://x.com/A/status/1/> and https://x.com/a/status/1",
            ["https://twitter.com/a/status/1?s=20"],
        ),
        ("<https://b.example/1> then <https://a.example/2>", ["https://b.example/1", "https://a.example/2"]),
        (
            "<https://acme.slack.com/archives/C1/p1> <https://example.com/x.png> <https://example.com/x>",
            ["https://example.com/x"],
        ),
        ("<https://example.com/a", ["https://example.com/a"]),
        ("", []),
    ],
)
def test_links_in_text(text: str, urls: list[str]) -> None:
    assert _urls(text) == urls


def _rich_text(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text", "block_id": "b1", "elements": list(elements)}


def _section(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text_section", "elements": list(elements)}


def _link(url: str, **style: bool) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "link", "url": url}
    if style:
        element["style"] = style
    return element


def test_links_in_rich_text_blocks_skip_code_and_keep_order() -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "<https://example.com/ignored>"}},
        _rich_text(
            _section(
                {"type": "text", "text": "see "},
                _link("https://example.com/1"),
                _link("https://x.com/c/status/9", code=True),
            ),
            {"type": "rich_text_preformatted", "elements": [_link("https://example.com/code")]},
            {
                "type": "rich_text_list",
                "style": "bullet",
                "elements": [
                    _section(_link("https://example.com/2", bold=True)),
                    _section(_link("https://youtu.be/v1")),
                ],
            },
            {"type": "rich_text_quote", "elements": [_link("https://example.com/3")]},
        ),
    ]
    assert _urls("", blocks) == [
        "https://example.com/1",
        "https://example.com/2",
        "https://youtu.be/v1",
        "https://example.com/3",
    ]


def test_blocks_then_extra_links_from_text_once_each() -> None:
    blocks = [_rich_text(_section(_link("https://example.com/a"), _link("https://example.com/b")))]
    text = "<https://example.com/c> <https://example.com/a/?utm_source=x> <https://example.com/b>"
    links = links_in_message(text, blocks)
    assert [link.canonical_url for link in links] == [
        "https://example.com/a",
        "https://example.com/b",
        "https://example.com/c",
    ]
    assert links[0] == PostLink("https://example.com/a", "https://example.com/a", "blog")


@pytest.mark.parametrize(
    "text",
    [
        "<" * 50_000,
        ">" * 50_000,
        "https://" * 7_000,
        "`" * 50_000,
        "```" * 17_000 + "https://example.com/x",
        "<https://" + "a" * 50_000,
        "\x00\x01\x7f<https://exa\x00mple.com/>\u202e<http://x.com:99999/> <http://[::1> <http://[::1]:0/>",
        "<https://example.com/" + "%" * 50_000 + ">",
        "&amp;" * 10_000,
        "\ud800 https://example.com/\udfff",
    ],
)
def test_junk_text_gives_no_exception(text: str) -> None:
    for link in links_in_message(text):
        assert link.platform in PLATFORMS


def test_junk_blocks_give_no_exception() -> None:
    nested: dict[str, Any] = _link("https://example.com/deep")
    for _ in range(5_000):
        nested = {"type": "rich_text_section", "elements": [nested]}
    blocks: list[Any] = [
        _rich_text(nested),
        {"type": "rich_text", "elements": "nope"},
        {"type": "rich_text", "elements": [None, 1, "x", [], {"type": "link", "url": 5}, {"style": "code"}]},
        "not a block",
    ]
    assert _urls("", blocks) == ["https://example.com/deep"]


# Pieces that exercise every branch of canonicalisation when glued together at random.
_SCHEMES = st.sampled_from(["http://", "https://", "HTTPS://", "ftp://", "mailto:", "", "http:"])
_KNOWN_HOSTS = st.sampled_from(
    [
        "x.com",
        "www.Twitter.com",
        "youtu.be",
        "m.youtube.com",
        "old.reddit.com",
        "mastodon.social",
        "alice.medium.com",
        "fb.com",
        "threads.net",
        "Bücher.example",
        "faß.de",
        "[::1]",
        "[2001:db8::1]:80",
        "example.com:8080",
        "example.com:99999",
        "www.www.example.com",
        "user@example.com",
        "acme.slack.com",
        "example.com.",
    ]
)
_HOSTS = _KNOWN_HOSTS | st.text(max_size=12)
_PRINTABLE_PIECES = [
    "/",
    "a",
    "A",
    "é",
    "~",
    "%41",
    "%7e",
    "%2F",
    "%zz",
    "%FF",
    "%e2%82%ac",
    "%",
    "?",
    "#",
    "&",
    "=",
    "+",
    "@alice",
    "/status/",
    "123",
    "watch",
    "v=",
    "shorts/",
    "r/Py/comments/ab/t",
    "utm_source=x",
    "si=1",
    "s=2",
    ".png",
    ";",
    ":",
    ">",
    "<",
]
_PATHS = st.lists(st.sampled_from([*_PRINTABLE_PIECES, " ", "|", "`", "\x00", "\u200b"]), max_size=12).map(
    "".join
)
_URLS = st.builds("{}{}{}".format, _SCHEMES, _HOSTS, _PATHS)
# Mostly well-formed links, so that properties about real posts aren't starved of examples.
_SHAREABLE_URLS = st.builds(
    "{}{}/{}".format,
    st.sampled_from(["http://", "https://", "HTTPS://"]),
    _KNOWN_HOSTS,
    st.lists(st.sampled_from(_PRINTABLE_PIECES), max_size=12).map("".join),
)

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["rich_text", "rich_text_section", "rich_text_preformatted", "link", "text"])
    | _URLS
    | _SHAREABLE_URLS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "elements", "url", "style", "code"]) | st.text(max_size=4),
            children,
            max_size=5,
        )
    ),
    max_leaves=40,
)
_MESSAGES = st.lists(
    st.builds(
        str.format,
        st.sampled_from(["<{}>", "<{}|label>", "{}", " {} ", "`{}`", "&lt;{}&gt;"]),
        _URLS | _SHAREABLE_URLS,
    )
    | st.text(max_size=10),
    max_size=6,
).map(" ".join)


@given(st.one_of(_SHAREABLE_URLS, _URLS, st.text()))
def test_canonical_url_is_idempotent(url: str) -> None:
    canonical = canonical_url(url)
    if canonical is not None:
        assert canonical_url(canonical) == canonical
        assert platform_of(canonical) in PLATFORMS


@given(st.one_of(_MESSAGES, st.text()), st.none() | st.lists(_JSON, max_size=4))
def test_links_in_message_never_raises_and_links_are_consistent(text: str, blocks: list[Any] | None) -> None:
    links = links_in_message(text, blocks)
    assert len({link.canonical_url for link in links}) == len(links)
    for link in links:
        again = parse_post_link(link.url)
        assert again is not None
        assert again.canonical_url == link.canonical_url
        assert link.platform in PLATFORMS


@given(_SHAREABLE_URLS)
def test_a_shared_url_comes_back_from_slack_markup(url: str) -> None:
    link = parse_post_link(url)
    assume(link is not None)
    assert links_in_message(f"<{escape(url)}|label>") == [link]
    assert links_in_message("", [_rich_text(_section(_link(url)))]) == [link]


# Every form of one post, by the canonical URL they all come to.
_FORMS: dict[str, list[str]] = {
    "https://linkedin.com/feed/update/urn:li:activity:7260000000000000001": [
        "https://www.linkedin.com/feed/update/urn:li:activity:7260000000000000001/",
        "https://www.linkedin.com/feed/update/urn%3Ali%3Aactivity%3A7260000000000000001?utm_source=share",
        "https://www.linkedin.com/posts/acme_launch-activity-7260000000000000001-abcd?utm_medium=ios",
        "https://linkedin.com/posts/acme_launch-day-activity-7260000000000000001-Xy_Z/",
        "https://www.linkedin.com/embed/feed/update/urn:li:activity:7260000000000000001",
        "https://m.linkedin.com/feed/update/urn:li:activity:7260000000000000001",
        "https://www.linkedin.com/redir/redirect?url=https%3A%2F%2Fwww.linkedin.com%2Ffeed%2Fupdate%2F"
        "urn%3Ali%3Aactivity%3A7260000000000000001",
    ],
    "https://linkedin.com/feed/update/urn:li:ugcPost:7260000000000000002": [
        "https://www.linkedin.com/feed/update/urn:li:ugcPost:7260000000000000002/",
        "https://www.linkedin.com/posts/acme_x-ugcPost-7260000000000000002-abcd",
        "https://www.linkedin.com/embed/feed/update/urn:li:ugcPost:7260000000000000002?compact=1",
    ],
    "https://linkedin.com/feed/update/urn:li:share:7260000000000000003": [
        "https://www.linkedin.com/feed/update/urn:li:share:7260000000000000003",
        "https://www.linkedin.com/posts/acme_x-share-7260000000000000003-abcd",
        "https://www.linkedin.com/embed/feed/update/urn:li:share:7260000000000000003",
    ],
    "https://instagram.com/p/C0ffee123": [
        "https://www.instagram.com/reel/C0ffee123/?igsh=abc",
        "https://www.instagram.com/p/C0ffee123/",
        "https://instagram.com/tv/C0ffee123",
        "https://www.instagram.com/reels/C0ffee123/",
        "https://www.instagram.com/acme/p/C0ffee123/?img_index=2",
        "https://www.instagram.com/acme/reel/C0ffee123/",
        "https://l.instagram.com/?u=https%3A%2F%2Fwww.instagram.com%2Freel%2FC0ffee123%2F&e=AT0",
    ],
    "https://tiktok.com/@/video/7300000000000000000": [
        "https://www.tiktok.com/@acme/video/7300000000000000000?is_from_webapp=1&sender_device=pc",
        "https://m.tiktok.com/@someone.else/video/7300000000000000000/",
        "https://www.tiktok.com/embed/v2/7300000000000000000",
        "https://m.tiktok.com/v/7300000000000000000.html",
    ],
    "https://reddit.com/comments/1abcde": [
        "https://www.reddit.com/r/Python/comments/1abcde/a_title/",
        "https://redd.it/1abcde",
        "https://old.reddit.com/comments/1abcde",
        "https://www.reddit.com/r/python/comments/1abcde/comment/kx9y8z7/?context=3",
        "https://www.reddit.com/r/python/comments/1abcde/a_title/kx9y8z7/",
    ],
    "https://facebook.com/acme/posts/pfbid02abc": [
        "https://www.facebook.com/acme/posts/pfbid02abc?comment_id=123456",
        "https://www.facebook.com/acme/posts/pfbid02abc?comment_id=123456&reply_comment_id=789",
        "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.facebook.com%2Facme%2Fposts%2Fpfbid02abc&h=AT0",
        "https://lm.facebook.com/l.php?u=https%3A%2F%2Fm.facebook.com%2Facme%2Fposts%2Fpfbid02abc%2F",
    ],
    "https://blog.acme.example/launch": [
        "https://www.google.com/url?q=https://blog.acme.example/launch&sa=D&source=editors",
        "https://www.google.co.uk/url?url=https%3A%2F%2Fblog.acme.example%2Flaunch%3Futm_source%3Dg",
        "https://slack-redir.net/link?url=https%3A%2F%2Fblog.acme.example%2Flaunch",
        "https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fblog.acme.example%2Flaunch"
        "&data=05%7C01&reserved=0",
        # A wrapper inside a wrapper inside a wrapper.
        "https://www.google.com/url?q="
        "https%3A%2F%2Feur01.safelinks.protection.outlook.com%2F%3Furl%3Dhttps%253A%252F%252F"
        "slack-redir.net%252Flink%253Furl%253Dhttps%25253A%25252F%25252Fblog.acme.example%25252Flaunch",
    ],
    "https://x.com/acme/status/1790000000000000001": [
        "https://www.google.com/url?q=https://twitter.com/Acme/status/1790000000000000001?s=20",
    ],
}
_FORM_CASES = [(form, canonical) for canonical, forms in _FORMS.items() for form in forms]


@pytest.mark.parametrize(("form", "canonical"), _FORM_CASES)
def test_every_form_of_a_post_gives_its_canonical_url(form: str, canonical: str) -> None:
    assert canonical_url(form) == canonical
    link = parse_post_link(form)
    assert link is not None
    assert link.canonical_url == canonical
    assert link.platform == platform_of(canonical)


@pytest.mark.parametrize("canonical", list(_FORMS))
def test_a_canonical_url_stays_itself(canonical: str) -> None:
    assert canonical_url(canonical) == canonical


def test_different_posts_stay_different() -> None:
    different = [
        "https://www.linkedin.com/feed/update/urn:li:activity:7260000000000000001",
        "https://www.linkedin.com/feed/update/urn:li:activity:7260000000000000009",
        "https://www.linkedin.com/feed/update/urn:li:ugcPost:7260000000000000001",
        "https://www.linkedin.com/feed/update/urn:li:share:7260000000000000001",
        "https://www.linkedin.com/company/acme/",
        "https://www.instagram.com/p/C0ffee123/",
        "https://www.instagram.com/p/C0FFEE123/",
        "https://www.instagram.com/acme/",
        "https://www.tiktok.com/@acme/video/7300000000000000000",
        "https://www.tiktok.com/@acme/video/7300000000000000001",
        "https://www.tiktok.com/@acme/photo/7300000000000000000",
        "https://www.tiktok.com/@acme",
        "https://www.reddit.com/r/python/comments/1abcde/",
        "https://www.reddit.com/r/python/comments/1abcdf/",
        "https://www.reddit.com/r/python/",
        "https://www.reddit.com/r/python/s/AbCdEf",
        "https://www.reddit.com/r/python/s/AbCdEg",
        "https://www.facebook.com/acme/posts/pfbid02abc",
        "https://www.facebook.com/acme/posts/pfbid02abd?comment_id=1",
        "https://www.google.com/url?q=https://blog.acme.example/launch",
        "https://www.google.com/url?q=https://blog.acme.example/other",
        "https://www.google.com/search?q=https://blog.acme.example/launch",
        "https://lnkd.in/gAbCdEf",
        "https://lnkd.in/gAbCdEg",
    ]
    canonicals = [canonical_url(url) for url in different]
    assert None not in canonicals
    assert len(set(canonicals)) == len(different)


def test_a_redirect_link_keeps_its_target_not_the_wrapper_site() -> None:
    link = parse_post_link("https://www.google.com/url?q=https://blog.acme.example/launch&sa=D")
    assert link == PostLink(
        url="https://blog.acme.example/launch",
        canonical_url="https://blog.acme.example/launch",
        platform="blog",
    )


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        # No target, or one that isn't an http(s) link: the wrapper is just a link of its own.
        ("https://www.google.com/url?sa=D", "https://google.com/url?sa=D"),
        ("https://www.google.com/url?q=javascript:alert(1)", "https://google.com/url?q=javascript:alert(1)"),
        (
            "https://evil.example/url?q=https://blog.acme.example/",
            "https://evil.example/url?q=https://blog.acme.example/",
        ),
    ],
)
def test_what_isnt_a_wrapper_of_a_link_stays_as_it_is(url: str, kept: str) -> None:
    assert canonical_url(url) == kept


def test_wrappers_nested_beyond_reason_are_no_link() -> None:
    url = "https://blog.acme.example/launch"
    for _ in range(8):
        url = "https://www.google.com/url?q=" + quote(url, safe="")
    assert unwrap(url) is None
    assert canonical_url(url) is None
    assert parse_post_link(url) is None


@pytest.mark.parametrize(
    ("url", "post"),
    [
        (
            "https://www.facebook.com/acme/posts/pfbid02abc?comment_id=123456",
            "https://facebook.com/acme/posts/pfbid02abc",
        ),
        (
            "https://m.facebook.com/story.php?story_fbid=1&id=2&comment_id=3&reply_comment_id=4",
            "https://facebook.com/story.php?id=2&story_fbid=1",
        ),
        ("https://www.reddit.com/r/python/comments/1abcde/comment/kx9y8z7/", THREAD),
        ("https://old.reddit.com/r/Python/comments/1abcde/a_title/kx9y8z7/?context=3", THREAD),
        (
            "https://www.google.com/url?q=https://www.reddit.com/r/python/comments/1abcde/comment/kx9y8z7/",
            THREAD,
        ),
    ],
)
def test_a_comment_permalink_names_its_post_and_keeps_its_own_link(url: str, post: str) -> None:
    link = comment_link(url)
    assert link is not None
    assert canonical_url(link) == post
    assert link == unwrap(url)
    assert canonical_url(url) == post


@pytest.mark.parametrize(
    "url",
    [
        "https://www.facebook.com/acme/posts/pfbid02abc",
        "https://www.reddit.com/r/python/comments/1abcde/a_title/",
        "https://www.reddit.com/comments/1abcde",
        "https://x.com/acme/status/1790000000000000001",
        "https://blog.acme.example/launch?comment_id=3",
        "not a link",
        "",
    ],
)
def test_not_comment_permalinks(url: str) -> None:
    assert comment_link(url) is None


@pytest.mark.parametrize(
    ("url", "short"),
    [
        ("https://lnkd.in/gAbCdEf", True),
        ("https://vm.tiktok.com/ZMabc123/", True),
        ("https://vt.tiktok.com/ZSabc123/", True),
        ("https://www.tiktok.com/t/ZTabc123/", True),
        ("https://t.co/abc123", True),
        ("https://bit.ly/3abc", True),
        ("https://buff.ly/3abc", True),
        ("https://ow.ly/abc", True),
        ("https://fb.me/e/abc", True),
        ("https://fb.watch/abcDEF/", True),
        ("https://www.reddit.com/r/Python/s/AbCdEf", True),
        ("https://lnkd.in/", False),
        ("https://youtu.be/dQw4w9WgXcQ", False),
        ("https://redd.it/1abcde", False),
        ("https://www.reddit.com/r/Python/", False),
        ("https://www.tiktok.com/@acme/video/7300000000000000000", False),
        ("https://blog.acme.example/t/abc", False),
    ],
)
def test_short_links_that_only_the_network_resolves(url: str, short: bool) -> None:
    canonical = canonical_url(url)
    assert canonical is not None
    assert is_short_link(canonical) is short


@given(_SHAREABLE_URLS)
def test_a_wrapped_link_is_its_target(url: str) -> None:
    wrapped = "https://www.google.com/url?q=" + quote(url, safe="")
    assert canonical_url(wrapped) == canonical_url(url)
