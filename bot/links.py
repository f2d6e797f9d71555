"""Post links in Slack messages: which links are posts, on which platform, under which canonical URL.

A post is identified by its canonical URL, so two people sharing the same post with different
tracking parameters, letter case or trailing slashes must land on the same string. Everything
here is pure and total: junk in, no links out, never an exception.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import idna

from bot.text import unescape

PLATFORMS: tuple[str, ...] = (
    "x",
    "facebook",
    "linkedin",
    "instagram",
    "threads",
    "mastodon",
    "bluesky",
    "youtube",
    "reddit",
    "tiktok",
    "medium",
    "blog",
)

PLATFORM_NAMES: dict[str, str] = {
    "x": "X",
    "facebook": "Facebook",
    "linkedin": "LinkedIn",
    "instagram": "Instagram",
    "threads": "Threads",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "youtube": "YouTube",
    "reddit": "Reddit",
    "tiktok": "TikTok",
    "medium": "Medium",
    "blog": "Blog",
}


@dataclass(frozen=True)
class PostLink:
    url: str
    canonical_url: str
    platform: str


_Segments = list[str]
_Query = list[tuple[str, str]]


@dataclass(frozen=True)
class _Site:
    platform: str
    host: str | None  # None keeps the host as shared
    # _Query parameters this site adds for tracking or display only; None when the path alone
    # names the post, so that the whole query is noise.
    noise: frozenset[str] | None = frozenset()
    rewrite: Callable[[_Segments, _Query], tuple[str, _Segments, _Query]] | None = None


# Dropped on every host: nobody uses these names for anything but attribution.
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "twclid",
        "yclid",
        "igshid",
        "si",
        "mc_cid",
        "mc_eid",
        "ref_src",
        "ref_url",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
    }
)


# The parameters that turn a Facebook post's link into one of its comments' permalinks.
_FB_COMMENT = ("comment_id", "reply_comment_id", "comment_tracking")


def _is_tracking(name: str, site: _Site | None) -> bool:
    name = name.lower()
    if name.startswith("utm_") or name in _TRACKING:
        return True
    return site is not None and site.noise is not None and name in site.noise


def _rewrite_x(segments: _Segments, query: _Query) -> tuple[str, _Segments, _Query]:
    # Screen names are case-insensitive and /photo/1, /analytics etc. are views of the same post.
    if len(segments) >= 3 and segments[1] in ("status", "statuses") and _is_number(segments[2]):
        user = segments[0]
        return "x.com", [user.lower() if "%" not in user else user, "status", segments[2]], query
    return "x.com", segments, query


def _rewrite_youtube(segments: _Segments, query: _Query) -> tuple[str, _Segments, _Query]:
    # Short links, Shorts, live and embed URLs all show the same video as watch?v=ID, and on
    # /watch the video ID is the only parameter that names the post (t, list, index are views).
    if len(segments) == 2 and segments[0] in ("shorts", "live", "embed", "v") and segments[1]:
        return "youtube.com", ["watch"], [("v", unquote(segments[1], errors="surrogateescape"))]
    if segments == ["watch"] and any(name == "v" for name, _ in query):
        return "youtube.com", segments, [(name, value) for name, value in query if name == "v"]
    return "youtube.com", segments, query


def _rewrite_youtu_be(segments: _Segments, query: _Query) -> tuple[str, _Segments, _Query]:
    if len(segments) == 1 and segments[0]:
        return "youtube.com", ["watch"], [("v", unquote(segments[0], errors="surrogateescape"))]
    return "youtu.be", segments, query


def _rewrite_reddit(segments: _Segments, query: _Query) -> tuple[str, _Segments, _Query]:
    # A post is its id: /r/Sub/comments/ID/any_title, /comments/ID and a comment's permalink under it
    # (/comments/ID/comment/CID, /comments/ID/slug/CID) are all reddit.com/comments/ID.
    start = 2 if len(segments) >= 4 and segments[0] in ("r", "u", "user") else 0
    if len(segments) > start + 1 and segments[start] == "comments" and segments[start + 1]:
        return "reddit.com", ["comments", segments[start + 1].lower()], []
    if len(segments) >= 2 and segments[0] == "r" and "%" not in segments[1]:
        # Subreddit names are case-insensitive.
        segments = ["r", segments[1].lower(), *segments[2:]]
    return "reddit.com", segments, query


def _rewrite_redd_it(segments: _Segments, query: _Query) -> tuple[str, _Segments, _Query]:
    # redd.it/ID is Reddit's own short form of reddit.com/comments/ID (but i.redd.it is an image).
    if len(segments) == 1 and segments[0]:
        return "reddit.com", ["comments", segments[0].lower()], []
    return "redd.it", segments, query


# LinkedIn names one post by its urn, in /feed/update/urn:li:activity:ID, /embed/feed/update/urn:…,
# and in /posts/acme_launch-activity-ID-abcd; activity, ugcPost and share urns are kept apart.
_LINKEDIN_KINDS = {"activity": "activity", "ugcpost": "ugcPost", "share": "share"}
_LINKEDIN_URN = re.compile(r"urn:li:(activity|ugcpost|share):(\d+)", re.IGNORECASE)
_LINKEDIN_SLUG = re.compile(r"(?:^|[-_])(activity|ugcpost|share)-(\d+)(?=-|$)", re.IGNORECASE)


def _rewrite_linkedin(segments: _Segments, query: _Query) -> tuple[str, _Segments, _Query]:
    found: list[tuple[str, str]] = []
    if segments[:1] == ["embed"]:
        segments = segments[1:]
    if len(segments) == 3 and segments[:2] == ["feed", "update"]:
        found = _LINKEDIN_URN.findall(unquote(segments[2]))
    elif len(segments) == 2 and segments[0] == "posts":
        found = _LINKEDIN_SLUG.findall(unquote(segments[1]))
    if len(found) >= 1 and _is_number(found[-1][1]):
        kind, number = found[-1]
        return "linkedin.com", ["feed", "update", f"urn:li:{_LINKEDIN_KINDS[kind.lower()]}:{number}"], []
    return "linkedin.com", segments, query


_INSTAGRAM_KINDS = frozenset({"p", "reel", "reels", "tv"})


def _rewrite_instagram(segments: _Segments, query: _Query) -> tuple[str, _Segments, _Query]:
    # /p/CODE, /reel/CODE, /reels/CODE, /tv/CODE and /<user>/p/CODE are one post, its shortcode.
    for kind_at in (0, 1):
        if len(segments) > kind_at + 1 and segments[kind_at] in _INSTAGRAM_KINDS and segments[kind_at + 1]:
            return "instagram.com", ["p", segments[kind_at + 1]], []
    return "instagram.com", segments, query


def _rewrite_tiktok(segments: _Segments, query: _Query) -> tuple[str, _Segments, _Query]:
    # A video is its id, whoever's name is in the link: /@acme/video/ID, /embed/v2/ID, /v/ID.html.
    match segments:
        case [user, ("video" | "photo") as kind, item, *_] if user.startswith("@") and _is_number(item):
            return "tiktok.com", ["@", kind, item], []
        case ["embed", "v2", item] | ["embed", item] if _is_number(item):
            return "tiktok.com", ["@", "video", item], []
        case ["v", page] if page.endswith(".html") and _is_number(page.removesuffix(".html")):
            return "tiktok.com", ["@", "video", page.removesuffix(".html")], []
    return "tiktok.com", segments, query


# The whole query is noise where the path alone names the post.
_PATH_ONLY = None


def _sites() -> dict[str, _Site]:
    table: list[tuple[_Site, tuple[str, ...]]] = [
        (
            _Site("x", "x.com", frozenset({"s", "t"}), _rewrite_x),
            ("x.com", "twitter.com", "mobile.twitter.com", "m.twitter.com", "mobile.x.com"),
        ),
        (
            _Site(
                "facebook",
                "facebook.com",
                # story_fbid, id, fbid, v and set name posts on Facebook, so only known noise goes.
                # A comment's permalink is its post's link with the comment's id added.
                frozenset(
                    {"mibextid", "rdid", "share_url", "ref", "__tn__", "__cft__[0]", "_rdr", *_FB_COMMENT}
                ),
            ),
            (
                "facebook.com",
                "m.facebook.com",
                "mobile.facebook.com",
                "web.facebook.com",
                "touch.facebook.com",
                "mbasic.facebook.com",
                "fb.com",
            ),
        ),
        (_Site("facebook", "fb.watch", _PATH_ONLY), ("fb.watch",)),
        (
            _Site("linkedin", "linkedin.com", _PATH_ONLY, _rewrite_linkedin),
            ("linkedin.com", "m.linkedin.com"),
        ),
        (_Site("linkedin", "lnkd.in", _PATH_ONLY), ("lnkd.in",)),
        (
            _Site("instagram", "instagram.com", _PATH_ONLY, _rewrite_instagram),
            ("instagram.com", "m.instagram.com", "instagr.am"),
        ),
        # Threads moved from threads.net to threads.com; old links redirect to the same post.
        (_Site("threads", "threads.com", _PATH_ONLY), ("threads.com", "threads.net")),
        (_Site("bluesky", "bsky.app", _PATH_ONLY), ("bsky.app",)),
        (
            _Site("youtube", "youtube.com", frozenset({"feature", "pp", "ab_channel"}), _rewrite_youtube),
            ("youtube.com", "m.youtube.com"),
        ),
        (_Site("youtube", "youtu.be", frozenset({"feature", "t"}), _rewrite_youtu_be), ("youtu.be",)),
        (
            _Site("reddit", "reddit.com", _PATH_ONLY, _rewrite_reddit),
            ("reddit.com", "old.reddit.com", "new.reddit.com", "m.reddit.com", "np.reddit.com"),
        ),
        (_Site("reddit", "redd.it", _PATH_ONLY, _rewrite_redd_it), ("redd.it",)),
        (_Site("tiktok", "tiktok.com", _PATH_ONLY, _rewrite_tiktok), ("tiktok.com", "m.tiktok.com")),
        (_Site("tiktok", "vm.tiktok.com", _PATH_ONLY), ("vm.tiktok.com",)),
        (_Site("tiktok", "vt.tiktok.com", _PATH_ONLY), ("vt.tiktok.com",)),
        (_Site("medium", "medium.com", _PATH_ONLY), ("medium.com",)),
    ]
    return {alias: site for site, aliases in table for alias in aliases}


_SITES = _sites()
_MEDIUM_SUBDOMAIN = _Site("medium", None, _PATH_ONLY)

_SLACK_DOMAINS = ("slack.com", "slack-files.com", "slack-edge.com", "slack-redir.net")
_MEDIA_HOSTS = frozenset({"pbs.twimg.com", "video.twimg.com", "i.ytimg.com", "i.redd.it", "i.imgur.com"})
_MEDIA_DOMAINS = ("fbcdn.net", "cdninstagram.com")
_PHOTOS = (".png", ".jpg", ".jpeg", ".gif", ".gifv", ".webp", ".avif", ".heic", ".heif")
_GRAPHICS = (".svg", ".bmp", ".ico", ".tif", ".tiff")
_VIDEO = (".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv")
_AUDIO = (".mp3", ".m4a", ".wav", ".ogg", ".flac", ".aac")
_MEDIA_EXTENSIONS = frozenset((*_PHOTOS, *_GRAPHICS, *_VIDEO, *_AUDIO, ".pdf", ".zip"))

_HOST_CHARACTERS = frozenset(string.ascii_lowercase + string.digits + "-_.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 characters that may stand unescaped in a path segment or a query part.
_PATH_SAFE = "!$&'()*+,;=:@"
_QUERY_SAFE = "!$'()*,;:@/?"


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _on_domain(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def _site_of(host: str) -> _Site | None:
    if host in _SITES:
        return _SITES[host]
    if host.endswith(".medium.com"):
        return _MEDIUM_SUBDOMAIN
    return None


def _normal_host(hostname: str) -> str | None:
    if ":" in hostname:
        return f"[{ipaddress.IPv6Address(hostname).compressed}]"
    if not hostname.isascii():
        hostname = idna.encode(hostname, uts46=True).decode("ascii")
    hostname = hostname.lower().removesuffix(".")
    if not hostname or not set(hostname) <= _HOST_CHARACTERS or "" in hostname.split("."):
        return None
    # www. is the same site by convention everywhere; other prefixes only where the table says so.
    while hostname.startswith("www.") and "." in hostname[4:]:
        hostname = hostname[4:]
    return hostname


def _normal_segment(segment: str) -> str:
    # Decoding then re-encoding makes %7E, ~ and %7e one spelling; a decoded / is re-escaped
    # because the segment boundaries were fixed before decoding.
    return quote(unquote(segment, errors="surrogateescape"), safe=_PATH_SAFE, errors="surrogateescape")


# Redirect wrappers (search results, link shims, mail scanners) and the parameter naming their target.
_GOOGLE = re.compile(r"google(\.[a-z]{2,3}){1,2}")
_WRAPPER_DEPTH = 4


def _wrapper_parameters(host: str, path: str) -> tuple[str, ...]:
    host = host.removeprefix("www.")
    if _GOOGLE.fullmatch(host) and path == "/url":
        return ("q", "url")
    if host in ("l.facebook.com", "lm.facebook.com") and path == "/l.php":
        return ("u",)
    if host == "l.instagram.com" and path in ("", "/"):
        return ("u",)
    if host == "linkedin.com" and path.rstrip("/") == "/redir/redirect":
        return ("url",)
    if host == "slack-redir.net" and path == "/link":
        return ("url",)
    if host.endswith(".safelinks.protection.outlook.com"):
        return ("url",)
    return ()


def _wrapped(url: str) -> str | None:
    """The link a redirect wrapper leads to, or None when ``url`` is no wrapper of an http(s) link."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        return None
    names = _wrapper_parameters((parts.hostname or "").rstrip("."), parts.path)
    for name, value in parse_qsl(parts.query, errors="surrogateescape"):
        target = value.strip()
        if name in names and urlsplit(target).scheme.lower() in _DEFAULT_PORTS:
            return target
    return None


