"""The Bluesky reader against the emulated public AppView: a thread read whole, the handle resolved once,
deleted, hidden and blocked replies, still_there in batches, and each way the network can refuse."""

from __future__ import annotations

import ast
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.threads import USER_AGENT, FetchError, PostGone, RateLimited, Reader
from bot.watch_bluesky import THREAD_DEPTH, BlueskyReader
from emulator import Emulator, EmulatorSettings
from emulator.bluesky_api import Bluesky, Post

THREAD = "app.bsky.feed.getPostThread"
POSTS = "app.bsky.feed.getPosts"
RESOLVE = "com.atproto.identity.resolveHandle"
ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(clock=clock)) as emulator:
        yield emulator


@pytest.fixture
def sky(emu: Emulator) -> Bluesky:
    return emu.state.bluesky


@pytest.fixture
def make_reader(emu: Emulator, clock: Clock) -> Iterator[Callable[..., BlueskyReader]]:
    """Readers on the emulator (or at ``api_url``), closed once the test is over."""
    made: list[BlueskyReader] = []

    def make(timeout: float = 2, api_url: str | None = None) -> BlueskyReader:
        made.append(BlueskyReader(api_url or emu.base_url + "/bluesky", timeout=timeout, clock=clock))
        return made[-1]

    yield make
    for reader in made:
        reader.close()


@pytest.fixture
def reader(make_reader: Callable[..., BlueskyReader]) -> BlueskyReader:
    return make_reader()


def test_it_is_a_reader(reader: BlueskyReader) -> None:
    as_reader: Reader = reader
    assert as_reader.network == "bluesky"


def test_a_thread_with_replies_at_several_depths_and_the_teams_answer(
    reader: BlueskyReader, sky: Bluesky
) -> None:
    written = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    root = sky.post("team.bsky.social", "our launch", created_at=written, reposts=4, likes=9, quotes=2)
    ada = sky.post(
        "ada.bsky.social", "congrats!", root.uri, created_at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    )
    team = sky.post("team.bsky.social", "thank you", ada.uri)
    bob = sky.post("bob.bsky.social", "and the price?", team.uri)
    cy = sky.post("cy.bsky.social", "when in Europe?", root.uri)

    thread = reader.thread(Bluesky.url(root), None)

    assert thread.network == "bluesky"
    assert thread.post_id == thread.target == root.uri
    assert thread.target == f"at://{root.author.did}/app.bsky.feed.post/{root.rkey}"
    assert (thread.author, thread.author_id, thread.created_at) == (
        "team.bsky.social",
        root.author.did,
        written,
    )
    assert (thread.replies, thread.shares, thread.quotes, thread.likes) == (2, 4, 2, 9)
    assert thread.hidden == frozenset()
    seen = {r.id: r for r in thread.replies_seen}
    assert set(seen) == {ada.uri, team.uri, bob.uri, cy.uri}
    assert {r.id: r.parent_id for r in thread.replies_seen} == {
        ada.uri: root.uri,
        team.uri: ada.uri,
        bob.uri: team.uri,
        cy.uri: root.uri,
    }
    first = seen[ada.uri]
    assert (first.author, first.author_id, first.text) == ("ada.bsky.social", ada.author.did, "congrats!")
    assert first.url == f"https://bsky.app/profile/ada.bsky.social/post/{ada.rkey}"
    assert first.written_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert seen[team.uri].author_id == root.author.did


