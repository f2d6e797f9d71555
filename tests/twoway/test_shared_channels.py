"""Slack Connect and Enterprise Grid end to end, in distribution mode against the emulator's shared worlds.

A channel shared by two workspaces that both installed twoway through Slack's OAuth flow gets one ledger
and one digest, under its home installation (the first that brought it to twoway; `bot.homes`), whichever
installation Slack names in an event's `authorizations` (at most one: docs.slack.dev/changelog/
2020-09-15-events-api-truncate-authed-users) and whichever workspace runs a command. Two workspaces of
one Enterprise Grid org keep separate ledgers and installations (slack_sdk keys installations by
(enterprise_id, team_id)).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.homes import home_for
from storage.channel_homes import home_of
from storage.models import Comment, Post, Snapshot
from tests.support.polling import eventually
from tests.twoway.test_distribution import ADA, BEA, TEAM_A, TEAM_B, Distributed
from twoway.demo import get_json

SHARED = "C0CONNECT1"
POSTS = [f"https://x.com/acme/status/17900000000000001{n}" for n in range(4)]
ORG, NORTH, SOUTH = "E0ACME0001", "T0NORTH001", "T0SOUTH001"
WREN = "W0WREN0001"  # an org-wide user id of Enterprise Grid, in both of its workspaces


def share(dist: Distributed) -> None:
    """Workspace A's #connect shared over Slack Connect with workspace B, both having installed twoway."""
    dist.post("/_emulator/channel", {"team": TEAM_A, "id": SHARED, "name": "connect", "members": [ADA]})
    dist.post("/_emulator/share", {"team": TEAM_A, "channel": SHARED, "with": TEAM_B})
    for team in (TEAM_A, TEAM_B):
        assert dist.install(team)[0] == 200


def say(dist: Distributed, team: str, user: str, text: str, authorized: str) -> None:
    """Someone posts a link in the shared channel; returns once twoway has tracked it. (Events are
    handled in parallel: which of two at once claims a new channel's home is first come.)"""
    tracked = len(dist.calls("reactions.add"))
    answer = dist.post(
        "/_emulator/message",
        {"team": team, "channel": SHARED, "user": user, "text": text, "authorized": authorized},
    )
    assert answer["delivery"]["status"] == 200, answer
    eventually(lambda: len(dist.calls("reactions.add")) > tracked, what="the post tracked")


def posts_in(dist: Distributed, team: str, channel: str) -> list[str]:
    with dist.sessions.begin() as s:
        found = s.scalars(
            select(Post.canonical_url)
            .where(Post.team_id == team, Post.channel_id == channel)
            .order_by(Post.id)
        )
        return list(found)


def test_a_shared_channel_keeps_one_ledger_whichever_installation_slack_names(dist: Distributed) -> None:
    share(dist)
    # The first event comes through A: A is the channel's home. Then every mix of actor and authorization.
    say(dist, TEAM_A, ADA, f"one <{POSTS[0]}>", authorized=TEAM_A)
    say(dist, TEAM_B, BEA, f"two <{POSTS[1]}>", authorized=TEAM_B)
    say(dist, TEAM_B, BEA, f"three <{POSTS[2]}>", authorized=TEAM_A)
    say(dist, TEAM_A, ADA, f"four <{POSTS[3]}>", authorized=TEAM_B)
    eventually(lambda: len(dist.calls("reactions.add")) == 4, what="four posts tracked")

    assert posts_in(dist, TEAM_A, SHARED) == POSTS
    assert posts_in(dist, TEAM_B, SHARED) == []
    # Every answer in the channel came from the home's bot.
    assert {c["team"] for c in dist.calls("reactions.add")} == {TEAM_A}
    with dist.sessions.begin() as s:
        home = home_of(s, SHARED)
    assert home is not None
    assert home.team_id == TEAM_A

    # A command from B's side reads and writes A's ledger.
    flagged = dist.command(TEAM_B, SHARED, BEA, f"flag {POSTS[1]} When does it ship?")
    assert flagged[0]["text"].startswith("Flagged as comment #1"), flagged
    [waiting] = dist.command(TEAM_A, SHARED, ADA, "unanswered")
    assert waiting["text"].startswith("1 comment is waiting")
    with dist.sessions.begin() as s:
        assert list(s.scalars(select(Comment.team_id))) == [TEAM_A]
    # B's own channel knows nothing of it.
    [elsewhere] = dist.command(TEAM_B, "C0SECOND01", BEA, "unanswered")
    assert "When does it ship" not in json.dumps(elsewhere)

    # One schedule, one digest, posted by the home's bot.
    schedules = dist.runtime.schedules
    assert schedules is not None
    schedules.sync_all()
    assert {j for j in dist.digest_jobs() if SHARED in j} == {f"digest:{TEAM_A}:{SHARED}"}
    outcome = schedules.run_digest(TEAM_A, SHARED)
    assert outcome is not None
    assert outcome.status == "posted"
    assert schedules.run_digest(TEAM_B, SHARED) is None
    shown = get_json(f"{dist.emulator.base_url}/_emulator/messages?team={TEAM_B}&channel={SHARED}")
    digests = [m for m in shown if (m.get("metadata") or {}).get("event_type") == "twoway_digest"]
    assert len(digests) == 1
    assert digests[0]["bot_id"] == "B0TWOWAY1"


