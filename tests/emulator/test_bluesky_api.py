"""The emulated Bluesky AppView against what Bluesky documents: the lexicons of getPostThread, getPosts and
resolveHandle, XRPC errors, the rate-limit headers of atproto's xrpc-server, and the control surface."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from emulator import Emulator, EmulatorSettings
from emulator.bluesky_api import Bluesky, Post
from tests.support.emulator import get, http, post


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


def xrpc(emu: Emulator, method: str, **params: Any) -> tuple[int, dict[str, str], Any]:
    """(status, lower-cased headers, JSON body) of one XRPC query, 4xx and 5xx included."""
    url = f"{emu.base_url}/bluesky/xrpc/{method}?{urlencode(params, doseq=True)}"
    request = urllib.request.Request(url, headers={"User-Agent": "bluesky-test"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                json.loads(response.read()),
            )
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, json.loads(e.read())


def thread(emu: Emulator, uri: str, **params: Any) -> Any:
    status, _, body = xrpc(emu, "app.bsky.feed.getPostThread", uri=uri, **params)
    assert status == 200, body
    return body


def chain(sky: Bluesky, root: Post, length: int) -> list[Post]:
    """``length`` replies, each answering the one before, under ``root``."""
    made: list[Post] = []
    parent = root
    for i in range(length):
        parent = sky.post(f"p{i}.bsky.social", f"level {i + 1}", parent.uri)
        made.append(parent)
    return made


def test_a_thread_has_the_lexicons_shapes(emu: Emulator, sky: Bluesky) -> None:
    written = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    root = sky.post("team.bsky.social", "our launch", created_at=written, reposts=4, likes=9, quotes=2)
    sky.account("ada.bsky.social", display_name="Ada")
    reply = sky.post("ada.bsky.social", "congrats!", root.uri)
    answer = sky.post("team.bsky.social", "thank you", reply.uri)

    body = thread(emu, root.uri)

    top = body["thread"]
    assert top["$type"] == "app.bsky.feed.defs#threadViewPost"
    view = top["post"]
    assert view["uri"] == root.uri
    assert view["uri"].startswith("at://did:plc:")
    assert "/app.bsky.feed.post/" in view["uri"]
    assert view["cid"].startswith("bafyrei")
    assert view["author"]["handle"] == "team.bsky.social"
    assert view["author"]["did"] == root.author.did
    assert view["record"] == {
        "$type": "app.bsky.feed.post",
        "text": "our launch",
        "createdAt": "2026-11-30T09:15:00.000Z",
    }
    assert (view["replyCount"], view["repostCount"], view["likeCount"], view["quoteCount"]) == (1, 4, 9, 2)
    assert view["indexedAt"].endswith("Z")
    assert "parent" not in top
    assert "threadgate" not in body
    (first,) = top["replies"]
    assert first["post"]["author"] == {
        "did": reply.author.did,
        "handle": "ada.bsky.social",
        "displayName": "Ada",
        "labels": [],
        "createdAt": first["post"]["author"]["createdAt"],
    }
    assert first["post"]["record"]["reply"] == {
        "root": {"uri": root.uri, "cid": root.cid},
        "parent": {"uri": root.uri, "cid": root.cid},
    }
    (second,) = first["replies"]
    assert second["post"]["uri"] == answer.uri
    assert second["post"]["record"]["reply"] == {
        "root": {"uri": root.uri, "cid": root.cid},
        "parent": {"uri": reply.uri, "cid": reply.cid},
    }
    assert second["replies"] == []


def test_depth_defaults_to_six_and_bounds_the_replies(emu: Emulator, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "deep")
    replies = chain(sky, root, 8)

    def deepest(node: Any) -> int:
        below = [deepest(r) for r in node.get("replies", [])]
        return 1 + max(below, default=0)

    assert deepest(thread(emu, root.uri)["thread"]) - 1 == 6
    assert deepest(thread(emu, root.uri, depth=1)["thread"]) - 1 == 1
    assert deepest(thread(emu, root.uri, depth=1000)["thread"]) - 1 == len(replies)
    assert "replies" not in thread(emu, root.uri, depth=0)["thread"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"depth": 1001}, "Error: depth can not be greater than 1000"),
        ({"depth": -1}, "Error: depth can not be less than 0"),
        ({"parentHeight": "x"}, "Error: parentHeight must be an integer"),
    ],
)
def test_parameters_out_of_bounds_are_invalid_requests(
    emu: Emulator, sky: Bluesky, params: dict[str, Any], message: str
) -> None:
    root = sky.post("team.bsky.social", "bounds")
    status, _, body = xrpc(emu, "app.bsky.feed.getPostThread", uri=root.uri, **params)
    assert (status, body) == (400, {"error": "InvalidRequest", "message": message})


def test_a_reply_shows_its_parents_up_to_parent_height(emu: Emulator, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "top")
    first, second = chain(sky, root, 2)

    body = thread(emu, second.uri)
    assert body["thread"]["parent"]["post"]["uri"] == first.uri
    assert body["thread"]["parent"]["parent"]["post"]["uri"] == root.uri
    assert "parent" not in body["thread"]["parent"]["parent"]
    assert "parent" not in thread(emu, second.uri, parentHeight=0)["thread"]
    assert "parent" not in thread(emu, second.uri, parentHeight=1)["thread"]["parent"]


def test_a_missing_or_deleted_post_is_not_found(emu: Emulator, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "soon gone")
    missing = root.uri[:-3] + "zzz"
    status, _, body = xrpc(emu, "app.bsky.feed.getPostThread", uri=missing)
    assert (status, body) == (400, {"error": "NotFound", "message": f"Post not found: {missing}"})

    sky.delete(root.uri)
    status, _, body = xrpc(emu, "app.bsky.feed.getPostThread", uri=root.uri)
    assert (status, body["error"]) == (400, "NotFound")


def test_a_deleted_reply_vanishes_unless_answered(emu: Emulator, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    alone = sky.post("ada.bsky.social", "alone", root.uri)
    answered = sky.post("bob.bsky.social", "answered", root.uri)
    under = sky.post("cy.bsky.social", "under it", answered.uri)
    sky.delete(alone.uri)
    sky.delete(answered.uri)

    top = thread(emu, root.uri)["thread"]

    assert top["post"]["replyCount"] == 0
    assert top["replies"] == [
        {"$type": "app.bsky.feed.defs#notFoundPost", "uri": answered.uri, "notFound": True}
    ]
    assert under.uri in sky.posts


def test_hidden_replies_stay_listed_and_the_threadgate_names_them(emu: Emulator, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    rude = sky.post("troll.bsky.social", "rude", root.uri)
    deep = sky.post("troll.bsky.social", "ruder", sky.post("ada.bsky.social", "fine", root.uri).uri)
    sky.hide(rude.uri)
    sky.hide(deep.uri)

    body = thread(emu, root.uri)

    listed = {r["post"]["uri"] for r in body["thread"]["replies"]}
    assert rude.uri in listed
    gate = body["threadgate"]
    assert gate["uri"] == f"at://{root.author.did}/app.bsky.feed.threadgate/{root.rkey}"
    assert gate["record"]["$type"] == "app.bsky.feed.threadgate"
    assert gate["record"]["post"] == root.uri
    assert gate["record"]["hiddenReplies"] == [rude.uri, deep.uri]
    # Asked from a reply, the threadgate is still the root's.
    assert thread(emu, deep.uri)["threadgate"]["record"]["hiddenReplies"] == [rude.uri, deep.uri]


def test_a_blocked_reply_is_a_blocked_post(emu: Emulator, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    blocked = sky.post("spam.bsky.social", "spam", root.uri)
    sky.block(blocked.uri)

    (item,) = thread(emu, root.uri)["thread"]["replies"]

    assert item == {
        "$type": "app.bsky.feed.defs#blockedPost",
        "uri": blocked.uri,
        "blocked": True,
        "author": {"did": blocked.author.did},
    }


def test_get_posts_leaves_out_what_is_missing_and_takes_at_most_25(emu: Emulator, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    kept = sky.post("ada.bsky.social", "kept", root.uri)
    deleted = sky.post("bob.bsky.social", "deleted", root.uri)
    sky.delete(deleted.uri)

    status, _, body = xrpc(
        emu, "app.bsky.feed.getPosts", uris=[kept.uri, deleted.uri, root.uri[:-3] + "zzz", root.uri]
    )
    assert status == 200
    assert [p["uri"] for p in body["posts"]] == [kept.uri, root.uri]
    assert body["posts"][1]["replyCount"] == 1

    status, _, body = xrpc(emu, "app.bsky.feed.getPosts", uris=[root.uri] * 26)
    assert (status, body["error"]) == (400, "InvalidRequest")
    assert xrpc(emu, "app.bsky.feed.getPosts", uris=[root.uri] * 25)[0] == 200


def test_resolve_handle(emu: Emulator, sky: Bluesky) -> None:
    ada = sky.account("ada.bsky.social")
    status, _, body = xrpc(emu, "com.atproto.identity.resolveHandle", handle="Ada.bsky.social")
    assert (status, body) == (200, {"did": ada.did})
    status, _, body = xrpc(emu, "com.atproto.identity.resolveHandle", handle="nobody.bsky.social")
    assert (status, body) == (400, {"error": "InvalidRequest", "message": "Unable to resolve handle"})


def test_an_unknown_method_is_not_implemented(emu: Emulator) -> None:
    status, _, body = xrpc(emu, "app.bsky.feed.getTimeline")
    assert (status, body["error"]) == (501, "MethodNotImplemented")


def test_every_answer_carries_the_rate_limit_headers(emu: Emulator, sky: Bluesky, clock: Clock) -> None:
    sky.account("ada.bsky.social")
    _, first, _ = xrpc(emu, "com.atproto.identity.resolveHandle", handle="ada.bsky.social")
    _, second, _ = xrpc(emu, "com.atproto.identity.resolveHandle", handle="nobody.bsky.social")

    assert first["ratelimit-limit"] == "3000"
    assert first["ratelimit-policy"] == "3000;w=300"
    assert first["ratelimit-reset"] == str(int(clock.now) + 300)
    assert (first["ratelimit-remaining"], second["ratelimit-remaining"]) == ("2999", "2998")


def test_the_rate_limit_is_enforced_when_asked(emu: Emulator, sky: Bluesky, clock: Clock) -> None:
    sky.account("ada.bsky.social")
    sky.enforce_limits(limit=2, window=60)
    asks = [xrpc(emu, "com.atproto.identity.resolveHandle", handle="ada.bsky.social") for _ in range(3)]

    assert [status for status, _, _ in asks] == [200, 200, 429]
    _, headers, body = asks[2]
    assert body == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert headers["ratelimit-remaining"] == "0"
    assert headers["retry-after"] == "60"
    assert headers["ratelimit-reset"] == str(int(clock.now) + 60)

    clock.now += 61
    assert xrpc(emu, "com.atproto.identity.resolveHandle", handle="ada.bsky.social")[0] == 200


def test_faults_fail_the_next_requests_then_lift(emu: Emulator, sky: Bluesky) -> None:
    sky.account("ada.bsky.social")
    sky.fail(429, count=2, method="com.atproto.identity.resolveHandle", retry_after=30)
    root = sky.post("team.bsky.social", "post")

    assert xrpc(emu, "app.bsky.feed.getPostThread", uri=root.uri)[0] == 200
    for _ in range(2):
        status, headers, body = xrpc(emu, "com.atproto.identity.resolveHandle", handle="ada.bsky.social")
        assert (status, body["error"], headers["retry-after"]) == (429, "RateLimitExceeded", "30")
        assert "ratelimit-limit" in headers
    assert xrpc(emu, "com.atproto.identity.resolveHandle", handle="ada.bsky.social")[0] == 200

    sky.fail(503)
    status, _, body = xrpc(emu, "app.bsky.feed.getPostThread", uri=root.uri)
    assert (status, body["error"]) == (503, "InternalServerError")
    assert xrpc(emu, "app.bsky.feed.getPostThread", uri=root.uri)[0] == 200


def test_a_slow_fault_answers_late(emu: Emulator, sky: Bluesky) -> None:
    root = sky.post("team.bsky.social", "post")
    sky.fail(200, delay=0.4)
    started = time.monotonic()
    assert xrpc(emu, "app.bsky.feed.getPostThread", uri=root.uri)[0] == 200
    assert time.monotonic() - started >= 0.4


def test_the_calls_log_lists_each_request(emu: Emulator, sky: Bluesky, clock: Clock) -> None:
    root = sky.post("team.bsky.social", "post")
    xrpc(emu, "app.bsky.feed.getPostThread", uri=root.uri, depth=3)
    xrpc(emu, "app.bsky.feed.getPosts", uris=[root.uri, root.uri])

    assert sky.calls() == [
        {
            "method": "app.bsky.feed.getPostThread",
            "path": "/bluesky/xrpc/app.bsky.feed.getPostThread",
            "query": {"uri": [root.uri], "depth": ["3"]},
            "status": 200,
            "user_agent": "bluesky-test",
            "at": clock.now,
        },
        {
            "method": "app.bsky.feed.getPosts",
            "path": "/bluesky/xrpc/app.bsky.feed.getPosts",
            "query": {"uris": [root.uri, root.uri]},
            "status": 200,
            "user_agent": "bluesky-test",
            "at": clock.now,
        },
    ]
    assert len(sky.calls("app.bsky.feed.getPosts")) == 1
    sky.clear_calls()
    assert sky.calls() == []


def test_the_control_endpoints_shape_the_same_world(emu: Emulator, sky: Bluesky) -> None:
    account = post(emu, "/_emulator/bluesky/account", {"handle": "team.example.com", "display_name": "Team"})
    made = post(
        emu,
        "/_emulator/bluesky/post",
        {"author": account["did"], "text": "launch", "likes": 3, "created_at": "2026-12-01T10:00:00"},
    )
    assert made["url"] == f"https://bsky.app/profile/team.example.com/post/{made['uri'].rsplit('/', 1)[1]}"
    reply = post(
        emu, "/_emulator/bluesky/post", {"author": "ada.bsky.social", "text": "hi", "reply_to": made["uri"]}
    )
    rude = post(
        emu, "/_emulator/bluesky/post", {"author": "troll.bsky.social", "text": "no", "reply_to": made["uri"]}
    )
    spam = post(
        emu, "/_emulator/bluesky/post", {"author": "spam.bsky.social", "text": "buy", "reply_to": made["uri"]}
    )
    post(emu, "/_emulator/bluesky/counts", {"uri": made["uri"], "reposts": 7, "quotes": 1})
    post(emu, "/_emulator/bluesky/hide", {"uri": rude["uri"]})
    post(emu, "/_emulator/bluesky/block", {"uri": spam["uri"]})
    post(emu, "/_emulator/bluesky/delete", {"uri": reply["uri"]})

    body = thread(emu, made["uri"])
    view = body["thread"]["post"]
    assert view["record"]["createdAt"] == "2026-12-01T10:00:00.000Z"
    assert (view["replyCount"], view["repostCount"], view["likeCount"], view["quoteCount"]) == (2, 7, 3, 1)
    assert body["threadgate"]["record"]["hiddenReplies"] == [rude["uri"]]
    assert {r["$type"] for r in body["thread"]["replies"]} == {
        "app.bsky.feed.defs#threadViewPost",
        "app.bsky.feed.defs#blockedPost",
    }

    fault = post(
        emu, "/_emulator/bluesky/faults", {"status": 500, "count": 2, "method": "app.bsky.feed.getPosts"}
    )
    assert fault["fault"]["count"] == 2
    assert get(emu, "/_emulator/bluesky/faults")[0]["method"] == "app.bsky.feed.getPosts"
    assert http(emu, "DELETE", "/_emulator/bluesky/faults")[0] == 200
    assert sky.faults == []
    assert http(emu, "POST", "/_emulator/bluesky/faults", {"status": 404}) == (
        400,
        {"ok": False, "error": "invalid_fault"},
    )

    post(emu, "/_emulator/bluesky/limits", {"enforce": True, "limit": 1, "window": 10})
    assert (sky.enforced, sky.limit, sky.window) == (True, 1, 10)

    assert [c["method"] for c in get(emu, "/_emulator/bluesky/calls")] == ["app.bsky.feed.getPostThread"]
    assert http(emu, "DELETE", "/_emulator/bluesky/calls")[0] == 200
    assert sky.calls() == []


def test_control_mistakes_are_named(emu: Emulator) -> None:
    assert http(emu, "POST", "/_emulator/bluesky/post", {"author": "ada.bsky.social"}) == (
        400,
        {"ok": False, "error": "missing_text"},
    )
    assert http(emu, "POST", "/_emulator/bluesky/delete", {"uri": "at://did:plc:x/app.bsky.feed.post/1"}) == (
        404,
        {"ok": False, "error": "post_not_found"},
    )


def test_a_post_may_take_the_record_key_of_a_link_already_shared(emu: Emulator, sky: Bluesky) -> None:
    made = post(
        emu,
        "/_emulator/bluesky/post",
        {"author": "team.bsky.social", "text": "changelog", "rkey": "3kchange02"},
    )
    assert made["url"] == "https://bsky.app/profile/team.bsky.social/post/3kchange02"
    assert thread(emu, made["uri"])["thread"]["post"]["record"]["text"] == "changelog"
    again = {"author": "team.bsky.social", "text": "again", "rkey": "3kchange02"}
    assert http(emu, "POST", "/_emulator/bluesky/post", again) == (
        409,
        {"ok": False, "error": "record_exists"},
    )
    bad = {"author": "team.bsky.social", "text": "x", "rkey": "no spaces"}
    assert http(emu, "POST", "/_emulator/bluesky/post", bad) == (400, {"ok": False, "error": "invalid_rkey"})