def test_the_thread_is_asked_deep_with_no_parents(reader: BlueskyReader, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    parent = root
    for i in range(12):
        parent = sky.post(f"p{i}.bsky.social", f"level {i}", parent.uri)

    thread = reader.thread(Bluesky.url(root), None)

    assert len(thread.replies_seen) == 12
    (call,) = sky.calls(THREAD)
    assert call["query"]["depth"] == [str(THREAD_DEPTH)]
    assert call["query"]["parentHeight"] == ["0"]


def test_the_handle_is_resolved_once_and_never_with_a_target_or_a_did(
    make_reader: Callable[..., BlueskyReader], reader: BlueskyReader, sky: Bluesky
) -> None:
    root = sky.post("team.bsky.social", "post")

    first = reader.thread(Bluesky.url(root), None)
    reader.thread(Bluesky.url(root), None)
    assert len(sky.calls(RESOLVE)) == 1

    fresh = make_reader()
    fresh.thread(Bluesky.url(root), first.target)
    fresh.thread(f"https://bsky.app/profile/{root.author.did}/post/{root.rkey}", None)
    assert len(sky.calls(RESOLVE)) == 1
    assert len(sky.calls(THREAD)) == 4


def test_deleted_hidden_and_blocked_replies(reader: BlueskyReader, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    gone = sky.post("ada.bsky.social", "I take it back", root.uri)
    answered = sky.post("bob.bsky.social", "question", root.uri)
    under = sky.post("team.bsky.social", "answer", answered.uri)
    rude = sky.post("troll.bsky.social", "rude", root.uri)
    below_rude = sky.post("ada.bsky.social", "don't feed it", rude.uri)
    spam = sky.post("spam.bsky.social", "buy now", root.uri)
    sky.delete(gone.uri)
    sky.delete(answered.uri)
    sky.hide(rude.uri)
    sky.block(spam.uri)

    thread = reader.thread(Bluesky.url(root), None)

    assert thread.hidden == {answered.uri, rude.uri, spam.uri}
    assert {r.id: r.parent_id for r in thread.replies_seen} == {below_rude.uri: rude.uri}
    assert under.uri not in {r.id for r in thread.replies_seen}
    # Bluesky counts the direct replies still there, hidden and blocked ones included.
    assert thread.replies == 2


def test_still_there_asks_in_batches_of_25(reader: BlueskyReader, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    replies = [sky.post(f"fan{i}.bsky.social", f"reply {i}", root.uri) for i in range(30)]
    for deleted in replies[::7]:
        sky.delete(deleted.uri)

    there = reader.still_there(Bluesky.url(root), [r.uri for r in replies])

    assert there == {r.uri for r in replies} - {r.uri for r in replies[::7]}
    assert [len(c["query"]["uris"]) for c in sky.calls(POSTS)] == [25, 5]
    assert reader.still_there(Bluesky.url(root), []) == set()
    assert len(sky.calls(POSTS)) == 2


def test_a_429_pauses_the_reader_until_retry_after(reader: BlueskyReader, sky: Bluesky, clock: Clock) -> None:
    root = sky.post("team.bsky.social", "post")
    sky.fail(429, retry_after=120, method=THREAD)

    with pytest.raises(RateLimited) as limited:
        reader.thread(Bluesky.url(root), root.uri)
    assert limited.value.retry_at == clock.now + 120
    asked = len(sky.calls())

    clock.now += 119
    with pytest.raises(RateLimited) as again:
        reader.thread(Bluesky.url(root), root.uri)
    with pytest.raises(RateLimited):
        reader.still_there(Bluesky.url(root), [root.uri])
    assert again.value.retry_at == limited.value.retry_at
    assert len(sky.calls()) == asked

    clock.now += 1
    assert reader.thread(Bluesky.url(root), root.uri).post_id == root.uri
    assert len(sky.calls()) == asked + 1


def test_no_requests_remaining_pauses_until_the_window_resets(
    reader: BlueskyReader, sky: Bluesky, clock: Clock
) -> None:
    root = sky.post("team.bsky.social", "post")
    sky.enforce_limits(limit=1, window=60)
    reset = clock.now + 60

    assert reader.thread(Bluesky.url(root), root.uri).post_id == root.uri
    with pytest.raises(RateLimited) as limited:
        reader.thread(Bluesky.url(root), root.uri)

    assert limited.value.retry_at == reset
    assert len(sky.calls()) == 1
    clock.now = reset
    assert reader.thread(Bluesky.url(root), root.uri).post_id == root.uri


def test_an_enforced_limit_refused_is_rate_limited(
    make_reader: Callable[..., BlueskyReader], reader: BlueskyReader, sky: Bluesky, clock: Clock
) -> None:
    root = sky.post("team.bsky.social", "post")
    sky.enforce_limits(limit=1, window=60)
    other = make_reader()
    other.thread(Bluesky.url(root), root.uri)

    with pytest.raises(RateLimited) as limited:
        reader.thread(Bluesky.url(root), root.uri)

    assert limited.value.retry_at == clock.now + 60
    assert sky.calls()[-1]["status"] == 429


def test_a_server_error_is_a_fetch_error_and_no_pause(reader: BlueskyReader, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    sky.fail(500)
    with pytest.raises(FetchError) as failed:
        reader.thread(Bluesky.url(root), root.uri)
    assert not isinstance(failed.value, RateLimited)
    assert reader.thread(Bluesky.url(root), root.uri).post_id == root.uri

    sky.fail(502, method=POSTS)
    with pytest.raises(FetchError):
        reader.still_there(Bluesky.url(root), [root.uri])


def test_a_slow_answer_is_a_fetch_error(make_reader: Callable[..., BlueskyReader], sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    hurried = make_reader(timeout=0.3)
    sky.fail(200, delay=1.0)
    with pytest.raises(FetchError) as failed:
        hurried.thread(Bluesky.url(root), root.uri)
    assert not isinstance(failed.value, RateLimited)


def test_a_network_nobody_answers_is_a_fetch_error(make_reader: Callable[..., BlueskyReader]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = make_reader(api_url=f"http://127.0.0.1:{port}")
    with pytest.raises(FetchError):
        nowhere.thread("https://bsky.app/profile/did:plc:abc/post/3abc", None)


def test_a_deleted_post_or_an_unknown_handle_is_gone(reader: BlueskyReader, sky: Bluesky) -> None:
    root: Post = sky.post("team.bsky.social", "post")
    sky.delete(root.uri)
    with pytest.raises(PostGone):
        reader.thread(Bluesky.url(root), root.uri)
    with pytest.raises(PostGone):
        reader.thread(Bluesky.url(root), None)
    with pytest.raises(PostGone):
        reader.thread("https://bsky.app/profile/nobody.bsky.social/post/3abc", None)


def test_it_says_who_it_is(reader: BlueskyReader, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    reader.thread(Bluesky.url(root), None)
    reader.still_there(Bluesky.url(root), [root.uri])
    assert {c["user_agent"] for c in sky.calls()} == {USER_AGENT}


def test_only_the_reader_imports_the_atproto_sdk() -> None:
    importers = set()
    for package in ("bot", "handlers", "storage", "twoway"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(n.split(".")[0] in ("atproto", "atproto_client", "atproto_core") for n in names):
                    importers.add(path.relative_to(ROOT).as_posix())
    assert importers == {"bot/watch_bluesky.py"}


def test_the_process_serving_slack_loads_no_atproto() -> None:
    probe = (
        "import sys, twoway.cli, twoway.bolt_app, twoway.http_server, handlers; "
        "print(sorted(m for m in sys.modules if m.startswith('atproto') or m == 'bot.watch_bluesky'))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