def unwrap(url: str) -> str | None:
    """The link inside redirect wrappers (Google's /url?q=, Facebook's and Instagram's link shims,
    LinkedIn's redirect, slack-redir.net, Outlook safelinks), nested ones too; ``url`` itself when it
    is no wrapper, None when wrappers nest deeper than anyone shares."""
    try:
        for _ in range(_WRAPPER_DEPTH + 1):
            target = _wrapped(url.strip())
            if target is None:
                return url.strip()
            url = target
    except ValueError:
        return url.strip()
    return None


def canonical_url(url: str) -> str | None:
    """The canonical form of an http(s) URL, or None if it isn't one."""
    target = unwrap(url)
    if target is None:
        return None
    try:
        return _canonical(target)
    except ValueError:  # urllib, ipaddress and idna all reject malformed input this way
        return None


def _canonical(url: str) -> str | None:
    url = url.strip()
    # Whitespace, control and invisible characters never belong in a URL someone shared.
    if not url or " " in url or not url.isprintable():
        return None
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or "\\" in parts.netloc:
        return None
    host = _normal_host(parts.hostname)
    port = parts.port
    if host is None or port == 0:
        return None
    scheme = parts.scheme
    site = _site_of(host)
    segments = [_normal_segment(s) for s in parts.path.split("/")[1:]]
    while segments and not segments[-1]:
        segments.pop()
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True, errors="surrogateescape")
        if not _is_tracking(name, site)
    ]
    if site is not None:
        # Every platform serves only https, so http:// links to them are the same post.
        scheme, port = "https", None
        if site.noise is None:
            query = []
        if site.rewrite is not None:
            host, segments, query = site.rewrite(segments, query)
        elif site.host is not None:
            host = site.host
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    encoded_query = urlencode(
        sorted(query, key=lambda pair: pair[0]), quote_via=quote, safe=_QUERY_SAFE, errors="surrogateescape"
    )
    return urlunsplit((scheme, netloc, "/" + "/".join(segments), encoded_query, ""))


