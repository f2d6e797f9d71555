"""The flag shortcut's dialog, for a message that doesn't say which post it is about: the channel's posts of
the last 14 days in a select, newest first, the thread's post chosen already, and a link to paste as well.
A post chosen wins over a link pasted; neither is an error under the select. Another channel's posts,
a private one's above all, are never offered."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from storage.models import Comment, Post, PostShare
from tests.support.flows import ADA, GRACE, LINUS, TEAM, Flow
from tests.support.polling import eventually

X_POST = "https://x.com/acme/status/1790000000000000001"
INSTAGRAM = "https://www.instagram.com/p/C0ffee123/"
OLD = "https://www.linkedin.com/feed/update/urn:li:activity:7100000000000000001/"
SECRET = "https://www.instagram.com/p/Pr1vate42/"
PRIVATE = "C0PRIV0001"


def _share(flow: Flow, text: str, channel: str | None = None) -> str:
    where = {} if channel is None else {"channel": channel}
    shared = flow.say(ADA, text, **where)
    eventually(
        lambda: any(c["args"].get("timestamp") == shared for c in flow.calls("reactions.add")),
        what="the share tracked",
    )
    return shared


def _posts(flow: Flow) -> dict[str, Post]:
    with flow.sessions.begin() as s:
        return {p.platform: p for p in s.scalars(select(Post).where(Post.team_id == TEAM))}


def _dialog(flow: Flow, user: str, ts: str) -> dict[str, Any]:
    before = len(flow.calls("views.open"))
    flow.shortcut(user, ts)
    opened = eventually(lambda: flow.calls("views.open")[before:], what="the flag dialog")
    view = opened[-1]["args"]["view"]
    return dict(json.loads(view) if isinstance(view, str) else view)


def _select(view: dict[str, Any]) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == "post_choice"]
    return dict(block["element"])


def _submit(flow: Flow, user: str, values: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = flow._post("/_emulator/submit", {"team": TEAM, "user": user, "values": values})
    return answer


def _comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))


def test_the_dialog_offers_the_channels_recent_posts_and_flags_the_one_chosen(flow: Flow) -> None:
    flow._post(
        "/_emulator/channel",
        {"team": TEAM, "id": PRIVATE, "name": "launch-plans", "is_private": True, "members": [ADA]},
    )
    _share(flow, f"<{SECRET}>", channel=PRIVATE)
    _share(flow, f"Old one: <{OLD}>")
    _share(flow, f"<{X_POST}>")
    _share(flow, f"<{INSTAGRAM}>")
    posts = _posts(flow)
    # Shared three weeks ago: past the dialog's 14 days.
    weeks_ago = posts["linkedin"].shared_at - timedelta(days=21)
    with flow.sessions.begin() as s:
        s.execute(update(Post).where(Post.id == posts["linkedin"].id).values(shared_at=weeks_ago))
        s.execute(
            update(PostShare).where(PostShare.post_id == posts["linkedin"].id).values(shared_at=weeks_ago)
        )
    loose = flow.say(GRACE, "Someone asked on Instagram: does it come in blue?")

    element = _select(_dialog(flow, GRACE, loose))
    options = element["options"]
    # Newest first, this channel's only, within Block Kit's 75 characters an option.
    assert [o["value"] for o in options] == [str(posts["instagram"].id), str(posts["x"].id)]
    assert options[0]["text"]["text"].startswith("Instagram · ")
    assert options[0]["text"]["text"].endswith("instagram.com/p/C0ffee123")
    assert all(len(o["text"]["text"]) <= 75 for o in options)
    assert "initial_option" not in element
    assert "Pr1vate42" not in json.dumps(flow.calls("views.open"))

    # Neither chosen nor pasted: the dialog stays open and says so under the select.
    neither = _submit(flow, GRACE, {})
    assert neither["closed"] is False
    assert "Choose the post" in json.dumps(neither["ack"])
    # A post chosen wins over a link pasted (the link field says it is used when none is chosen).
    done = _submit(
        flow,
        GRACE,
        {"post_choice": {"post": {"selected_option": options[0]}}, "post_url": {"url": X_POST}},
    )
    assert done["closed"] is True
    [comment] = eventually(lambda: _comments(flow), what="the dialog's flag")
    assert (comment.post_id, comment.message_ts, comment.flagged_by) == (posts["instagram"].id, loose, GRACE)
    eventually(
        lambda: [c for c in flow.calls("chat.postMessage") if c["args"].get("thread_ts") == loose],
        what="the notice in the message's thread",
    )


def test_a_reply_under_a_message_of_two_posts_has_its_threads_post_chosen(flow: Flow) -> None:
    both = _share(flow, f"Two at once: <{X_POST}> and <{INSTAGRAM}>")
    question = flow.say(LINUS, "Is this on Android too?", thread_ts=both)
    posts = _posts(flow)

    element = _select(_dialog(flow, GRACE, question))
    chosen = element["initial_option"]
    assert chosen in element["options"]
    assert chosen["value"] in {str(posts["x"].id), str(posts["instagram"].id)}

    # Submitted as it opened: the chosen post.
    assert _submit(flow, GRACE, {})["closed"] is True
    [comment] = eventually(lambda: _comments(flow), what="the flag")
    assert (str(comment.post_id), comment.message_ts) == (chosen["value"], question)
