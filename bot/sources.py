"""Which links are the team's posts: the sites and accounts a channel names, and the account a link is from.

A link to a social network counts as the team's post, unless the channel said its account isn't the
team's (`not_account`), or the channel listed its own accounts and the link is from another one. A link
whose account can't be told from its URL (an Instagram `/p/` code, a LinkedIn urn, a short link) counts.
A link to any other site counts only once the channel named that site (its host, exactly).

The account is read from the link as it was shared, its host's aliases resolved (twitter.com is x.com),
never from the canonical URL. Handles are compared in lower case. Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from bot.links import PLATFORM_NAMES, PostLink, is_short_link, network_of, normal_host
from bot.text import inline_code

SITE = "site"
ACCOUNT = "account"
NOT_ACCOUNT = "not_account"

# Anyone in the channel may react so to a message that shares posts which aren't the team's.
NOT_OURS_REACTION = "x"

# channel_sources.value is a VARCHAR(255).
VALUE_LIMIT = 255

_HANDLE = re.compile(r"[a-z0-9_.\-]{1,100}")
# A Mastodon handle may name its home instance: @ada@fosstodon.org.
_FEDIVERSE_HANDLE = re.compile(r"[a-z0-9_.\-]{1,100}(?:@[a-z0-9.\-]{1,200})?")

# First path segments that are pages of the network, not accounts.
_X_PAGES = frozenset(
    {"i", "home", "search", "explore", "intent", "share", "hashtag", "settings", "messages", "notifications"}
)
_INSTAGRAM_PAGES = frozenset({"p", "reel", "reels", "tv", "explore", "accounts", "direct", "stories"})
_FACEBOOK_PAGES = frozenset(
    {
        *("permalink.php", "story.php", "photo.php", "photo", "photos", "watch", "groups", "events"),
        *("share", "sharer", "sharer.php", "profile.php", "reel", "video.php", "videos", "hashtag"),
        *("marketplace", "gaming", "login", "l.php", "media", "notes", "stories", "help", "pg"),
    }
)


def _segments(parts: SplitResult) -> list[str]:
    return [unquote(s).lower() for s in parts.path.split("/") if s]


def _handle(word: str, pattern: re.Pattern[str] = _HANDLE) -> str | None:
    return word if pattern.fullmatch(word) else None


def _at_handle(word: str) -> str | None:
    return word[1:] if word.startswith("@") and _handle(word[1:]) else None


def _x(segments: list[str]) -> str | None:
    if segments and segments[0] not in _X_PAGES and _handle(segments[0]):
        return f"x.com/{segments[0]}"
    return None


def _bluesky(segments: list[str]) -> str | None:
    if len(segments) >= 2 and segments[0] == "profile" and _handle(segments[1].replace(":", ".")):
        return f"bsky.app/profile/{segments[1]}"
    return None


def _at_account(host: str) -> Callable[[list[str]], str | None]:
    def account(segments: list[str]) -> str | None:
        handle = _at_handle(segments[0]) if segments else None
        return f"{host}/@{handle}" if handle else None

    return account


def _instagram(segments: list[str]) -> str | None:
    if len(segments) >= 2 and segments[0] == "stories" and _handle(segments[1]):
        return f"instagram.com/{segments[1]}"
    if segments and segments[0] not in _INSTAGRAM_PAGES and _handle(segments[0]):
        return f"instagram.com/{segments[0]}"
    return None


def _facebook(segments: list[str]) -> str | None:
    if len(segments) >= 2 and segments[0] == "pg":
        segments = segments[1:]
    if segments and segments[0] not in _FACEBOOK_PAGES and _handle(segments[0]):
        return f"facebook.com/{segments[0]}"
    return None


def _linkedin(segments: list[str]) -> str | None:
    match segments:
        case ["company" | "in" as kind, name, *_] if _handle(name):
            return f"linkedin.com/{kind}/{name}"
        case ["posts", slug, *_] if "_" in slug and _handle(slug.split("_", 1)[0]):
            # A post's slug starts with its author's name, a person's or a company's alike.
            return f"linkedin.com/company/{slug.split('_', 1)[0]}"
    return None


def _reddit(segments: list[str]) -> str | None:
    if len(segments) >= 2 and segments[0] in ("user", "u") and _handle(segments[1]):
        return f"reddit.com/user/{segments[1]}"
    return None


def _mastodon(host: str, segments: list[str]) -> str | None:
    match segments:
        case [first, *_] if first.startswith("@") and _handle(first[1:], _FEDIVERSE_HANDLE):
            return f"{host}/{first}"
        case ["users", name, *_] if _handle(name):
            return f"{host}/@{name}"
    return None


_RULES: dict[str, Callable[[list[str]], str | None]] = {
    "x.com": _x,
    "bsky.app": _bluesky,
    "threads.com": _at_account("threads.com"),
    "tiktok.com": _at_account("tiktok.com"),
    "youtube.com": _at_account("youtube.com"),
    "instagram.com": _instagram,
    "facebook.com": _facebook,
    "linkedin.com": _linkedin,
    "reddit.com": _reddit,
}


def _split(url: str) -> tuple[SplitResult, str] | None:
    try:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        host = normal_host(parts.hostname)
    except ValueError:
        return None
    return None if host is None else (parts, host)


def account_of(url: str) -> str | None:
    """The network account a link is from, as ``x.com/acme`` or ``mastodon.social/@acme``, in lower case;
    None when its URL doesn't tell (an Instagram post's code, a LinkedIn urn, a short link, a subreddit).

    A host that is no known network gives a Mastodon account for a ``/@user`` or ``/users/user`` path.
    """
    split = _split(url)
    if split is None:
        return None
    parts, host = split
    segments = _segments(parts)
    network = network_of(host)
    if network is None:
        return _mastodon(host, segments)
    rule = _RULES.get(network[1] or "")
    return None if rule is None else rule(segments)


def same_account(account: str) -> str:
    """The form accounts are compared in: a LinkedIn post's URL names its author without saying whether
    a person or a company, so ``linkedin.com/in/x`` and ``linkedin.com/company/x`` are one."""
    for kind in ("linkedin.com/in/", "linkedin.com/company/"):
        if account.startswith(kind):
            return "linkedin.com/" + account.removeprefix(kind)
    return account


def site_of(link: PostLink) -> str:
    """The host a named site is matched against: the canonical URL's, ``www.`` dropped."""
    return urlsplit(link.canonical_url).hostname or ""


