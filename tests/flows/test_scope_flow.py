"""Each command, button and Home tab acts on its own channel's items; a private channel never leaks.

The repro: ada tracks a post and a comment in a private channel linus is not in. From #social, linus
must get the same answers for them as for ids and links twoway never saw, and change nothing.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from storage.models import Comment, Post, Snapshot
from tests.support.flows import ADA, CHANNEL, LINUS, TEAM, Flow
from tests.support.polling import eventually

PRIVATE = "C0PRIV0001"
POST = "https://www.instagram.com/p/Pr1vate42/"
CANONICAL = "https://instagram.com/p/Pr1vate42"
SECRET_TEXT = "Is the launch moved to June?"


def _private_channel(flow: Flow, members: list[str]) -> None:
    flow._post(
        "/_emulator/channel",
        {"team": TEAM, "id": PRIVATE, "name": "launch-plans", "is_private": True, "members": members},
    )


def _share(flow: Flow, user: str, channel: str) -> str:
    shared = flow.say(user, f"<{POST}>", channel=channel)
    eventually(
        lambda: any(c["args"].get("timestamp") == shared for c in flow.calls("reactions.add")),
        what="the share tracked",
    )
    return shared


def _comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))


def _private_comment(flow: Flow) -> Comment:
    """ada's post and an open comment on it, in a private channel only ada is in."""
    _private_channel(flow, [ADA])
    _share(flow, ADA, PRIVATE)
    flow.reply_text(ADA, f"flag {CANONICAL} {SECRET_TEXT}", channel=PRIVATE)
    [comment] = _comments(flow)
    return comment


def _said(flow: Flow, channel: str) -> list[dict[str, Any]]:
    return [
        c for c in flow.calls() if c["method"].startswith("chat.") and c["args"].get("channel") == channel
    ]


def _masked(text: str, token: str) -> str:
    return text.replace(token, "…")


def test_answered_from_another_channel_is_no_such_comment_and_closes_nothing(flow: Flow) -> None:
    comment = _private_comment(flow)
    private_calls = len(_said(flow, PRIVATE))
    missing = comment.id + 1000

    for verb in ("answered", "dismiss"):
        foreign = flow.reply_text(LINUS, f"{verb} {comment.id}")
        unknown = flow.reply_text(LINUS, f"{verb} {missing}")
        # The same words as for an id that doesn't exist: nothing tells linus #N is someone's.
        assert _masked(foreign, str(comment.id)) == _masked(unknown, str(missing))
        assert "There is no comment" in foreign

    assert [(c.id, c.state) for c in _comments(flow)] == [(comment.id, "open")]
    assert len(_said(flow, PRIVATE)) == private_calls, "the private notice was not touched"


def test_log_and_flag_from_another_channel_are_refused_as_untracked(flow: Flow) -> None:
    _private_comment(flow)
    private_calls = len(_said(flow, PRIVATE))

    # A post twoway has nowhere would be added to #social; the private one is refused instead, in
    # words that name neither its channel nor its owner, and it stays the private channel's.
    for text in (f"log {CANONICAL} comments=1000", f"log {CANONICAL}", f"flag {CANONICAL} linus was here"):
        [shown] = flow.command(LINUS, text)
        assert shown["text"].startswith(f"twoway isn't tracking {CANONICAL} in this channel:"), shown
        seen = json.dumps(shown)
        assert PRIVATE not in seen
        assert "launch-plans" not in seen
        assert ADA not in seen
        assert "Added" not in seen

    with flow.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Snapshot).where(Snapshot.team_id == TEAM)) == 0
        assert [
            (p.canonical_url, p.channel_id, p.owner_user_id)
            for p in s.scalars(select(Post).where(Post.team_id == TEAM))
        ] == [(CANONICAL, PRIVATE, ADA)]
    assert [c.text for c in _comments(flow)] == [SECRET_TEXT]
    assert len(_said(flow, PRIVATE)) == private_calls, "nothing of linus's was posted in the private thread"
    # Nor does #social's digest name the private post or its owner.
    preview = json.dumps(flow.command(LINUS, "digest preview"))
    assert CANONICAL not in preview
    assert ADA not in preview