def _is_mastodon_status(segments: _Segments) -> bool:
    match segments:
        case [user, status] if user.startswith("@") and len(user) > 1 and _is_number(status):
            return True
        case ["users", user, "statuses", status] if user and _is_number(status):
            return True
    return False


def platform_of(canonical: str) -> str:
    """The platform a canonical URL belongs to, one of PLATFORMS; "blog" for any other site."""
    parts = urlsplit(canonical_url(canonical) or "")
    site = _site_of(parts.hostname or "")
    if site is not None:
        return site.platform
    if _is_mastodon_status(parts.path.split("/")[1:]):
        return "mastodon"
    return "blog"


def _is_media(canonical: str) -> bool:
    parts = urlsplit(canonical)
    host = parts.hostname or ""
    if host in _MEDIA_HOSTS or _on_domain(host, _MEDIA_DOMAINS):
        return True
    extension = posixpath.splitext(unquote(parts.path.rsplit("/", 1)[-1]))[1]
    return extension.lower() in _MEDIA_EXTENSIONS


def parse_post_link(url: str) -> PostLink | None:
    """The post a URL links to, or None if it isn't a published post; ``url`` is the link without
    its redirect wrappers.

    Not posts: anything but http(s) (mailto:, slack://), Slack's own pages and files, and links
    straight to images, video, audio or documents.
    """
    target = unwrap(url)
    canonical = canonical_url(url)
    if canonical is None or target is None:
        return None
    host = urlsplit(canonical).hostname or ""
    if _on_domain(host, _SLACK_DOMAINS) or _is_media(canonical):
        return None
    return PostLink(url=target, canonical_url=canonical, platform=platform_of(canonical))