@dataclass(frozen=True)
class Sources:
    """A channel's named sites, its own accounts and the accounts it said aren't the team's."""

    sites: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()
    not_accounts: frozenset[str] = frozenset()

    @classmethod
    def of(cls, rows: list[tuple[str, str]]) -> Sources:
        """From ``(kind, value)`` pairs as `storage.channel_sources` keeps them."""
        return cls(
            sites=frozenset(v for k, v in rows if k == SITE),
            accounts=frozenset(same_account(v) for k, v in rows if k == ACCOUNT),
            not_accounts=frozenset(same_account(v) for k, v in rows if k == NOT_ACCOUNT),
        )

    def counts(self, link: PostLink) -> bool:
        """Whether the link is the team's post in this channel. A short link (`bit.ly`, `t.co`) counts until
        twoway learns where it leads: it may well lead to the team's post."""
        if link.platform == "blog":
            return site_of(link) in self.sites or is_short_link(link.canonical_url)
        account = account_of(link.url)
        if account is None:
            return True
        key = same_account(account)
        return key not in self.not_accounts and (not self.accounts or key in self.accounts)

    def vouches_for(self, link: PostLink) -> bool:
        """Whether the channel named the link's site or listed its account as its own: then nobody needs
        to be asked whether it is the team's."""
        if link.platform == "blog":
            return site_of(link) in self.sites
        account = account_of(link.url)
        return account is not None and self.counts(link) and same_account(account) in self.accounts


def may_count(links: list[PostLink]) -> bool:
    """Whether any of the links may count whatever a channel named: a network's link may (only a read of
    the channel's accounts can say it doesn't), and so may a short link; another site's needs the channel
    to have named it."""
    return any(link.platform != "blog" or is_short_link(link.canonical_url) for link in links)


class Refused(ValueError):
    """What someone typed as a site or an account, and why it is none."""


def _as_url(typed: str) -> str:
    return typed if "://" in typed else "https://" + typed


def parse_site(typed: str) -> str:
    """The host a channel names as its own site, from ``blog.acme.com`` or its link. Raises `Refused`."""
    shown = inline_code(typed, 80)
    split = _split(_as_url(typed))
    if split is None or "." not in split[1] or "@" in split[0].netloc:
        raise Refused(f"{shown} isn't a site; name one by its host, e.g. `blog.acme.com`.")
    parts, host = split
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise Refused(f"{shown} is a page; name the whole site by its host alone, e.g. `{host}`.")
    network = network_of(host)
    if network is not None:
        raise Refused(
            f"`{host}` is {PLATFORM_NAMES[network[0]]}, whose links count already; to say which account "
            "there is the team's, use `settings accounts`, e.g. `settings accounts x.com/acme`."
        )
    if host.endswith(("slack.com", "slack-edge.com", "slack-files.com")) or len(host) > VALUE_LIMIT:
        raise Refused(f"{shown} isn't a site the team publishes on.")
    return host


def parse_account(typed: str) -> str:
    """The account ``x.com/acme``, ``bsky.app/profile/acme.bsky.social``… from its profile link, in lower
    case. Raises `Refused`."""
    account = account_of(_as_url(typed))
    if account is None or len(account) > VALUE_LIMIT:
        raise Refused(
            f"{inline_code(typed, 80)} isn't a network account; write its profile link, e.g. `x.com/acme`, "
            "`bsky.app/profile/acme.bsky.social`, `mastodon.social/@acme` or `linkedin.com/company/acme`."
        )
    return account
