"""A realistic team's fortnight in #social, played through the emulator as people would post it.

Ada answers her audience; Grace mostly does; Linus broadcasts: his last four posts drew comments
and he never replied. Some comments were answered, some still wait, two of them for days. The
replies under the team's Bluesky and Mastodon posts are on those networks, where twoway reads them
itself: nobody copies them into Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

TEAM = "T0TWOWAY1"
CHANNEL = "C0SOCIAL01"
ADA, GRACE, LINUS = "U0ADA00001", "U0GRACE001", "U0LINUS001"


@dataclass(frozen=True)
class Share:
    """Someone shares a post; later, a summary of its numbers arrives in its thread."""

    key: str
    days_ago: float
    user: str
    text: str
    summary: str | None = None
    summary_after_hours: float = 30


@dataclass(frozen=True)
class Flag:
    """Someone quotes an audience comment under a post and flags it; maybe it gets answered."""

    on: str
    hours_after_share: float
    quoted_by: str
    text: str
    flagged_by: str
    answered_after_hours: float | None = None


SHARES: tuple[Share, ...] = (
    # The fortnight before last week: what the digest compares with.
    Share(
        "ada-x-1",
        13.2,
        ADA,
        "New thread on how we pick what to build next: https://x.com/twoway_app/status/1853000000000000001",
        "18 comments, 11 replies, 9 reposts, 240 likes",
    ),
    Share(
        "linus-blog-1",
        12.4,
        LINUS,
        "Release notes are up https://blog.twoway.example/2026/release-4-2?utm_source=slack",
        "comments=6 replies=0 shares=2 likes=31",
    ),
    Share(
        "grace-ig-1",
        11.1,
        GRACE,
        "Behind the scenes from the offsite 📸 https://www.instagram.com/p/C7offsite01/",
        "42 comments, 17 replies, 1.1k likes",
    ),
    Share(
        "linus-bsky-1",
        9.6,
        LINUS,
        "Posted the benchmark numbers https://bsky.app/profile/twoway.bsky.social/post/3kbench01",
        "comments=9 replies=0 shares=14 likes=88",
    ),
    Share(
        "ada-li-1",
        8.3,
        ADA,
        "We're hiring a support engineer "
        "https://www.linkedin.com/posts/twoway_hiring-activity-7260000000000000001-aBcD",
        "7 comments, 7 replies, 12 shares, 150 likes",
    ),
    # Last week: what this digest is about.
    Share(
        "linus-blog-2",
        6.4,
        LINUS,
        "Deep dive: how sync works offline https://blog.twoway.example/2026/offline-sync",
        "comments=12 replies=0 shares=5 likes=64",
    ),
    Share(
        "grace-masto-1",
        5.7,
        GRACE,
        "Accessibility update, thread 🧵 https://mastodon.social/@twoway/113500000000000001",
        "23 comments, 15 replies, 31 boosts, 97 favourites",
    ),
    Share(
        "ada-x-2",
        4.9,
        ADA,
        "Launch day! https://twitter.com/twoway_app/status/1856000000000000002?s=20",
        "64 comments, 38 replies, 120 retweets, 2.4k likes",
    ),
    Share(
        "linus-bsky-2",
        3.6,
        LINUS,
        "Changelog for 4.3 https://bsky.app/profile/twoway.bsky.social/post/3kchange02",
        "comments=5 replies=0 shares=3 likes=40",
    ),
    Share(
        "grace-yt-1",
        2.8,
        GRACE,
        "The launch video is live https://youtu.be/tw0wayLaunch?si=share123",
        "31 comments, 4 replies, 18 shares, 410 likes",
    ),
    Share(
        "ada-blog-1",
        2.0,
        ADA,
        "Our post on answering every comment https://blog.twoway.example/2026/answer-everyone",
        None,
    ),
)

FLAGS: tuple[Flag, ...] = (
    Flag("ada-x-1", 3, GRACE, "@maria_dev: will the roadmap be public?", ADA, answered_after_hours=5),
    Flag("grace-ig-1", 6, ADA, "@tom_k: where was this? looks amazing", GRACE, answered_after_hours=20),
    Flag("linus-bsky-1", 8, GRACE, "@perf_nerd: which hardware did you run these on?", GRACE),
    Flag("linus-blog-2", 4, ADA, "@sam: does offline sync handle conflicts on two phones?", ADA),
    Flag("ada-x-2", 2, GRACE, "@li_wei: is there an Android version yet?", GRACE, answered_after_hours=3),
    Flag("ada-x-2", 5, LINUS, "@priya: pricing for nonprofits?", LINUS, answered_after_hours=30),
    Flag("grace-yt-1", 10, ADA, "@jo: can you add captions in Spanish?", ADA),
    Flag("grace-masto-1", 7, LINUS, "@alex@fosstodon.org: screen reader support on Linux?", GRACE),
    # Flagged on Saturday: its nudge waits for Monday morning.
    Flag("ada-blog-1", 3, GRACE, "@dana: do you have a template for replies?", GRACE),
)


@dataclass(frozen=True)
class OnNetwork:
    """A share's post on Bluesky or Mastodon as the network holds it, with its reposts and likes."""

    network: str
    author: str
    text: str
    shares: int
    likes: int


@dataclass(frozen=True)
class Heard:
    """A reply on the network under one of those posts, or under another reply (``answers``); ``by`` is
    a Bluesky handle, or a Mastodon account as ``user@instance`` (``twoway`` alone: the team's own)."""

    on: str
    key: str
    hours_after_share: float
    by: str
    text: str
    answers: str | None = None


ON_NETWORKS: dict[str, OnNetwork] = {
    "linus-bsky-1": OnNetwork("bluesky", "twoway.bsky.social", "The benchmark numbers for 4.2", 14, 88),
    "grace-masto-1": OnNetwork("mastodon", "twoway", "Accessibility update, a thread", 31, 97),
    "linus-bsky-2": OnNetwork("bluesky", "twoway.bsky.social", "What changed in 4.3", 3, 40),
}

HEARD: tuple[Heard, ...] = (
    # Grace flags this one in Slack half an hour later; twoway finds it on Bluesky as that comment.
    Heard("linus-bsky-1", "hardware", 7.5, "perf-nerd.bsky.social", "Which hardware did you run these on?"),
    Heard(
        "grace-masto-1", "contrast", 3, "lena@chaos.social", "Will the high-contrast theme come to mobile?"
    ),
    Heard(
        "grace-masto-1",
        "contrast-yes",
        5,
        "twoway",
        "Yes! It ships with the next mobile release.",
        "contrast",
    ),
    Heard("grace-masto-1", "linux", 6.9, "alex@fosstodon.org", "screen reader support on Linux?"),
    # A follow-up to the team's answer: a new comment, the depth no summary shows.
    Heard(
        "grace-masto-1", "contrast-when", 8, "lena@chaos.social", "Lovely! Any date for it?", "contrast-yes"
    ),
    Heard("linus-bsky-2", "sync", 2, "maria.bsky.social", "Does 4.3 fix the offline sync bug?"),
    Heard("linus-bsky-2", "guide", 5, "tom.bsky.social", "Is there a migration guide from 4.2?"),
)
# twoway's sweep ran every few hours of the fortnight, until Sunday noon; Monday 09:00 is the demo's.
SWEEP_EVERY = timedelta(hours=6)
LAST_SWEEP_BEFORE_MONDAY = timedelta(hours=21)


def at(now: datetime, days_ago: float, hours_after: float = 0) -> datetime:
    return now - timedelta(days=days_ago) + timedelta(hours=hours_after)
