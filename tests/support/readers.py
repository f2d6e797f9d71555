"""A network reader in memory, scripted by the test: the threads it shows, the errors it raises, the
calls it got."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot.threads import Reply, Thread
from storage.channels import ensure_channel
from storage.models import Post

POST_AUTHOR_ID = "did:plc:acme"
POST_AUTHOR = "acme.bsky.social"


def reply(
    id: str,
    *,
    parent: str = "post",
    by: str = "ada.bsky.social",
    by_id: str | None = None,
    at: datetime,
    text: str | None = None,
) -> Reply:
    """A reply ``id`` under ``parent`` (the post's id is ``post``), by the handle ``by``."""
    return Reply(
        id=id,
        parent_id=parent,
        author_id=by_id or f"did:plc:{by.split('.')[0].split('@')[0]}",
        author=by,
        text=text or f"reply {id}",
        url=f"https://bsky.app/profile/{by}/post/{id}",
        written_at=at,
    )


def thread(
    *replies: Reply,
    network: str = "bluesky",
    created_at: datetime,
    shares: int = 0,
    quotes: int = 0,
    likes: int = 0,
    hidden: Sequence[str] = (),
) -> Thread:
    """The post ``post`` by the team's account, with ``replies``."""
    return Thread(
        network=network,
        post_id="post",
        target="at://did:plc:acme/app.bsky.feed.post/post",
        author_id=POST_AUTHOR_ID,
        author=POST_AUTHOR,
        created_at=created_at,
        replies=len(replies),
        shares=shares,
        quotes=quotes,
        likes=likes,
        replies_seen=tuple(replies),
        hidden=frozenset(hidden),
    )


@dataclass
class FakeReader:
    """A `bot.threads.Reader` whose answers the test sets: per post URL a thread, or an exception to
    raise (each call takes the next of ``script[url]`` while more than one is left, then repeats the
    last). ``still`` is what `still_there` says is still shown, or an exception it raises."""

    network: str = "bluesky"
    script: dict[str, list[Thread | Exception]] = field(default_factory=dict)
    still: set[str] | Exception = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    still_calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    targets: list[str | None] = field(default_factory=list)
    # Held by a test to keep a fetch in flight.
    gate: threading.Event | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def show(self, url: str, *answers: Thread | Exception) -> None:
        self.script[url] = list(answers)

    def thread(self, url: str, target: str | None) -> Thread:
        with self._lock:
            self.calls[url] += 1
            self.targets.append(target)
            answers = self.script[url]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if self.gate is not None:
            self.gate.wait(10)
        if isinstance(answer, Exception):
            raise answer
        return replace(answer, network=self.network)

    def still_there(self, url: str, reply_ids: Sequence[str]) -> set[str]:
        with self._lock:
            self.still_calls.append((url, tuple(reply_ids)))
        if isinstance(self.still, Exception):
            raise self.still
        return {i for i in reply_ids if i in self.still}


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def epoch(at: datetime) -> float:
    return at.astimezone(UTC).timestamp()


def watched_post(
    s: Session,
    team_id: str,
    channel_id: str,
    url: str,
    *,
    shared_at: datetime,
    owner: str = "U0ADA00001",
) -> int:
    """A Bluesky or Mastodon post shared in the channel (made if new); its id."""
    ensure_channel(s, team_id, channel_id, now=shared_at)
    post = Post(
        team_id=team_id,
        channel_id=channel_id,
        canonical_url=url,
        url=url,
        platform="mastodon" if "/@" in url else "bluesky",
        owner_user_id=owner,
        shared_at=shared_at,
    )
    s.add(post)
    s.flush()
    return post.id
