"""A comment's own link: flagged by its permalink, by a post's link and its reply's, or by a reaction on
a message that carries it; kept on the comment and shown where comments are listed."""

from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import Comment, Post
from tests.support.flows import ADA, GRACE, LINUS, TEAM, Flow
from tests.support.polling import eventually

FB_POST = "https://www.facebook.com/twoway/posts/pfbid0123"
FB_COMMENT = "https://www.facebook.com/twoway/posts/pfbid0123?comment_id=4455&reply_comment_id=6677"
REDDIT_POST = "https://www.reddit.com/r/selfhosted/comments/1abcde/twoway_is_out/"
REDDIT_COMMENT = "https://www.reddit.com/r/selfhosted/comments/1abcde/comment/kx9y8z7/"
X_POST = "https://x.com/twoway/status/1790000000000000001"
X_REPLY = "https://x.com/fan/status/1790000000000000099"


def _posts(flow: Flow) -> list[Post]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Post).where(Post.team_id == TEAM).order_by(Post.id)))


def _comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))


def _shared(flow: Flow, url: str) -> str:
    ts = flow.say(ADA, f"<{url}>")
    eventually(
        lambda: [c for c in flow.calls("reactions.add") if c["args"].get("timestamp") == ts], what=":eyes:"
    )
    return ts


def _comment_link(url: str) -> str:
    return f"<{url.replace('&', '&amp;')}|comment>"


def test_a_comment_permalink_flags_the_comment_under_its_post(flow: Flow) -> None:
    shared = _shared(flow, FB_POST)
    answer = flow.reply_text(GRACE, f'flag <{FB_COMMENT.replace("&", "&amp;")}> "Do you ship to Canada?"')

    [post] = _posts(flow)
    [comment] = _comments(flow)
    assert answer.startswith(f"Flagged as comment #{comment.id}")
    assert (comment.post_id, comment.text, comment.url) == (post.id, "Do you ship to Canada?", FB_COMMENT)
    notice = next(m for m in flow.bot_messages() if m["ts"] == comment.notice_ts)
    assert notice["thread_ts"] == shared
    assert _comment_link(FB_COMMENT) in json.dumps(notice["blocks"])

    # Listed with its link, in /twoway unanswered and in the digest.
    [unanswered] = flow.command(ADA, "unanswered")
    assert _comment_link(FB_COMMENT) in json.dumps(unanswered["blocks"])
    [preview] = flow.command(ADA, "digest preview")
    assert _comment_link(FB_COMMENT) in json.dumps(preview["blocks"])


def test_a_reply_link_after_the_posts_is_the_comments_link(flow: Flow) -> None:
    _shared(flow, X_POST)
    flow.reply_text(GRACE, f'flag <{X_POST}> <{X_REPLY}?s=20> "When does it ship?" by @fan')
    [post] = _posts(flow)
    [comment] = _comments(flow)
    assert (comment.post_id, comment.text, comment.author, comment.url) == (
        post.id,
        "When does it ship?",
        "@fan",
        f"{X_REPLY}?s=20",
    )


def test_a_comment_permalink_of_a_post_nobody_shared_adds_the_post_by_its_own_link(flow: Flow) -> None:
    flow.reply_text(GRACE, f"flag <{REDDIT_COMMENT}> Where is the changelog?")
    [post] = _posts(flow)
    [comment] = _comments(flow)
    assert (post.canonical_url, post.url) == ("https://reddit.com/comments/1abcde",) * 2
    assert comment.url == REDDIT_COMMENT


def test_a_flag_reaction_records_the_link_the_flagged_message_carries(flow: Flow) -> None:
    reddit = _shared(flow, REDDIT_POST)
    x = _shared(flow, X_POST)
    by_permalink = flow.say(LINUS, f"this one is waiting: <{REDDIT_COMMENT}>", thread_ts=reddit)
    by_reply = flow.say(LINUS, f"“when does it ship?” <{X_REPLY}>", thread_ts=x)
    plain = flow.say(LINUS, "and dark mode?", thread_ts=x)
    for ts in (by_permalink, by_reply, plain):
        flow.react(GRACE, ts, "speech_balloon")
    eventually(lambda: len(_comments(flow)) == 3, what="three comments")
    with flow.sessions.begin() as s:
        reddit_post, x_post = (
            s.scalars(select(Post).where(Post.team_id == TEAM, Post.message_ts == ts)).one()
            for ts in (reddit, x)
        )
    by_message = {c.message_ts: (c.post_id, c.url) for c in _comments(flow)}
    assert by_message == {
        by_permalink: (reddit_post.id, REDDIT_COMMENT),
        by_reply: (x_post.id, X_REPLY),
        plain: (x_post.id, None),
    }
    assert reddit_post.canonical_url == "https://reddit.com/comments/1abcde"
    # The reply's link, pasted in the post's thread, is the comment's own: no post of its own, no :eyes:.
    assert [p.canonical_url for p in _posts(flow)] == [reddit_post.canonical_url, x_post.canonical_url]
    assert not [c for c in flow.calls("reactions.add") if c["args"].get("timestamp") == by_reply]


def test_the_teams_next_post_shared_in_a_posts_thread_is_still_a_post(flow: Flow) -> None:
    first = _shared(flow, X_POST)
    follow_up = "https://x.com/twoway/status/1790000000000000002"
    reply = flow.say(ADA, f"and the thread goes on: <{follow_up}>", thread_ts=first)
    eventually(
        lambda: [c for c in flow.calls("reactions.add") if c["args"].get("timestamp") == reply], what=":eyes:"
    )
    assert [p.canonical_url for p in _posts(flow)] == [X_POST, follow_up]
