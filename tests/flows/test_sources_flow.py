"""Not every link is a post: a doc or a competitor's post shared in the channel records nothing; a site
counts once the channel names it, an account is ignored once the channel says it isn't the team's, and a
wrong :eyes: is undone by one click on the sharer's note or by :x: on the message."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.links import links_in_message
from bot.ownership import NOT_OURS_ACTION
from storage.models import ChannelSource, Post, PostShare, ProcessedEvent, Snapshot
from tests.support.flows import ADA, CHANNEL, GRACE, TEAM, Flow
from tests.support.polling import eventually

DOC = "https://docs.google.com/document/d/1AbCdEf/edit"
BLOG = "https://www.blog.acme.example/2026/launch"
OURS = "https://x.com/acme/status/1790000000000000001"
RIVAL = "https://twitter.com/Rival/status/1790000000000000002"
RIVAL_AGAIN = "https://x.com/rival/status/1790000000000000003"
INSTAGRAM = "https://www.instagram.com/p/C0ffee01/"


def _posts(flow: Flow) -> list[Post]:
    with flow.sessions.begin() as s:
        posts = list(s.scalars(select(Post).where(Post.team_id == TEAM).order_by(Post.id)))
        s.expunge_all()
        return posts


def _canonical(url: str) -> str:
    [link] = links_in_message(url)
    return link.canonical_url


def _sources(flow: Flow) -> list[tuple[str, str]]:
    with flow.sessions.begin() as s:
        rows = s.execute(
            select(ChannelSource.kind, ChannelSource.value).where(
                ChannelSource.team_id == TEAM, ChannelSource.channel_id == CHANNEL
            )
        )
        return sorted((kind, value) for kind, value in rows)


def _reacted(flow: Flow, ts: str, method: str = "reactions.add") -> bool:
    return any(c["args"].get("timestamp") == ts and c["ok"] for c in flow.calls(method))


def _ephemerals(flow: Flow, user: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = flow._get(
        f"/_emulator/ephemerals?team={TEAM}&channel={CHANNEL}&user={user}"
    )
    return found


def _note_for(flow: Flow, user: str, post: Post) -> dict[str, Any]:
    """The sharer's note offering to take ``post`` back."""

    def offered() -> dict[str, Any] | None:
        for note in _ephemerals(flow, user):
            for block in note.get("blocks") or []:
                button = block.get("accessory") or {}
                if button.get("action_id") == NOT_OURS_ACTION and button.get("value") == str(post.id):
                    return note
        return None

    return eventually(offered, what=f"the note about post {post.id}")


def _share(flow: Flow, user: str, text: str) -> str:
    """Share a message that links a post the channel counts; return its ts once it is tracked."""
    ts = flow.say(user, text)
    eventually(lambda: _reacted(flow, ts), what=f"twoway to track {text}")
    return ts


def test_a_doc_is_not_a_post_until_its_site_is_named(flow: Flow) -> None:
    doc = flow.say(ADA, f"notes for the launch: <{DOC}>")
    blog = flow.say(ADA, f"launch post: {BLOG}")
    # A network link after them is tracked: by then the two before it were long read and ignored.
    _share(flow, ADA, f"and <{OURS}>")
    assert [p.canonical_url for p in _posts(flow)] == [_canonical(OURS)]
    assert not _reacted(flow, doc)
    assert not _reacted(flow, blog)

    answer = flow.reply_text(ADA, "settings sites blog.acme.example acme.substack.com")
    assert answer.startswith("Saved. This channel's own sites: `blog.acme.example`, `acme.substack.com`."), (
        answer
    )
    assert _sources(flow) == [("site", "acme.substack.com"), ("site", "blog.acme.example")]

    again = _share(flow, GRACE, f"launch post again: {BLOG}")
    [_, post] = _posts(flow)
    assert (post.canonical_url, post.platform, post.owner_user_id) == (_canonical(BLOG), "blog", GRACE)
    # The channel named the site: nobody is asked whether the post is the team's.
    assert _ephemerals(flow, GRACE) == []
    assert _reacted(flow, again)

    listed = flow.reply_text(ADA, "settings sites")
    assert listed.startswith("This channel's own sites:"), listed
    removed = flow.reply_text(ADA, "settings sites remove blog.acme.example")
    assert removed.startswith("Saved. This channel's own sites: `acme.substack.com`."), removed
    missing = flow.reply_text(ADA, "settings sites remove blog.acme.example")
    assert missing.startswith("`blog.acme.example` isn't among this channel's sites."), missing