def test_the_same_post_shared_in_a_channel_is_acted_on_there(flow: Flow) -> None:
    _private_comment(flow)
    social_share = _share(flow, LINUS, CHANNEL)

    assert flow.reply_text(LINUS, f"log {CANONICAL} comments=3").startswith("Recorded for")
    flagged = flow.reply_text(LINUS, f"flag {CANONICAL} Seen in #social")
    assert flagged.startswith("Flagged as comment #")
    public = _comments(flow)[-1]
    assert (public.channel_id, public.text) == (CHANNEL, "Seen in #social")
    # The notice goes under #social's own share of the post, not the private one.
    notice = eventually(
        lambda: [c for c in _said(flow, CHANNEL) if c["method"] == "chat.postMessage"], what="the notice"
    )
    assert notice[-1]["args"]["thread_ts"] == social_share


def test_a_home_tab_shows_no_private_channel_item_to_someone_outside_it(flow: Flow) -> None:
    # linus shares the post in #social first, so he owns it; ada shares it in a private channel too,
    # and a reply there is flagged: a comment on linus's post that only the channel's members may see.
    _share(flow, LINUS, CHANNEL)
    _private_channel(flow, [ADA])
    shared = _share(flow, ADA, PRIVATE)
    secret = flow.say(ADA, SECRET_TEXT, thread_ts=shared, channel=PRIVATE)
    flow.react(ADA, secret, "speech_balloon", channel=PRIVATE)
    eventually(lambda: _comments(flow), what="the private flag")
    flow.reply_text(LINUS, f"flag {CANONICAL} A public question")

    flow.event({"type": "app_home_opened", "user": LINUS, "channel": "D0LINUS001", "tab": "home"})
    published = eventually(lambda: flow.calls("views.publish"), what="linus's Home tab")
    home = json.dumps(published[-1]["args"]["view"])
    assert "A public question" in home
    assert "launch moved" not in home
    [asked] = flow.calls("users.conversations")
    assert asked["args"]["user"] == LINUS
    # Someone who owns no post has nothing to filter: their Home tab asks Slack nothing.
    flow.event({"type": "app_home_opened", "user": ADA, "channel": "D0ADA00001", "tab": "home"})
    eventually(lambda: len(flow.calls("views.publish")) == 2, what="ada's Home tab")
    assert len(flow.calls("users.conversations")) == 1


def test_from_the_apps_dm_commands_reach_only_the_users_own_items_in_their_channels(flow: Flow) -> None:
    _share(flow, LINUS, CHANNEL)
    _private_channel(flow, [ADA])
    shared = _share(flow, ADA, PRIVATE)
    secret = flow.say(ADA, SECRET_TEXT, thread_ts=shared, channel=PRIVATE)
    flow.react(ADA, secret, "speech_balloon", channel=PRIVATE)
    [private] = eventually(lambda: _comments(flow), what="the private flag")
    flow.reply_text(ADA, f"flag {CANONICAL} A public question")
    public = _comments(flow)[-1]
    dm = "D" + LINUS[1:]

    listed = flow.command(LINUS, "unanswered", channel=dm)
    shown = json.dumps(listed)
    assert "A public question" in shown
    assert "launch moved" not in shown

    refused = flow.reply_text(LINUS, f"answered {private.id}", channel=dm)
    unknown = flow.reply_text(LINUS, f"answered {private.id + 1000}", channel=dm)
    assert _masked(refused, str(private.id)) == _masked(unknown, str(private.id + 1000))
    assert flow.reply_text(LINUS, f"answered {public.id}", channel=dm).startswith(":white_check_mark:")
    assert {c.id: c.state for c in _comments(flow)} == {private.id: "open", public.id: "answered"}

    # What concerns one channel as a whole is run in that channel.
    assert "in the channel" in flow.reply_text(LINUS, "settings threshold 4", channel=dm)
    # ada's own DM reaches nothing of linus's.
    assert "There is no comment" in flow.reply_text(ADA, f"answered {private.id}", channel="D" + ADA[1:])