def comment_link(url: str) -> str | None:
    """The link itself, without redirect wrappers, when it is a comment's permalink (Facebook's
    ``?comment_id=``/``reply_comment_id=``, Reddit's /comments/ID/comment/CID and
    /comments/ID/slug/CID), whose post is its ``canonical_url``; else None."""
    target = unwrap(url)
    if target is None or canonical_url(target) is None:
        return None
    parts = urlsplit(target)
    site = _site_of(_normal_host(parts.hostname or "") or "")
    if site is None:
        return None
    if site.platform == "facebook":
        names = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
        return target if names & {"comment_id", "reply_comment_id"} else None
    if site.platform == "reddit":
        segments = [segment for segment in parts.path.split("/")[1:] if segment]
        start = 2 if segments[:1] in (["r"], ["u"], ["user"]) else 0
        after = segments[start:]
        if after[:1] == ["comments"] and len(after) == 4:
            return target
    return None


# Links that name a post only through the place they redirect to, which only asking tells.
_SHORT_HOSTS = frozenset(
    {"lnkd.in", "vm.tiktok.com", "vt.tiktok.com", "t.co", "bit.ly", "buff.ly", "ow.ly", "fb.me", "fb.watch"}
)


def is_short_link(canonical: str) -> bool:
    """Whether a canonical URL is a short link, resolved over the network to its post."""
    parts = urlsplit(canonical)
    host = parts.hostname or ""
    segments = [segment for segment in parts.path.split("/")[1:] if segment]
    if host in _SHORT_HOSTS:
        return bool(segments)
    match host, segments:
        case ("tiktok.com", ["t", _]) | ("reddit.com", ["r", _, "s", _]):
            return True
    return False