def test_when_the_home_uninstalls_the_other_installation_takes_the_channel_over(dist: Distributed) -> None:
    share(dist)
    say(dist, TEAM_A, ADA, f"one <{POSTS[0]}>", authorized=TEAM_A)
    say(dist, TEAM_B, BEA, f"two <{POSTS[1]}>", authorized=TEAM_B)
    eventually(lambda: len(dist.calls("reactions.add")) == 2, what="both posts tracked")
    dist.command(TEAM_B, SHARED, BEA, f"flag {POSTS[1]} When does it ship?")

    assert dist.event(TEAM_A, {"type": "app_uninstalled"})["delivery"]["status"] == 200
    eventually(lambda: dist.installations.teams() == [TEAM_B], what="A's installation deleted")
    # Uninstalling removes nothing of the channel: its home and ledger wait for the other side.
    assert posts_in(dist, TEAM_A, SHARED) == POSTS[:2]

    # The next event in the channel comes through B alone, as A can no longer see it.
    say(dist, TEAM_A, ADA, f"three <{POSTS[2]}>", authorized=TEAM_B)
    eventually(lambda: len(dist.calls("reactions.add")) == 3, what="the third post tracked")
    assert posts_in(dist, TEAM_B, SHARED) == POSTS[:3]
    assert posts_in(dist, TEAM_A, SHARED) == []
    [waiting] = dist.command(TEAM_B, SHARED, BEA, "unanswered")
    assert waiting["text"].startswith("1 comment is waiting")
    assert dist.calls("reactions.add")[-1]["team"] == TEAM_B
    assert {j for j in dist.digest_jobs() if SHARED in j} == {f"digest:{TEAM_B}:{SHARED}"}


def grid(dist: Distributed) -> None:
    """North and South, two workspaces of one Grid org, each installed, each with its own #social, and
    North's #launch shared with South."""
    for team in (NORTH, SOUTH):
        dist.post("/_emulator/team", {"id": team, "domain": team.lower(), "enterprise_id": ORG})
        dist.post("/_emulator/channel", {"team": team, "id": f"C0{team[2:7]}01", "name": "social"})
        assert dist.install(team)[0] == 200
    dist.post("/_emulator/channel", {"team": NORTH, "id": SHARED, "name": "launch"})
    dist.post("/_emulator/share", {"team": NORTH, "channel": SHARED, "with": SOUTH})


def test_two_workspaces_of_one_enterprise_never_collide(dist: Distributed) -> None:
    grid(dist)
    bots = {team: dist.installations.bot(team, ORG) for team in (NORTH, SOUTH)}
    assert all(bot is not None for bot in bots.values())
    # The same org-wide person shares the same post in each workspace's own #social: two ledgers.
    for team in (NORTH, SOUTH):
        answer = dist.post(
            "/_emulator/message",
            {"team": team, "channel": f"C0{team[2:7]}01", "user": WREN, "text": f"<{POSTS[0]}>"},
        )
        assert answer["delivery"]["status"] == 200
    eventually(lambda: len(dist.calls("reactions.add")) == 2, what="both tracked")
    assert posts_in(dist, NORTH, "C0NORTH01") == [POSTS[0]]
    assert posts_in(dist, SOUTH, "C0SOUTH01") == [POSTS[0]]

    # The org-shared channel keeps one ledger, whichever workspace's installation is named.
    say(dist, SOUTH, WREN, f"<{POSTS[1]}>", authorized=SOUTH)
    say(dist, NORTH, WREN, f"<{POSTS[2]}>", authorized=NORTH)
    eventually(lambda: len(dist.calls("reactions.add")) == 4, what="the shared channel's posts tracked")
    assert posts_in(dist, SOUTH, SHARED) == [POSTS[1], POSTS[2]]
    assert posts_in(dist, NORTH, SHARED) == []
    with dist.sessions.begin() as s:
        home = home_of(s, SHARED)
    assert home is not None
    assert (home.team_id, home.enterprise_id) == (SOUTH, ORG)

    # Uninstalling one workspace of the org leaves the other's installation, ledger and home alone.
    dist.event(NORTH, {"type": "app_uninstalled"})
    eventually(lambda: NORTH not in dist.installations.teams(), what="North's installation deleted")
    assert dist.installations.bot(SOUTH, ORG) is not None
    assert posts_in(dist, SOUTH, "C0SOUTH01") == [POSTS[0]]
    assert posts_in(dist, NORTH, "C0NORTH01") == [POSTS[0]]
    assert home_for(dist.runtime.deps, SHARED, SOUTH, ORG).team_id == SOUTH


def test_a_summary_under_a_post_delivered_as_the_other_workspace_is_recorded(dist: Distributed) -> None:
    """The reply is delivered as B, whose ledger tracks nothing in the channel: the post is in A's, the
    channel's home. Deciding relevance as B alone would drop it (`bot.relevance`)."""
    share(dist)
    say(dist, TEAM_A, ADA, f"one <{POSTS[0]}>", authorized=TEAM_A)
    [shared] = [c["args"]["timestamp"] for c in dist.calls("reactions.add")]
    answer = dist.post(
        "/_emulator/message",
        {
            "team": TEAM_B,
            "channel": SHARED,
            "user": BEA,
            "text": "8 comments, 2 replies",
            "thread_ts": shared,
            "authorized": TEAM_B,
        },
    )
    assert answer["delivery"]["status"] == 200, answer

    def snapshots() -> list[str]:
        with dist.sessions.begin() as s:
            return list(s.scalars(select(Snapshot.team_id)))

    assert eventually(snapshots, what="the summary's snapshot") == [TEAM_A]
