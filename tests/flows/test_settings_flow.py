"""A channel's time and settings through Slack: schedules in people's own words, a question with
choices when they are ambiguous, and one line in the channel naming who changed what."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select

from storage.models import Channel
from tests.support.flows import ADA, CHANNEL, GRACE, TEAM, Flow
from tests.support.polling import eventually


def _channel(flow: Flow) -> Channel:
    with flow.sessions.begin() as s:
        channel = s.scalars(
            select(Channel).where(Channel.team_id == TEAM, Channel.channel_id == CHANNEL)
        ).one()
        s.expunge(channel)
        return channel


def _said(flow: Flow) -> list[str]:
    """What twoway said in the channel itself, oldest first."""
    return [str(m.get("text", "")) for m in flow.bot_messages() if not m.get("thread_ts")]


def _ephemerals(flow: Flow, user: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = flow._get(
        f"/_emulator/ephemerals?team={TEAM}&channel={CHANNEL}&user={user}"
    )
    return found


def test_schedule_in_words_is_saved_and_said_in_the_channel_naming_who(flow: Flow) -> None:
    answer = flow.reply_text(ADA, "schedule fri 4pm Paris")
    assert answer.startswith("Saved. This channel's digest is posted every Friday at 16:00 (Europe/Paris)")
    channel = _channel(flow)
    assert (channel.digest_weekday, channel.digest_minute, channel.timezone) == (4, 960, "Europe/Paris")
    line = f"<@{ADA}> moved this channel's digest to Fridays at 16:00 Europe/Paris."
    eventually(lambda: line in _said(flow), what="the change said in the channel")

    # The same schedule again changes nothing, and says nothing more.
    flow.reply_text(GRACE, "schedule friday 16:00 europe/paris")
    assert _said(flow).count(line) == 1
    assert not any(f"<@{GRACE}>" in said for said in _said(flow))

    assert flow.reply_text(ADA, "schedule tue noon UTC+2").startswith(
        "Saved. This channel's digest is posted every Tuesday at 12:00 (Etc/GMT-2, UTC+02:00 all year "
        "with no daylight saving)"
    )
    flow.reply_text(ADA, "schedule off")
    eventually(lambda: f"<@{ADA}> turned this channel's digest off." in _said(flow), what="off said")


def test_an_ambiguous_zone_asks_and_a_click_sets_that_exact_schedule(flow: Flow) -> None:
    [asked] = flow.command(GRACE, "schedule mon 9am EST")
    assert asked["text"].startswith("`EST` means more than one time zone. Which did you mean?")
    buttons = [e for b in asked["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == [
        "monday 09:00 America/New_York",
        "monday 09:00 America/Toronto",
        "monday 09:00 Etc/GMT+5",
    ]
    # Nothing is recorded until a choice is made.
    channel = _channel(flow)
    assert (channel.digest_weekday, channel.digest_minute) == (0, 540)
    assert channel.timezone == "America/New_York"  # Grace's own, as she first set the channel up
    flow.reply_text(ADA, "schedule UTC")
    said_before = _said(flow)

    shown = eventually(
        lambda: next((m for m in _ephemerals(flow, GRACE) if "EST" in str(m.get("text"))), None),
        what="the question shown to Grace",
    )
    clicked = flow.click(GRACE, shown["ts"], buttons[0]["action_id"], buttons[0]["value"])
    assert clicked
    eventually(lambda: _channel(flow).timezone == "America/New_York", what="the chosen zone saved")
    channel = _channel(flow)
    assert (channel.digest_weekday, channel.digest_minute) == (0, 540)
    schedules = flow.runtime.schedules
    assert schedules is not None
    job = schedules.scheduler.get_job(f"digest:{TEAM}:{CHANNEL}")
    assert job is not None
    assert str(job.trigger.timezone) == "America/New_York"
    line = f"<@{GRACE}> moved this channel's digest to Mondays at 09:00 America/New_York."
    eventually(lambda: line in _said(flow), what="the choice said in the channel")
    assert len(_said(flow)) == len(said_before) + 1


def test_an_unknown_zone_is_refused_and_nothing_is_recorded(flow: Flow) -> None:
    flow.reply_text(ADA, "schedule")
    before = _channel(flow)
    said_before = _said(flow)
    refused = flow.reply_text(ADA, "schedule mon 9am Atlantis")
    assert refused.startswith("I don't know the time zone `Atlantis`.")
    assert "`Europe/Paris`" in refused
    after = _channel(flow)
    assert (after.timezone, after.digest_minute, after.updated_at) == (
        before.timezone,
        before.digest_minute,
        before.updated_at,
    )
    assert _said(flow) == said_before


def test_settings_changes_are_said_in_one_line_naming_who(flow: Flow) -> None:
    flow.reply_text(ADA, "settings flag :raising_hand:")
    eventually(
        lambda: f"<@{ADA}> set the flag emoji to :raising_hand:." in _said(flow), what="the flag change said"
    )
    flow.reply_text(GRACE, "settings threshold 6 resolve :+1:")
    eventually(
        lambda: (
            f"<@{GRACE}> set the nudge threshold to 6 hours and the resolve emoji to :+1:." in _said(flow)
        ),
        what="two changes said in one line",
    )
    count = len(_said(flow))
    flow.reply_text(GRACE, "settings threshold 6")
    flow.reply_text(GRACE, "settings")
    assert len(_said(flow)) == count


def test_watching_is_turned_off_and_on_said_and_shown_and_bad_input_records_nothing(flow: Flow) -> None:
    shown = flow.reply_text(ADA, "settings")
    assert "Bluesky and Mastodon posts: watched." in shown
    assert _channel(flow).watch_enabled is True

    answer = flow.reply_text(ADA, "settings watch off")
    assert answer.startswith("Saved. ")
    assert "Bluesky and Mastodon posts: not watched." in answer
    assert _channel(flow).watch_enabled is False
    eventually(
        lambda: (
            f"<@{ADA}> turned off reading this channel's Bluesky and Mastodon posts on their networks."
            in _said(flow)
        ),
        what="watching off said in the channel",
    )

    before = _channel(flow)
    said_before = _said(flow)
    refused = flow.reply_text(GRACE, "settings watch maybe")
    assert refused.startswith("`maybe` isn't `on` or `off`; write `watch on` or `watch off`.")
    after = _channel(flow)
    assert (after.watch_enabled, after.updated_at) == (before.watch_enabled, before.updated_at)
    assert _said(flow) == said_before

    assert "Bluesky and Mastodon posts: watched." in flow.reply_text(GRACE, "settings watch on")
    assert _channel(flow).watch_enabled is True
    eventually(
        lambda: (
            f"<@{GRACE}> turned on reading this channel's Bluesky and Mastodon posts on their networks."
            in _said(flow)
        ),
        what="watching on said in the channel",
    )


GENERAL = "C0GENERAL1"
BOT = "U0TWOWAYBOT"


def _general(flow: Flow) -> Channel | None:
    with flow.sessions.begin() as s:
        channel = s.scalars(
            select(Channel).where(Channel.team_id == TEAM, Channel.channel_id == GENERAL)
        ).first()
        if channel is not None:
            s.expunge(channel)
        return channel


def _welcome(flow: Flow) -> str:
    return str(
        eventually(
            lambda: next(
                (m["text"] for m in flow.bot_messages(GENERAL) if "Thanks for adding" in m["text"]), None
            ),
            what="the welcome",
        )
    )


def test_invited_by_a_new_york_user_the_channel_takes_new_york_time_and_the_welcome_says_so(
    flow: Flow,
) -> None:
    joined = flow._post("/_emulator/join", {"team": TEAM, "channel": GENERAL, "user": BOT, "inviter": GRACE})
    assert joined["delivery"]["status"] == 200, joined
    welcome = _welcome(flow)
    assert (
        f"Digests post Mondays at 09:00 America/New_York (<@{GRACE}>'s time zone). "
        "Change it with `/twoway schedule fri 4pm Europe/Paris`."
    ) in welcome
    channel = _general(flow)
    assert channel is not None
    assert channel.timezone == "America/New_York"
    schedules = flow.runtime.schedules
    assert schedules is not None
    job = eventually(lambda: schedules.scheduler.get_job(f"digest:{TEAM}:{GENERAL}"), what="the digest job")
    assert str(job.trigger.timezone) == "America/New_York"
    assert [c["args"].get("user") for c in flow.calls("users.info")] == [GRACE]


def test_a_zone_someone_chose_is_never_changed_by_a_later_invitation(flow: Flow) -> None:
    flow._post("/_emulator/join", {"team": TEAM, "channel": GENERAL, "user": BOT, "inviter": GRACE})
    _welcome(flow)
    flow.reply_text(ADA, "schedule Paris", channel=GENERAL)
    flow._post("/_emulator/leave", {"team": TEAM, "channel": GENERAL})
    eventually(lambda: not (_general(flow) or Channel(bot_is_member=True)).bot_is_member, what="twoway out")
    flow._post("/_emulator/join", {"team": TEAM, "channel": GENERAL, "user": BOT, "inviter": "U0LINUS001"})
    eventually(lambda: (_general(flow) or Channel(bot_is_member=False)).bot_is_member, what="twoway back")
    channel = _general(flow)
    assert channel is not None
    assert channel.timezone == "Europe/Paris"


def test_a_channel_first_set_up_by_a_command_takes_the_zone_of_whoever_ran_it(flow: Flow) -> None:
    # twoway is in the channel before the ledger knows it: the command is the channel's first sight.
    shown = flow.reply_text(GRACE, "schedule")
    assert "every Monday at 09:00 (America/New_York)" in shown


def test_when_slack_wont_say_the_inviters_zone_the_channel_keeps_utc_and_the_welcome_says_so(
    flow: Flow,
) -> None:
    flow._post("/_emulator/faults", {"method": "users.info", "status": 500, "count": 10})
    flow._post("/_emulator/join", {"team": TEAM, "channel": GENERAL, "user": BOT, "inviter": GRACE})
    welcome = _welcome(flow)
    assert (
        f"Digests post Mondays at 09:00 UTC (I couldn't read <@{GRACE}>'s time zone from Slack)." in welcome
    )
    channel = _general(flow)
    assert channel is not None
    assert channel.timezone == "UTC"


def test_an_emoji_slack_doesnt_know_is_refused_and_nothing_is_recorded(flow: Flow) -> None:
    flow.reply_text(ADA, "settings")
    before = _channel(flow)
    said_before = _said(flow)
    refused = flow.reply_text(ADA, "settings threshold 6 flag :not_a_real_emoji_xyz:")
    assert refused.startswith(
        "`:not_a_real_emoji_xyz:` isn't in Slack's standard emoji or this workspace's custom ones; "
        "nothing was changed."
    )
    after = _channel(flow)
    assert (after.flag_emoji, after.unanswered_threshold_hours, after.updated_at) == (
        before.flag_emoji,
        before.unanswered_threshold_hours,
        before.updated_at,
    )
    assert _said(flow) == said_before
    assert len(flow.calls("emoji.list")) == 1


def test_a_custom_emoji_of_the_workspace_is_accepted(flow: Flow) -> None:
    flow._post("/_emulator/emoji", {"team": TEAM, "name": "on-it"})
    flow._post("/_emulator/emoji", {"team": TEAM, "name": "mine", "alias": "on-it"})
    answer = flow.reply_text(ADA, "settings flag :on-it: resolve :mine:")
    assert answer.startswith("Saved.")
    channel = _channel(flow)
    assert (channel.flag_emoji, channel.resolve_emoji) == ("on-it", "mine")
    # Standard emoji need no call; the workspace's list is kept a while.
    flow.reply_text(ADA, "settings dismiss :no_good:")
    flow.reply_text(ADA, "settings flag :on-it:")
    assert len(flow.calls("emoji.list")) == 1


def test_without_emoji_read_only_standard_emoji_are_accepted_and_the_answer_says_why(flow: Flow) -> None:
    granted = flow.emulator.state.app.bot_scopes
    assert granted is not None
    flow.emulator.state.app = dataclasses.replace(
        flow.emulator.state.app, bot_scopes=granted - {"emoji:read"}
    )
    flow._post("/_emulator/emoji", {"team": TEAM, "name": "on-it"})
    refused = flow.reply_text(ADA, "settings flag :on-it:")
    assert "I couldn't list this workspace's custom ones (twoway lacks the `emoji:read` permission" in refused
    assert _channel(flow).flag_emoji == "speech_balloon"
    assert flow.reply_text(ADA, "settings flag :raising_hand:").startswith("Saved.")