# Code spans go first so that a link shown as code is never read as a link.
_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
# Slack's <target|label> markup, or a bare URL from a client that didn't wrap it.
_LINK_MARKUP = re.compile(r"<([^<>]*)>|\bhttps?://[^\s<>]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"*"
_CLOSERS = {")": "(", "]": "["}


def _trim_bare(url: str) -> str:
    for stop in '<>"':
        url = url.split(stop, 1)[0]
    # A closing bracket stays when it closes one inside the URL, as in Wikipedia's Foo_(bar).
    unmatched = {closer: url.count(closer) - url.count(opener) for closer, opener in _CLOSERS.items()}
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _CLOSERS and unmatched[last] > 0:
            unmatched[last] -= 1
        elif last not in _TRAILING:
            break
        end -= 1
    return url[:end]


def _urls_in_text(text: str) -> Iterator[str]:
    for match in _LINK_MARKUP.finditer(_CODE.sub(" ", text)):
        target = match.group(1)
        if target is None:
            yield _trim_bare(unescape(match.group(0)))
        elif not target.startswith(("@", "#", "!")):
            yield unescape(target.split("|", 1)[0])


def _is_code(element: dict[Any, Any]) -> bool:
    style = element.get("style")
    return element.get("type") == "rich_text_preformatted" or (
        isinstance(style, dict) and style.get("code") is True
    )


def _urls_in_blocks(blocks: object) -> Iterator[str]:
    if not isinstance(blocks, list):
        return
    # An explicit stack rather than recursion: block JSON comes from outside and may nest deeply.
    stack: list[object] = [
        block for block in reversed(blocks) if isinstance(block, dict) and block.get("type") == "rich_text"
    ]
    while stack:
        element = stack.pop()
        if not isinstance(element, dict) or _is_code(element):
            continue
        url = element.get("url")
        if element.get("type") == "link" and isinstance(url, str):
            yield url
        children = element.get("elements")
        if isinstance(children, list):
            stack.extend(reversed(children))


def links_in_message(text: str, blocks: list[dict[str, Any]] | None = None) -> list[PostLink]:
    """Every post link in a Slack message, once per canonical URL, in order of appearance.

    Blocks come first because they are what the author's client actually rendered; text adds
    links that only it carries (bots and older clients send text alone).
    """
    found: dict[str, PostLink] = {}
    text_urls = _urls_in_text(text) if isinstance(text, str) else iter(())
    for url in (*_urls_in_blocks(blocks), *text_urls):
        link = parse_post_link(url)
        if link is not None and link.canonical_url not in found:
            found[link.canonical_url] = link
    return list(found.values())


def normal_host(hostname: str) -> str | None:
    """A host as post links are compared by: lower-cased, IDNA-encoded, ``www.`` dropped; None if it
    can't be a host."""
    try:
        return _normal_host(hostname)
    except ValueError:
        return None


def network_of(host: str) -> tuple[str, str | None] | None:
    """The social network a normalised host belongs to and the host it goes by there (``twitter.com``
    is ``x.com``; None for a Medium subdomain, which keeps its own), or None for any other site."""
    site = _site_of(host)
    return None if site is None else (site.platform, site.host)
