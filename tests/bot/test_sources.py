"""Which links are the team's posts (`bot.sources`): the account a link is from, as shared, and what a
person may type as a site or an account."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.links import PLATFORMS, PostLink, parse_post_link
from bot.sources import Refused, Sources, account_of, may_count, parse_account, parse_site


@pytest.mark.parametrize(
    ("url", "account"),
    [
        ("https://twitter.com/Acme/status/1790", "x.com/acme"),
        ("https://mobile.twitter.com/acme/status/1790?s=20", "x.com/acme"),
        ("https://x.com/i/web/status/1790", None),
        ("https://bsky.app/profile/Acme.bsky.social/post/3kbench01", "bsky.app/profile/acme.bsky.social"),
        ("https://mastodon.social/@Ada/113500000000000001", "mastodon.social/@ada"),
        ("https://fosstodon.org/users/ada/statuses/1", "fosstodon.org/@ada"),
        ("https://www.threads.net/@acme/post/C8abc", "threads.com/@acme"),
        ("https://www.instagram.com/p/C7offsite01/", None),
        ("https://www.instagram.com/acme/", "instagram.com/acme"),
        ("https://www.tiktok.com/@Acme/video/7300000000000000000", "tiktok.com/@acme"),
        ("https://vm.tiktok.com/ZMabc/", None),
        ("https://www.youtube.com/@Acme", "youtube.com/@acme"),
        ("https://youtu.be/tw0wayLaunch?si=share123", None),
        ("https://m.facebook.com/acme/posts/123", "facebook.com/acme"),
        ("https://www.facebook.com/permalink.php?story_fbid=1&id=2", None),
        ("https://www.linkedin.com/company/acme/posts/", "linkedin.com/company/acme"),
        ("https://www.linkedin.com/in/ada-lovelace", "linkedin.com/in/ada-lovelace"),
        (
            "https://www.linkedin.com/posts/acme_hiring-activity-7260000000000000001-aBcD",
            "linkedin.com/company/acme",
        ),
        ("https://www.linkedin.com/feed/update/urn:li:activity:7260000000000000001/", None),
        ("https://old.reddit.com/user/Ada/comments/abc/title/", "reddit.com/user/ada"),
        ("https://www.reddit.com/r/python/comments/abc/title/", None),
        ("https://medium.com/@ada/why-we-reply-123", None),
        ("mailto:ada@acme.com", None),
        ("not a link", None),
    ],
)
def test_the_account_a_link_is_from(url: str, account: str | None) -> None:
    assert account_of(url) == account


def _link(url: str) -> PostLink:
    link = parse_post_link(url)
    assert link is not None
    return link


DOC = _link("https://docs.google.com/document/d/1AbC/edit")
BLOG = _link("https://www.blog.acme.com/2026/launch")
OURS = _link("https://twitter.com/acme/status/1")
RIVAL = _link("https://x.com/Rival/status/2")
UNTOLD = _link("https://www.instagram.com/p/C0ffee/")
PERSON = _link("https://www.linkedin.com/posts/acme_launch-activity-1-x")


@pytest.mark.parametrize(
    ("sources", "counted", "vouched"),
    [
        (Sources(), [OURS, RIVAL, UNTOLD, PERSON], []),
        (Sources(sites=frozenset({"blog.acme.com"})), [BLOG, OURS, RIVAL, UNTOLD, PERSON], [BLOG]),
        (Sources(not_accounts=frozenset({"x.com/rival"})), [OURS, UNTOLD, PERSON], []),
        (Sources.of([("account", "x.com/acme")]), [OURS, UNTOLD], [OURS]),
        # A LinkedIn post's author is a person's or a company's name alike.
        (Sources.of([("account", "linkedin.com/in/acme")]), [UNTOLD, PERSON], [PERSON]),
        (Sources.of([("account", "x.com/acme"), ("not_account", "x.com/acme")]), [UNTOLD], []),
    ],
)
def test_which_links_count_and_which_the_channel_vouched_for(
    sources: Sources, counted: list[PostLink], vouched: list[PostLink]
) -> None:
    links = [DOC, BLOG, OURS, RIVAL, UNTOLD, PERSON]
    assert [link for link in links if sources.counts(link)] == counted
    assert [link for link in links if sources.vouches_for(link)] == vouched


@given(st.text(max_size=200))
def test_any_text_is_an_account_or_none_and_never_an_error(text: str) -> None:
    account = account_of(text)
    assert account is None or account == account.lower()


def test_every_network_but_a_blog_is_a_network() -> None:
    for url in (
        "https://x.com/a/status/1",
        "https://medium.com/@a/b",
        "https://www.reddit.com/r/a/comments/b/c",
    ):
        link = _link(url)
        assert link.platform in PLATFORMS
        assert link.platform != "blog"
        assert Sources().counts(link)


@pytest.mark.parametrize(
    ("typed", "site"),
    [
        ("blog.acme.com", "blog.acme.com"),
        ("https://www.Blog.Acme.com/", "blog.acme.com"),
        ("acme.substack.com", "acme.substack.com"),
    ],
)
def test_a_site_is_named_by_its_host(typed: str, site: str) -> None:
    assert parse_site(typed) == site


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("acme.com/blog", "is a page"),
        ("x.com", "is X, whose links count already"),
        ("acme.medium.com", "is Medium"),
        ("localhost", "isn't a site"),
        ("ada@acme.com", "isn't a site"),
        ("https://", "isn't a site"),
        ("files.slack.com", "isn't a site the team publishes on"),
    ],
)
def test_junk_is_no_site(typed: str, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        parse_site(typed)


@pytest.mark.parametrize(
    ("typed", "account"),
    [
        ("x.com/ACME", "x.com/acme"),
        ("https://twitter.com/acme", "x.com/acme"),
        ("bsky.app/profile/acme.bsky.social", "bsky.app/profile/acme.bsky.social"),
        ("mastodon.social/@acme", "mastodon.social/@acme"),
        ("linkedin.com/company/acme", "linkedin.com/company/acme"),
    ],
)
def test_an_account_is_named_by_its_profile_link(typed: str, account: str) -> None:
    assert parse_account(typed) == account


@pytest.mark.parametrize("typed", ["instagram.com/p/C0ffee", "blog.acme.com", "x.com", "acme", "x.com/i/web"])
def test_junk_is_no_account(typed: str) -> None:
    with pytest.raises(Refused, match="isn't a network account"):
        parse_account(typed)


@pytest.mark.parametrize("url", ["https://bit.ly/3xYz", "https://t.co/AbC123", "https://buff.ly/4q"])
def test_a_short_link_counts_until_twoway_learns_where_it_leads(url: str) -> None:
    link = parse_post_link(url)
    assert link is not None
    assert link.platform == "blog"
    assert Sources().counts(link)
    assert may_count([link])
    assert not Sources().vouches_for(link)


def test_a_link_to_a_site_nobody_named_may_not_count() -> None:
    link = parse_post_link("https://docs.google.com/document/d/1aBc/edit")
    assert link is not None
    assert not Sources().counts(link)
    assert not may_count([link])
