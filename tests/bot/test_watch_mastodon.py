"""The Mastodon reader against the emulator's instances: a thread and its counts, replies at every depth,
what deletion does, `still_there`, and how rate limits, failures and timeouts reach the contract."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from bot.threads import USER_AGENT, FetchError, PostGone, RateLimited, Reader
from bot.watch_mastodon import MastodonReader, plain_text, status_of
from emulator import Emulator
from emulator.mastodon_api import CONTEXT_ROUTE, STATUS_ROUTE, MastodonFault

SOCIAL = "mastodon.social"
FOSSTODON = "fosstodon.org"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def reader(emu: Emulator) -> MastodonReader:
    return MastodonReader(emu.base_url + "/mastodon", timeout=2)


def link(status_id: str, user: str = "team", instance: str = SOCIAL) -> str:
    return f"https://{instance}/@{user}/{status_id}"


def test_a_thread_holds_the_post_its_counts_and_every_reply(emu: Emulator, reader: MastodonReader) -> None:
    mastodon = emu.state.mastodon
    written = datetime(2026, 11, 30, 9, 15, 0, 250000, tzinfo=UTC)
    root = mastodon.post(
        SOCIAL, "team", "<p>We shipped!</p>", reblogs=12, favourites=40, created_at=written.timestamp()
    )
    ada = mastodon.post(SOCIAL, f"ada@{FOSSTODON}", "<p>Does it work offline?</p>", in_reply_to=root)
    ours = mastodon.post(SOCIAL, "team", '<p>It does, <span class="h-card">@ada</span></p>', in_reply_to=ada)
    deeper = mastodon.post(SOCIAL, "bob", "<p>Nice<br>thanks</p>", in_reply_to=ours)
    carol = mastodon.post(SOCIAL, "carol", "Congrats", in_reply_to=root)

    thread = reader.thread(link(root), None)

    assert (thread.network, thread.post_id, thread.target) == ("mastodon", root, f"{SOCIAL}/{root}")
    assert (thread.author, thread.author_id) == (f"team@{SOCIAL}", f"https://{SOCIAL}/@team")
    assert thread.created_at == written
    assert (thread.replies, thread.shares, thread.quotes, thread.likes) == (2, 12, 0, 40)
    assert thread.hidden == frozenset()
    seen = {r.id: r for r in thread.replies_seen}
    assert {i: seen[i].parent_id for i in seen} == {ada: root, ours: ada, deeper: ours, carol: root}
    assert (seen[ada].author, seen[ada].author_id) == (f"ada@{FOSSTODON}", f"https://{FOSSTODON}/@ada")
    assert seen[ada].url == f"https://{FOSSTODON}/@ada/{ada}"
    # The team's own reply carries the post author's id, which is how it is told apart.
    assert seen[ours].author_id == thread.author_id
    assert seen[ours].url == f"https://{SOCIAL}/@team/{ours}"
    assert (seen[ada].text, seen[ours].text, seen[deeper].text) == (
        "Does it work offline?",
        "It does, @ada",
        "Nice\nthanks",
    )
    assert all(r.written_at.tzinfo is not None for r in thread.replies_seen)


def test_the_target_and_both_link_forms_reach_the_same_status(emu: Emulator, reader: MastodonReader) -> None:
    root = emu.state.mastodon.post(SOCIAL, "team", "hello")

    first = reader.thread(f"https://{SOCIAL}/users/team/statuses/{root}", None)
    again = reader.thread(link(root), first.target)

    assert first.post_id == again.post_id == root
    assert [c["path"] for c in emu.state.mastodon.calls()] == [
        f"/api/v1/statuses/{root}",
        f"/api/v1/statuses/{root}/context",
    ] * 2


def test_a_deleted_reply_is_absent_and_a_deleted_post_is_gone(emu: Emulator, reader: MastodonReader) -> None:
    mastodon = emu.state.mastodon
    root = mastodon.post(SOCIAL, "team", "hello")
    kept = mastodon.post(SOCIAL, "ada", "kept", in_reply_to=root)
    gone = mastodon.post(SOCIAL, "bob", "gone", in_reply_to=root)
    mastodon.post(SOCIAL, "carol", "followers only", in_reply_to=root, visibility="private")
    mastodon.delete(SOCIAL, gone)

    thread = reader.thread(link(root), None)
    assert [r.id for r in thread.replies_seen] == [kept]
    assert thread.replies == 1
    # Mastodon hides nothing on the author's say: what the context leaves out is just absent.
    assert thread.hidden == frozenset()

    mastodon.delete(SOCIAL, root)
    with pytest.raises(PostGone):
        reader.thread(link(root), thread.target)


def test_still_there_asks_each_reply_once(emu: Emulator, reader: MastodonReader) -> None:
    mastodon = emu.state.mastodon
    root = mastodon.post(SOCIAL, "team", "hello")
    kept = mastodon.post(SOCIAL, "ada", "kept", in_reply_to=root)
    gone = mastodon.post(SOCIAL, "bob", "gone", in_reply_to=root)
    mastodon.delete(SOCIAL, gone)

    assert reader.still_there(link(root), [kept, gone, "1", kept]) == {kept}
    assert [c["path"] for c in mastodon.calls()] == [f"/api/v1/statuses/{i}" for i in (kept, gone, "1")]


def test_a_429_with_retry_after_pauses_the_instance_without_asking_again(
    emu: Emulator, reader: MastodonReader
) -> None:
    mastodon = emu.state.mastodon
    root = mastodon.post(SOCIAL, "team", "hello")
    other = mastodon.post(FOSSTODON, "ada", "elsewhere")
    mastodon.add_fault(MastodonFault(status=429, retry_after=30, instance=SOCIAL))

    before = time.time()
    with pytest.raises(RateLimited) as raised:
        reader.thread(link(root), None)
    assert before + 30 <= raised.value.retry_at <= time.time() + 30

    with pytest.raises(RateLimited) as again:
        reader.thread(link(root), None)
    with pytest.raises(RateLimited):
        reader.still_there(link(root), [root])
    assert again.value.retry_at == raised.value.retry_at
    assert len(mastodon.calls(instance=SOCIAL)) == 1
    # Another instance is asked as usual.
    assert reader.thread(link(other, "ada", FOSSTODON), None).post_id == other


def test_mastodons_own_429_pauses_until_the_window_resets(emu: Emulator, reader: MastodonReader) -> None:
    mastodon = emu.state.mastodon
    root = mastodon.post(SOCIAL, "team", "hello")
    mastodon.enforce_limits(limit=1, period=300)
    # Another client on the same address uses up the window.
    requests.get(f"{emu.base_url}/mastodon/{SOCIAL}/api/v1/statuses/{root}", timeout=5)

    with pytest.raises(RateLimited) as raised:
        reader.thread(link(root), None)

    # Mastodon sends no Retry-After: X-RateLimit-Reset, moved onto the local clock by the answer's
    # one-second Date, says when.
    reset = _window_end(300)
    assert reset - 1.5 <= raised.value.retry_at <= reset + 1.5
    assert mastodon.calls(instance=SOCIAL)[-1]["status"] == 429


def test_no_request_left_pauses_before_the_next_one(emu: Emulator, reader: MastodonReader) -> None:
    mastodon = emu.state.mastodon
    root = mastodon.post(SOCIAL, "team", "hello")
    mastodon.enforce_limits(limit=1, period=300)

    with pytest.raises(RateLimited) as raised:
        reader.thread(link(root), None)

    # The post was read, said "remaining: 0", and its context was never asked for.
    assert [c["route"] for c in mastodon.calls()] == [STATUS_ROUTE]
    reset = _window_end(300)
    assert reset - 1.5 <= raised.value.retry_at <= reset + 1.5


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_tells_nothing(emu: Emulator, reader: MastodonReader, status: int) -> None:
    root = emu.state.mastodon.post(SOCIAL, "team", "hello")
    emu.state.mastodon.add_fault(MastodonFault(status=status, path=CONTEXT_ROUTE))

    with pytest.raises(FetchError) as raised:
        reader.thread(link(root), None)

    assert not isinstance(raised.value, RateLimited)
    assert reader.thread(link(root), None).post_id == root


def test_a_slow_instance_times_out_as_a_fetch_error(emu: Emulator) -> None:
    root = emu.state.mastodon.post(SOCIAL, "team", "hello")
    emu.state.mastodon.add_fault(MastodonFault(status=None, delay=3))
    reader = MastodonReader(emu.base_url + "/mastodon", timeout=0.3)

    started = time.monotonic()
    with pytest.raises(FetchError):
        reader.thread(link(root), None)

    assert time.monotonic() - started < 2


def test_an_instance_nobody_answers_is_a_fetch_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reader = MastodonReader(f"http://127.0.0.1:{port}/mastodon", timeout=1)

    with pytest.raises(FetchError):
        reader.thread(link("1"), None)


def test_every_request_says_who_is_asking(emu: Emulator, reader: MastodonReader) -> None:
    root = emu.state.mastodon.post(SOCIAL, "team", "hello")

    reader.thread(link(root), None)
    reader.still_there(link(root), [root])

    assert {c["user_agent"] for c in emu.state.mastodon.calls()} == {USER_AGENT}


def test_each_instance_is_its_own_api_unless_one_url_stands_for_all() -> None:
    own = MastodonReader(None, timeout=1)
    emulated = MastodonReader("http://127.0.0.1:9/mastodon/", timeout=1)

    assert own._client(SOCIAL).api.api_base_url == f"https://{SOCIAL}"
    assert emulated._client(SOCIAL).api.api_base_url == f"http://127.0.0.1:9/mastodon/{SOCIAL}"
    reader: Reader = own
    assert reader.network == "mastodon"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://mastodon.social/@ada/110000000000000001", ("mastodon.social", "110000000000000001")),
        ("https://Fosstodon.org/users/bob/statuses/42", ("fosstodon.org", "42")),
        ("https://infosec.exchange/@dave@mastodon.social/7", ("infosec.exchange", "7")),
    ],
)
def test_a_status_link_names_its_instance_and_id(url: str, expected: tuple[str, str]) -> None:
    assert status_of(url) == expected


@pytest.mark.parametrize(
    "url",
    ["https://mastodon.social/@ada", "https://mastodon.social/about", "https://mastodon.social/@ada/x1"],
)
def test_a_link_to_no_status_is_no_post(url: str) -> None:
    with pytest.raises(PostGone):
        status_of(url)


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("<p>Hello</p>", "Hello"),
        ("<p>one<br>two<br />three</p>", "one\ntwo\nthree"),
        ("<p>first</p><p>second</p>", "first\n\nsecond"),
        ("<p>fish &amp; chips &lt;3 &quot;ok&quot;</p>", 'fish & chips <3 "ok"'),
        (
            '<p>see <a href="https://example.com/a/long/path"><span class="invisible">https://</span>'
            '<span class="ellipsis">example.com/a/long</span><span class="invisible">/path</span></a></p>',
            "see https://example.com/a/long/path",
        ),
        (
            '<p><span class="h-card"><a href="https://m.s/@ada" class="u-url mention">@<span>ada</span></a>'
            '</span> <a href="https://m.s/tags/x" class="mention hashtag">#<span>x</span></a></p>',
            "@ada #x",
        ),
    ],
)
def test_html_content_reads_as_plain_text(content: str, text: str) -> None:
    assert plain_text(content) == text


def test_the_slack_serving_process_never_loads_a_network_client() -> None:
    code = (
        "import sys, twoway.cli, twoway.runtime, twoway.bolt_app, twoway.http_server, handlers\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mastodon', 'atproto')"
        " or m in ('bot.watch_mastodon', 'bot.watch_bluesky')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert loaded.stdout.strip() == "[]"


def _window_end(period: int) -> float:
    now = int(time.time())
    return float(now - now % period + period)
