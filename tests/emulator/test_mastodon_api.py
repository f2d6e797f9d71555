"""Mastodon's public API as the emulator serves it: the shapes docs.joinmastodon.org documents
(entities/Status, entities/Account, methods/statuses), the unauthenticated context's limits, the rate
limit's headers and refusals (api/rate-limits), the faults, and the control endpoints."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
import requests

from emulator import Emulator
from emulator.mastodon_api import (
    CONTEXT_ANCESTORS,
    CONTEXT_DEPTH,
    CONTEXT_DESCENDANTS,
    MastodonFault,
)
from tests.support.emulator import get, http, post

SOCIAL = "mastodon.social"
FOSSTODON = "fosstodon.org"

STATUS_FIELDS = {
    "id",
    "uri",
    "url",
    "created_at",
    "account",
    "content",
    "visibility",
    "sensitive",
    "spoiler_text",
    "media_attachments",
    "mentions",
    "tags",
    "emojis",
    "reblogs_count",
    "favourites_count",
    "replies_count",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "reblog",
    "poll",
    "card",
    "language",
    "edited_at",
}
ACCOUNT_FIELDS = {"id", "username", "acct", "url", "display_name", "created_at", "avatar", "note"}


def api(emu: Emulator, instance: str, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{emu.base_url}/mastodon/{instance}{path}", headers=headers, timeout=10)


def descendants(emu: Emulator, instance: str, status_id: str) -> list[dict[str, Any]]:
    answer = api(emu, instance, f"/api/v1/statuses/{status_id}/context")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["descendants"]
    return found


def test_a_status_has_the_documented_fields(emu: Emulator) -> None:
    status_id = emu.state.mastodon.post(SOCIAL, "team", "<p>Hello</p>", reblogs=4, favourites=9)

    answer = api(emu, SOCIAL, f"/api/v1/statuses/{status_id}")

    assert answer.status_code == 200
    status = answer.json()
    assert set(status) >= STATUS_FIELDS
    assert set(status["account"]) >= ACCOUNT_FIELDS
    assert status["id"] == status_id
    assert isinstance(status["id"], str)
    assert status["url"] == f"https://{SOCIAL}/@team/{status_id}"
    assert status["uri"] == f"https://{SOCIAL}/users/team/statuses/{status_id}"
    assert (status["reblogs_count"], status["favourites_count"], status["replies_count"]) == (4, 9, 0)
    assert status["content"] == "<p>Hello</p>"
    assert status["account"]["acct"] == "team"
    assert status["account"]["url"] == f"https://{SOCIAL}/@team"
    # Datetime as the docs show it: "2019-12-08T03:48:33.901Z".
    assert status["created_at"].endswith("Z")
    assert len(status["created_at"]) == len("2019-12-08T03:48:33.901Z")


def test_a_remote_account_is_named_with_its_instance(emu: Emulator) -> None:
    mastodon = emu.state.mastodon
    post_id = mastodon.post(SOCIAL, "team", "hello")
    reply_id = mastodon.post(SOCIAL, f"ada@{FOSSTODON}", "hi", in_reply_to=post_id)

    reply = api(emu, SOCIAL, f"/api/v1/statuses/{reply_id}").json()

    assert reply["account"]["acct"] == f"ada@{FOSSTODON}"
    assert reply["account"]["url"] == f"https://{FOSSTODON}/@ada"
    assert reply["url"].startswith(f"https://{FOSSTODON}/@ada/")
    assert reply["in_reply_to_id"] == post_id
    assert (
        reply["in_reply_to_account_id"]
        == api(emu, SOCIAL, f"/api/v1/statuses/{post_id}").json()["account"]["id"]
    )
    assert reply["content"] == "<p>hi</p>"


@pytest.mark.parametrize("how", ["unknown", "deleted", "private", "direct"])
def test_a_status_nobody_may_see_is_not_found(emu: Emulator, how: str) -> None:
    mastodon = emu.state.mastodon
    visibility = how if how in ("private", "direct") else "public"
    status_id = mastodon.post(SOCIAL, "team", "hello", visibility=visibility)
    if how == "deleted":
        mastodon.delete(SOCIAL, status_id)
    if how == "unknown":
        status_id = "1"

    for path in (f"/api/v1/statuses/{status_id}", f"/api/v1/statuses/{status_id}/context"):
        answer = api(emu, SOCIAL, path)
        assert (answer.status_code, answer.json()) == (404, {"error": "Record not found"})


def test_an_instance_nothing_was_posted_to_is_no_mastodon(emu: Emulator) -> None:
    answer = api(emu, "example.com", "/api/v1/statuses/1")

    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_the_context_lists_replies_depth_first_with_the_authors_own_promoted(emu: Emulator) -> None:
    mastodon = emu.state.mastodon
    root = mastodon.post(SOCIAL, "team", "root")
    a = mastodon.post(SOCIAL, "ada", "a", in_reply_to=root)
    a1 = mastodon.post(SOCIAL, "bob", "a1", in_reply_to=a)
    b = mastodon.post(SOCIAL, "carol", "b", in_reply_to=root)
    # The post's author answering themselves: Mastodon brings it to the top.
    own = mastodon.post(SOCIAL, "team", "more", in_reply_to=root)
    a2 = mastodon.post(SOCIAL, "dan", "a2", in_reply_to=a)

    order = [s["id"] for s in descendants(emu, SOCIAL, root)]

    assert order == [own, a, a1, a2, b]
    ancestors = api(emu, SOCIAL, f"/api/v1/statuses/{a1}/context").json()["ancestors"]
    assert [s["id"] for s in ancestors] == [root, a]


def test_replies_count_counts_the_direct_public_replies_left(emu: Emulator) -> None:
    mastodon = emu.state.mastodon
    root = mastodon.post(SOCIAL, "team", "root")
    a = mastodon.post(SOCIAL, "ada", "a", in_reply_to=root)
    mastodon.post(SOCIAL, "bob", "deeper", in_reply_to=a)
    gone = mastodon.post(SOCIAL, "carol", "gone", in_reply_to=root)
    mastodon.post(SOCIAL, "dan", "followers only", in_reply_to=root, visibility="private")
    mastodon.delete(SOCIAL, gone)

    status = api(emu, SOCIAL, f"/api/v1/statuses/{root}").json()

    assert status["replies_count"] == 1


def test_a_deleted_replys_own_replies_stay_in_the_context(emu: Emulator) -> None:
    mastodon = emu.state.mastodon
    root = mastodon.post(SOCIAL, "team", "root")
    gone = mastodon.post(SOCIAL, "ada", "gone", in_reply_to=root)
    orphan = mastodon.post(SOCIAL, "bob", "still here", in_reply_to=gone)
    mastodon.delete(SOCIAL, gone)

    found = descendants(emu, SOCIAL, root)

    assert [(s["id"], s["in_reply_to_id"]) for s in found] == [(orphan, gone)]


def test_the_unauthenticated_context_stops_at_the_documented_limits(emu: Emulator) -> None:
    mastodon = emu.state.mastodon
    root = mastodon.post(SOCIAL, "team", "root")
    # A chain deeper than the depth limit, then more direct replies than the count limit allows.
    parent = root
    chain = []
    for n in range(CONTEXT_DEPTH + 5):
        parent = mastodon.post(SOCIAL, f"user{n}", f"deep {n}", in_reply_to=parent)
        chain.append(parent)
    wide = [
        mastodon.post(SOCIAL, f"wide{n}", f"wide {n}", in_reply_to=root) for n in range(CONTEXT_DESCENDANTS)
    ]

    found = [s["id"] for s in descendants(emu, SOCIAL, root)]

    assert len(found) == CONTEXT_DESCENDANTS
    assert found[:CONTEXT_DEPTH] == chain[:CONTEXT_DEPTH]
    assert found[CONTEXT_DEPTH:] == wide[: CONTEXT_DESCENDANTS - CONTEXT_DEPTH]
    ancestors = api(emu, SOCIAL, f"/api/v1/statuses/{chain[-1]}/context").json()["ancestors"]
    assert len(ancestors) == min(CONTEXT_ANCESTORS, len(chain))
    # The nearest ones, root first.
    assert ancestors[-1]["id"] == chain[-2]


def test_every_answer_carries_the_rate_limit_headers(emu: Emulator) -> None:
    status_id = emu.state.mastodon.post(SOCIAL, "team", "hello")

    for path in (f"/api/v1/statuses/{status_id}", "/api/v1/statuses/1"):
        answer = api(emu, SOCIAL, path)
        assert answer.headers["X-RateLimit-Limit"] == "300"
        assert answer.headers["X-RateLimit-Remaining"] == "300"
        reset = datetime.fromisoformat(answer.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
        assert 0 < reset.timestamp() - time.time() <= 300


def test_the_enforced_limit_refuses_as_mastodon_does(emu: Emulator) -> None:
    status_id = emu.state.mastodon.post(SOCIAL, "team", "hello")
    post(emu, "/_emulator/mastodon/limits", {"limit": 2, "period": 300})

    remaining = [
        api(emu, SOCIAL, f"/api/v1/statuses/{status_id}").headers["X-RateLimit-Remaining"] for _ in (1, 2)
    ]
    refused = api(emu, SOCIAL, f"/api/v1/statuses/{status_id}")

    assert remaining == ["1", "0"]
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many requests"}
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in refused.headers
    # Each instance counts apart.
    other = emu.state.mastodon.post(FOSSTODON, "ada", "hi")
    assert api(emu, FOSSTODON, f"/api/v1/statuses/{other}").status_code == 200
    assert get(emu, "/_emulator/mastodon/limits")["refused"] == 1
    assert http(emu, "DELETE", "/_emulator/mastodon/limits")[1]["enabled"] is False
    assert api(emu, SOCIAL, f"/api/v1/statuses/{status_id}").status_code == 200


def test_a_rate_limit_fault_says_when_to_come_back(emu: Emulator) -> None:
    status_id = emu.state.mastodon.post(SOCIAL, "team", "hello")
    post(emu, "/_emulator/mastodon/faults", {"status": 429, "retry_after": 30, "count": 1})

    refused = api(emu, SOCIAL, f"/api/v1/statuses/{status_id}")
    then = api(emu, SOCIAL, f"/api/v1/statuses/{status_id}")

    assert (refused.status_code, refused.json()) == (429, {"error": "Too many requests"})
    assert refused.headers["Retry-After"] == "30"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in refused.headers
    assert then.status_code == 200


def test_a_fault_can_be_kept_to_one_path_and_instance(emu: Emulator) -> None:
    mastodon = emu.state.mastodon
    status_id = mastodon.post(SOCIAL, "team", "hello")
    mastodon.add_fault(
        MastodonFault(status=500, count=None, instance=SOCIAL, path="/api/v1/statuses/:id/context")
    )

    assert api(emu, SOCIAL, f"/api/v1/statuses/{status_id}").status_code == 200
    failed = [api(emu, SOCIAL, f"/api/v1/statuses/{status_id}/context") for _ in (1, 2)]
    assert [(f.status_code, f.json()) for f in failed] == [(500, {"error": "Internal Server Error"})] * 2
    assert api(emu, FOSSTODON, f"/api/v1/statuses/{status_id}/context").status_code == 404
    mastodon.clear_faults()
    assert api(emu, SOCIAL, f"/api/v1/statuses/{status_id}/context").status_code == 200


def test_a_slow_fault_answers_late_but_right(emu: Emulator) -> None:
    status_id = emu.state.mastodon.post(SOCIAL, "team", "hello")
    post(emu, "/_emulator/mastodon/faults", {"delay": 0.5})

    started = time.monotonic()
    answer = api(emu, SOCIAL, f"/api/v1/statuses/{status_id}")

    assert time.monotonic() - started >= 0.5
    assert answer.json()["id"] == status_id
    assert get(emu, "/_emulator/mastodon/faults")["faults"] == []


def test_the_call_log_names_each_request_and_its_user_agent(emu: Emulator) -> None:
    status_id = emu.state.mastodon.post(SOCIAL, "team", "hello")

    api(emu, SOCIAL, f"/api/v1/statuses/{status_id}/context?x=1", **{"User-Agent": "probe/1"})
    api(emu, FOSSTODON, "/api/v1/statuses/9")

    [call] = get(emu, f"/_emulator/mastodon/calls?instance={SOCIAL}")
    assert call["path"] == f"/api/v1/statuses/{status_id}/context"
    assert call["route"] == "/api/v1/statuses/:id/context"
    assert (call["query"], call["user_agent"], call["status"]) == ({"x": "1"}, "probe/1", 200)
    assert len(emu.state.mastodon.calls()) == 2
    http(emu, "DELETE", "/_emulator/mastodon/calls")
    assert emu.state.mastodon.calls() == []


def test_the_control_endpoints_shape_the_world(emu: Emulator) -> None:
    root = post(
        emu, "/_emulator/mastodon/statuses", {"instance": SOCIAL, "author": "team", "content": "hello"}
    )
    reply = post(
        emu,
        "/_emulator/mastodon/statuses",
        {
            "instance": SOCIAL,
            "author": f"ada@{FOSSTODON}",
            "content": "hi",
            "in_reply_to_id": root["status"]["id"],
        },
    )
    counted = post(
        emu, "/_emulator/mastodon/counts", {"instance": SOCIAL, "id": root["status"]["id"], "reblogs": 7}
    )

    assert counted["status"]["reblogs_count"] == 7
    assert counted["status"]["replies_count"] == 1
    assert reply["status"]["account"]["acct"] == f"ada@{FOSSTODON}"
    post(emu, "/_emulator/mastodon/delete", {"instance": SOCIAL, "id": reply["status"]["id"]})
    assert api(emu, SOCIAL, f"/api/v1/statuses/{reply['status']['id']}").status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/_emulator/mastodon/statuses", {"instance": SOCIAL, "content": "x"}, "missing_author"),
        (
            "/_emulator/mastodon/statuses",
            {"instance": SOCIAL, "author": "a", "content": "x", "in_reply_to_id": "9"},
            "in_reply_to_not_found",
        ),
        (
            "/_emulator/mastodon/statuses",
            {"instance": SOCIAL, "author": "a", "content": "x", "visibility": "x"},
            "invalid_status",
        ),
        ("/_emulator/mastodon/delete", {"instance": SOCIAL, "id": "9"}, "status_not_found"),
        ("/_emulator/mastodon/faults", {"status": 404}, "invalid_fault"),
        ("/_emulator/mastodon/faults", {"status": None, "delay": 0}, "invalid_fault"),
        ("/_emulator/mastodon/limits", {"limit": 0}, "invalid_limit"),
    ],
)
def test_bad_control_requests_are_refused_and_change_nothing(
    emu: Emulator, path: str, body: dict[str, Any], error: str
) -> None:
    status, answer = http(emu, "POST", path, body)

    assert status in (400, 404)
    assert answer["ok"] is False
    assert answer["error"].startswith(error)
    assert emu.state.mastodon.instances == {} or all(
        not i.statuses for i in emu.state.mastodon.instances.values()
    )
    assert emu.state.mastodon.faults == []
    assert emu.state.mastodon.limits is None


def test_a_status_may_take_the_id_of_a_link_already_shared(emu: Emulator) -> None:
    body = {"instance": SOCIAL, "author": "team", "content": "thread", "id": "113500000000000001"}
    made = post(emu, "/_emulator/mastodon/statuses", body)
    assert made["status"]["id"] == "113500000000000001"
    assert api(emu, SOCIAL, "/api/v1/statuses/113500000000000001").json()["content"] == "<p>thread</p>"
    status, answer = http(emu, "POST", "/_emulator/mastodon/statuses", body)
    assert (status, answer["error"]) == (400, "invalid_status: status 113500000000000001 exists")