def _claims(flow: Flow) -> int:
    with flow.sessions.begin() as s:
        return len(s.scalars(select(ProcessedEvent.event_id)).all())


def test_a_doc_is_chatter_at_the_ack_until_its_site_is_named(flow: Flow) -> None:
    flow.reply_text(ADA, "settings sites blog.acme.example")
    before = _claims(flow)
    flow.say(ADA, f"notes: <{DOC}>")
    # Acknowledged with nothing written: no claim, no listener.
    assert _claims(flow) == before
    _share(flow, ADA, f"launch post: <{BLOG}>")
    assert _claims(flow) == before + 1


def test_junk_sites_and_accounts_are_refused_and_record_nothing(flow: Flow) -> None:
    for text, reason in [
        ("settings sites acme.example/blog", "is a page; name the whole site by its host alone"),
        ("settings sites x.com", "`x.com` is X, whose links count already"),
        ("settings sites localhost", "isn't a site"),
        ("settings sites remove", "Say which to remove"),
        ("settings accounts instagram.com/p/C0ffee01", "isn't a network account"),
        ("settings accounts blog.acme.example", "isn't a network account"),
        ("settings threshold 6 sites a.example", "`sites` comes on its own"),
    ]:
        answer = flow.reply_text(ADA, text)
        assert reason in answer, (text, answer)
    assert _sources(flow) == []


def test_not_our_post_takes_it_back_and_ignores_its_account_from_then_on(flow: Flow) -> None:
    ts = _share(flow, ADA, f"look what they did <{RIVAL}>")
    [post] = _posts(flow)
    note = _note_for(flow, ADA, post)
    assert "counts" in note["text"]
    assert "Not our post" in note["text"]

    seen = flow.click(ADA, note["ts"], NOT_OURS_ACTION, str(post.id))
    assert seen["ack"]["status"] == 200, seen
    [answer] = [r for r in seen["responses"] if r.get("text")]
    assert answer["replace_original"] is True
    assert answer["text"].startswith(f"Took <{post.canonical_url}|X post> out of this channel's ledger."), (
        answer
    )
    assert "`/twoway settings accounts remove x.com/rival`" in answer["text"]
    assert _posts(flow) == []
    with flow.sessions.begin() as s:
        assert s.scalars(select(PostShare).where(PostShare.team_id == TEAM)).all() == []
    assert _sources(flow) == [("not_account", "x.com/rival")]
    eventually(lambda: _reacted(flow, ts, "reactions.remove"), what="the :eyes: taken off")
    [removal] = [c for c in flow.calls("reactions.remove") if c["args"].get("timestamp") == ts]
    assert (removal["args"]["channel"], removal["args"]["name"], removal["ok"]) == (CHANNEL, "eyes", True)

    # Its later links are ignored, whichever host they use; another account's still count.
    later = flow.say(GRACE, f"they again: {RIVAL_AGAIN}")
    _share(flow, GRACE, f"ours: {OURS}")
    assert [p.canonical_url for p in _posts(flow)] == [_canonical(OURS)]
    assert not _reacted(flow, later)

    # Undone as the answer said.
    listed = flow.reply_text(ADA, "settings accounts")
    assert "Not the team's, ignored: `x.com/rival`." in listed, listed
    flow.reply_text(ADA, "settings accounts remove x.com/rival")
    assert _sources(flow) == []
    _share(flow, GRACE, f"they again: {RIVAL_AGAIN}")
    assert len(_posts(flow)) == 2


def test_an_x_reaction_takes_back_a_post_unless_something_was_recorded_for_it(flow: Flow) -> None:
    kept = _share(flow, ADA, f"ours <{OURS}>")
    flow.say(ADA, "14 comments, 3 replies", thread_ts=kept)
    eventually(lambda: _count(flow, Snapshot) == 1, what="the summary recorded")
    flow.react(GRACE, kept, "x")
    refusal = eventually(lambda: _told(flow, GRACE), what="the answer to :x:")
    assert "stays: taking it out would lose 1 snapshot of its numbers." in refusal["text"], refusal
    assert "delete its link from the message that shared it" in refusal["text"]
    assert len(_posts(flow)) == 1
    assert _sources(flow) == []

    gone = _share(flow, ADA, f"theirs <{RIVAL}>")
    flow.react(GRACE, gone, "x")
    eventually(lambda: len(_posts(flow)) == 1 and _sources(flow) != [], what="the post taken back")
    assert [p.canonical_url for p in _posts(flow)] == [_canonical(OURS)]
    assert _sources(flow) == [("not_account", "x.com/rival")]
    eventually(lambda: _reacted(flow, gone, "reactions.remove"), what="the :eyes: taken off")
    assert not _reacted(flow, kept, "reactions.remove")


def test_listed_accounts_are_the_only_ones_that_count(flow: Flow) -> None:
    answer = flow.reply_text(ADA, "settings accounts <https://twitter.com/ACME|twitter.com/ACME>")
    assert answer.startswith("Saved. This channel's own accounts: `x.com/acme`."), answer
    rival = flow.say(ADA, f"theirs <{RIVAL}>")
    ours = _share(flow, ADA, f"ours <{OURS}>")
    # An Instagram post's link doesn't say whose it is: it counts, and its sharer may take it back.
    _share(flow, ADA, f"photo <{INSTAGRAM}>")
    posts = _posts(flow)
    assert [p.canonical_url for p in posts] == [_canonical(OURS), _canonical(INSTAGRAM)]
    assert not _reacted(flow, rival)
    assert _reacted(flow, ours)
    _note_for(flow, ADA, posts[1])
    # No note for a post from a listed account.
    offered = {
        b["accessory"]["value"]
        for n in _ephemerals(flow, ADA)
        for b in n.get("blocks") or []
        if "accessory" in b
    }
    assert offered == {str(posts[1].id)}


def test_log_records_a_link_on_a_site_the_channel_never_named(flow: Flow) -> None:
    answer = flow.reply_text(ADA, f"log {DOC} comments=2 replies=1")
    assert answer.startswith(f"Added <{_canonical(DOC)}|"), answer
    [post] = _posts(flow)
    assert (post.platform, post.owner_user_id) == ("blog", ADA)


def _count(flow: Flow, model: type[Snapshot]) -> int:
    with flow.sessions.begin() as s:
        return len(s.scalars(select(model).where(model.team_id == TEAM)).all())


def _told(flow: Flow, user: str) -> dict[str, Any] | None:
    told = [c["args"] for c in flow.calls("chat.postEphemeral") if c["args"].get("user") == user and c["ok"]]
    return told[-1] if told else None


def test_a_post_another_channel_shares_too_is_not_taken_back_from_here(flow: Flow) -> None:
    other = "C0PRIVATE1"
    flow._post(
        "/_emulator/channel",
        {"team": TEAM, "id": other, "name": "launch", "is_private": True, "members": [ADA, GRACE]},
    )
    _share(flow, ADA, f"ours <{RIVAL}>")
    there = flow.say(GRACE, f"seen this? <{RIVAL}>", channel=other)
    eventually(lambda: _reacted(flow, there), what="the share in the other channel")
    flow.react(GRACE, there, "x", channel=other)

    def answered() -> dict[str, Any] | None:
        told = [c["args"] for c in flow.calls("chat.postEphemeral") if c["args"]["channel"] == other]
        return next((t for t in told if "can't take" in t["text"]), None)

    answer = eventually(answered, what="the answer to :x:")
    # The answer names neither the other channel nor anything of it.
    assert CHANNEL not in answer["text"]
    assert "delete its link from the message that shared it" in answer["text"]
    assert len(_posts(flow)) == 1
    assert _sources(flow) == []
    assert not _reacted(flow, there, "reactions.remove")
