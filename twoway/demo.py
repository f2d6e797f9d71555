"""`twoway demo`: the whole product on this machine against the local Slack emulator, no Slack account.

It starts the emulator and twoway in this process with a fresh SQLite ledger, plays a team's
fortnight in #social through the emulator as people would post it, moves a controllable clock to
Monday 09:00, and lets twoway's own scheduler fire the digest and the nudges. Then it prints what
the channel shows and says where the digest's chart was saved.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.config import Config, Secret
from bot.digest.period import period_ending, slot_at_or_before
from bot.render_ledger import ANSWERED_ACTION, CLAIM_ACTION
from bot.scheduler import SWEEP_JOB_ID
from bot.watcher import Watcher
from emulator import Emulator, EmulatorSettings, RateLimits
from twoway.demo_team import (
    ADA,
    CHANNEL,
    FLAGS,
    GRACE,
    HEARD,
    LAST_SWEEP_BEFORE_MONDAY,
    ON_NETWORKS,
    SHARES,
    SWEEP_EVERY,
    TEAM,
    Heard,
    at,
)
from twoway.preview import blocks_to_text
from twoway.runtime import Runtime, prepare
from twoway.watch_role import make_readers

NAMES = {
    "U0ADA00001": "ada",
    "U0GRACE001": "grace",
    "U0LINUS001": "linus",
    "U0TWOWAYBOT": "twoway",
    "C0SOCIAL01": "social",
}
WAIT = 20.0
# The handle and record key of a Bluesky post's link; the instance, user and status id of a Mastodon one.
BLUESKY_LINK = re.compile(r"bsky\.app/profile/([^/\s]+)/post/([^/\s?]+)")
MASTODON_LINK = re.compile(r"https://([^/\s]+)/@([^/\s]+)/(\d+)")
APP_KINDS = {
    "internal": "an internal app",
    "marketplace": "a Marketplace app",
    "non-marketplace": "an app installed from its install link, outside the Marketplace",
}
DIGEST, NUDGE = "twoway_digest", "twoway_nudge"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def post_json(url: str, payload: dict[str, Any], timeout: float = 15) -> Any:
    """POST `payload` as JSON to a loopback control endpoint and return the decoded answer."""
    request = urllib.request.Request(  # noqa: S310 - the emulator on loopback
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


def get_json(url: str, timeout: float = 15) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the emulator on loopback
        return json.loads(response.read())


def local_config(*, api_url: str, signing_secret: str, database_url: str, port: int) -> Config:
    """twoway's settings for running against the local emulator in HTTP mode, Bluesky and Mastodon
    included (`api_url` is its Slack Web API's)."""
    base = api_url.removesuffix("/").removesuffix("/api")
    return Config(
        bot_token=Secret("xoxb-twoway-local"),
        signing_secret=Secret(signing_secret),
        app_token=None,
        database_url=database_url,
        slack_api_url=api_url,
        timezone="UTC",
        port=port,
        bluesky_api_url=f"{base}/bluesky",
        mastodon_api_url=f"{base}/mastodon",
    )


def what_the_user_saw(seen: dict[str, Any]) -> str:
    """The ack body and `response_url` posts of a delivered command, as Slack would show them."""
    shown = [seen["ack"]["body"], *seen.get("responses", [])]
    parts = [
        blocks_to_text(body.get("blocks") or [], body.get("text", ""))
        for body in shown
        if isinstance(body, dict) and (body.get("blocks") or body.get("text"))
    ]
    return "\n\n".join(parts)


@dataclass
class DemoClock:
    """The time twoway and the emulator see: set by the demo, not by the wall."""

    moment: datetime
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self) -> datetime:
        with self._lock:
            return self.moment

    def set(self, moment: datetime) -> None:
        with self._lock:
            self.moment = moment

    def epoch(self) -> float:
        return self.now().timestamp()


@dataclass(frozen=True)
class DemoResult:
    """What the demo saw: the emulator's calls, the digest as text (as posted, and as it stood once
    someone was on one of its comments and another was answered), and where its chart went."""

    calls: list[dict[str, Any]]
    digest_text: str
    chart_path: Path | None
    live_text: str = ""


class _Team:
    """The demo's people, acting through the emulator and waiting for twoway to act in turn."""

    def __init__(self, emulator: Emulator, clock: DemoClock) -> None:
        self.base = emulator.base_url
        self.clock = clock
        # Each post and reply made on a network, by its key: its at:// URI or its status id.
        self.on_network: dict[str, str] = {}
        self.instances: dict[str, str] = {}

    def calls(self, method: str) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = get_json(f"{self.base}/_emulator/calls?method={method}")
        return calls

    def until(self, probe: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not probe():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the demo waited too long for {what}")
            time.sleep(0.02)

    def say(self, moment: datetime, user: str, text: str, thread_ts: str | None = None) -> str:
        self.clock.set(moment)
        payload: dict[str, Any] = {"team": TEAM, "channel": CHANNEL, "user": user, "text": text}
        if thread_ts:
            payload["thread_ts"] = thread_ts
        return str(post_json(f"{self.base}/_emulator/message", payload)["ts"])

    def reacted(self, ts: str) -> bool:
        return any(c["args"].get("timestamp") == ts and c["ok"] for c in self.calls("reactions.add"))

    def react(self, moment: datetime, user: str, ts: str, reaction: str) -> None:
        self.clock.set(moment)
        post_json(
            f"{self.base}/_emulator/reaction",
            {"team": TEAM, "channel": CHANNEL, "ts": ts, "user": user, "reaction": reaction},
        )

    def click(self, user: str, message_ts: str, action_id: str, value: str) -> None:
        """``user`` clicks a button of twoway's message, as Slack's client would send it."""
        post_json(
            f"{self.base}/_emulator/action",
            {
                "team": TEAM,
                "channel": CHANNEL,
                "user": user,
                "message_ts": message_ts,
                "action_id": action_id,
                "value": value,
                "wait": 0.5,
            },
        )

    def message(self, ts: str) -> dict[str, Any]:
        """A message of #social as the channel shows it now, edits included."""
        messages = get_json(f"{self.base}/_emulator/messages?team={TEAM}&channel={CHANNEL}")
        return dict(next(m for m in messages if m.get("ts") == ts))

    def publish(self, key: str, moment: datetime, link: str) -> None:
        """The share ``key``'s post on its network, as ``link`` names it, made a few minutes before."""
        post = ON_NETWORKS[key]
        written = moment - timedelta(minutes=10)
        if post.network == "bluesky":
            handle, rkey = BLUESKY_LINK.findall(link)[0]
            made = post_json(
                f"{self.base}/_emulator/bluesky/post",
                {
                    "author": handle,
                    "text": post.text,
                    "rkey": rkey,
                    "created_at": written.isoformat(),
                    "reposts": post.shares,
                    "likes": post.likes,
                },
            )
            self.on_network[key] = str(made["uri"])
        else:
            instance, _, status_id = MASTODON_LINK.findall(link)[0]
            post_json(
                f"{self.base}/_emulator/mastodon/statuses",
                {
                    "instance": instance,
                    "author": post.author,
                    "content": post.text,
                    "id": status_id,
                    "created_at": written.timestamp(),
                    "reblogs": post.shares,
                    "favourites": post.likes,
                },
            )
            self.on_network[key] = status_id
            self.instances[key] = instance

    def hear(self, heard: Heard, moment: datetime) -> None:
        """A reply on the network: by someone in the audience, or by the team's own account."""
        parent = self.on_network[heard.answers or heard.on]
        if ON_NETWORKS[heard.on].network == "bluesky":
            made = post_json(
                f"{self.base}/_emulator/bluesky/post",
                {
                    "author": heard.by,
                    "text": heard.text,
                    "reply_to": parent,
                    "created_at": moment.isoformat(),
                },
            )
            self.on_network[heard.key] = str(made["uri"])
        else:
            made = post_json(
                f"{self.base}/_emulator/mastodon/statuses",
                {
                    "instance": self.instances[heard.on],
                    "author": heard.by,
                    "content": heard.text,
                    "in_reply_to_id": parent,
                    "created_at": moment.timestamp(),
                },
            )
            self.on_network[heard.key] = str(made["status"]["id"])

    def command(self, moment: datetime, user: str, text: str) -> dict[str, Any]:
        self.clock.set(moment)
        seen: dict[str, Any] = post_json(
            f"{self.base}/_emulator/command",
            {"team": TEAM, "channel": CHANNEL, "user": user, "command": "/twoway", "text": text},
        )
        return seen


OWN_ACCOUNTS = (
    "x.com/twoway_app",
    "bsky.app/profile/twoway.bsky.social",
    "mastodon.social/@twoway",
    "linkedin.com/company/twoway",
)


def play_fortnight(team: _Team, runtime: Runtime, now: datetime, watcher: Watcher | None = None) -> None:
    """Every share, summary, flag and answer of the fortnight before ``now``, in the order they happened,
    and the replies on Bluesky and Mastodon under the team's posts there.

    twoway was running all along: its sweep nudged owners every few hours, its watcher (``watcher``)
    read the networks as often, and last Monday's digest went out at 09:00.
    """
    shared: dict[str, tuple[str, datetime]] = {}
    events: list[tuple[datetime, Callable[[], None]]] = []
    schedules, publisher = runtime.schedules, runtime.deps.publisher
    assert schedules is not None
    assert publisher is not None

    # The team's own blog and accounts: a link to them is the team's post without asking.
    setup = now - timedelta(days=14, hours=1)
    team.command(setup, ADA, "settings sites blog.twoway.example")
    team.command(setup, ADA, " ".join(("settings accounts", *OWN_ACCOUNTS)))

    tick = now - timedelta(days=14)
    while tick <= now - LAST_SWEEP_BEFORE_MONDAY:

        def sweep(tick: datetime = tick) -> None:
            team.clock.set(tick)
            if watcher is not None:
                watcher.run_once()
            schedules.run_sweep()

        events.append((tick, sweep))
        tick += SWEEP_EVERY

    def last_monday() -> None:
        slot = now - timedelta(days=7)
        team.clock.set(slot)
        publisher.publish_digest(TEAM, CHANNEL, period_ending(slot, "UTC"))

    events.append((now - timedelta(days=7), last_monday))

    for share in SHARES:
        when = at(now, share.days_ago)

        def post(share: Any = share, when: datetime = when) -> None:
            if share.key in ON_NETWORKS:
                team.publish(share.key, when, share.text)
            ts = team.say(when, share.user, share.text)
            shared[share.key] = (ts, when)
            team.until(lambda: team.reacted(ts), f"twoway to track {share.key}")

        events.append((when, post))
        if share.summary:

            def summarise(share: Any = share) -> None:
                ts, when = shared[share.key]
                reply = team.say(when + timedelta(hours=share.summary_after_hours), ADA, share.summary, ts)
                team.until(lambda: team.reacted(reply), f"the summary of {share.key}")

            events.append((when + timedelta(hours=share.summary_after_hours), summarise))

    flagged: dict[str, int] = {}
    for flag in FLAGS:
        share = next(s for s in SHARES if s.key == flag.on)
        when = at(now, share.days_ago, flag.hours_after_share)

        def quote_and_flag(flag: Any = flag, when: datetime = when) -> None:
            ts, _ = shared[flag.on]
            quoted = team.say(when, flag.quoted_by, f"> {flag.text}", ts)
            team.react(when + timedelta(minutes=2), flag.flagged_by, quoted, "speech_balloon")
            count = len(flagged) + 1
            team.until(lambda: len(_notices(team)) >= count, f"the flag on {flag.on}")
            notice = str(_notices(team)[-1]["args"]["text"])
            flagged[flag.text] = int(notice.split("#", 1)[1].split()[0])

        events.append((when, quote_and_flag))
        if flag.answered_after_hours is not None:

            def answer(flag: Any = flag, when: datetime = when) -> None:
                owner = next(s for s in SHARES if s.key == flag.on).user
                moment = when + timedelta(hours=flag.answered_after_hours)
                team.command(moment, owner, f"answered {flagged[flag.text]}")

            events.append((when + timedelta(hours=flag.answered_after_hours), answer))

    for heard in HEARD:
        when = at(now, next(s for s in SHARES if s.key == heard.on).days_ago, heard.hours_after_share)

        def reply(heard: Heard = heard, when: datetime = when) -> None:
            team.hear(heard, when)

        events.append((when, reply))

    for _, act in sorted(events, key=lambda event: event[0]):
        act()


def _notices(team: _Team) -> list[dict[str, Any]]:
    """twoway's answers to flags, oldest first (not its nudges, which also name comments, nor a post Slack
    refused with a 429 before it was made again, with `--rate-limits`)."""
    return [
        c
        for c in team.calls("chat.postMessage")
        if c["ok"] and "is waiting for an answer; owner" in str(c["args"].get("text", ""))
    ]


def _posts_of(kind: str, calls: list[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    """twoway's messages of one kind (by their metadata's event type) posted at or after ``since``."""
    return [
        c
        for c in calls
        if c["method"] == "chat.postMessage"
        and c["ok"]
        and c["at"] >= since.timestamp()
        and kind in json.dumps(c["args"].get("metadata") or "")
    ]


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks") or []
    return list(json.loads(blocks) if isinstance(blocks, str) else blocks)


def _save_chart(team: _Team) -> Path | None:
    """Download the chart twoway uploaded into the digest's thread, as Slack would serve it."""
    messages = get_json(f"{team.base}/_emulator/messages?team={TEAM}&channel={CHANNEL}")
    for message in reversed(messages):
        for file in message.get("files") or []:
            if str(file.get("name", "")).endswith(".png") and file.get("url_private"):
                path = Path(tempfile.gettempdir()) / "twoway-demo-chart.png"
                with urllib.request.urlopen(file["url_private"], timeout=15) as response:  # noqa: S310
                    path.write_bytes(response.read())
                return path
    return None


def fire_schedule(runtime: Runtime) -> None:
    """Start twoway's scheduler at the demo's Monday 09:00 and make its sweep run now.

    Starting it runs the catch-up, which posts the digest whose slot has just passed; the sweep
    sends the nudges that are due.
    """
    schedules = runtime.schedules
    assert schedules is not None
    schedules.start()
    schedules.scheduler.modify_job(SWEEP_JOB_ID, next_run_time=datetime.now(UTC))


def _fired(team: _Team, monday: datetime) -> bool:
    calls = get_json(f"{team.base}/_emulator/calls")
    uploads = [c for c in calls if c["method"] == "files.completeUploadExternal" and c["ok"]]
    # The nudges due this morning are due with the digest: it carries them, in its "Waiting for you" part.
    return bool(_posts_of(DIGEST, calls, monday) and any(c["at"] >= monday.timestamp() for c in uploads))


def _button_values(blocks: list[dict[str, Any]], action_id: str) -> list[str]:
    return [
        str(element.get("value"))
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("action_id") == action_id
    ]


def answer_live(team: _Team, monday: datetime, calls: list[dict[str, Any]]) -> dict[str, Any]:
    """A few minutes after the digest: Grace says "I'm on it" about its oldest comment, and Ada marks the
    next one answered, both from the digest; return the digest once twoway has drawn it again."""
    [digest] = _posts_of(DIGEST, calls, monday)
    ts = _digest_ts(team, monday)
    comments = _button_values(_blocks(digest["args"]), ANSWERED_ACTION)
    claimed, answered = comments[0], comments[1]
    team.clock.set(monday + timedelta(minutes=5))
    team.click(GRACE, ts, CLAIM_ACTION, claimed)
    team.clock.set(monday + timedelta(minutes=7))
    team.click(ADA, ts, ANSWERED_ACTION, answered)

    def drawn_again() -> bool:
        shown = team.message(ts)
        blocks = shown.get("blocks") or []
        return answered not in _button_values(blocks, ANSWERED_ACTION) and "is on it" in json.dumps(blocks)

    team.until(drawn_again, "the digest drawn again")
    return team.message(ts)


def _digest_ts(team: _Team, monday: datetime) -> str:
    messages = get_json(f"{team.base}/_emulator/messages?team={TEAM}&channel={CHANNEL}")
    return str(
        next(
            m["ts"]
            for m in reversed(messages)
            if float(m["ts"]) >= monday.timestamp() and DIGEST in json.dumps(m.get("metadata") or "")
        )
    )


def batched_nudge(calls: list[dict[str, Any]], monday: datetime) -> dict[str, Any] | None:
    """The first nudge since Monday's digest that lists several comments: one message for them all."""
    nudges = [
        c
        for c in _posts_of(NUDGE, calls, monday)
        if len(_button_values(_blocks(c["args"]), ANSWERED_ACTION)) > 1
    ]
    return nudges[0] if nudges else None


def _play(
    console: Console, monday: datetime, workdir: Path, *, app_kind: str, rate_limits: bool
) -> tuple[list[dict[str, Any]], Path | None, dict[str, Any]]:
    """Run the emulator and twoway, play the fortnight, fire Monday; return the calls and the chart."""
    clock = DemoClock(monday - timedelta(days=15))
    signing_secret = secrets.token_hex(16)
    app_port = free_port()
    settings = EmulatorSettings(
        host="127.0.0.1",
        port=0,
        app_url=f"http://127.0.0.1:{app_port}/slack/events",
        signing_secret=signing_secret,
        clock=clock.epoch,
        app_kind=app_kind,
        # Slack's limits are rates in real time: the emulator counts them by the wall clock, not the demo's.
        rate_limits=RateLimits() if rate_limits else None,
    )
    with Emulator(settings) as emulator:
        config = local_config(
            api_url=emulator.api_url,
            signing_secret=signing_secret,
            database_url=f"sqlite:///{workdir / 'twoway.db'}",
            port=app_port,
        )
        runtime = prepare(config, host="127.0.0.1", clock=clock.now)
        runtime.start_background(scheduling=False)
        try:
            console.print(f"[bold]twoway[/bold] runs against the local Slack emulator at {emulator.base_url}")
            limits = "; Slack's rate limits are on" if rate_limits else ""
            console.print(f"The emulator treats twoway as {APP_KINDS[app_kind]}{limits}.")
            console.print("A fortnight in #social: ada, grace and linus share posts, summaries and comments…")
            team = _Team(emulator, clock)
            # The watcher runs in this process here; `twoway run` gives it a process of its own.
            watcher = Watcher(runtime.deps.sessions, make_readers(config), "demo", clock.now, lambda: [TEAM])
            play_fortnight(team, runtime, monday, watcher)
            clock.set(monday)
            watcher.run_once()
            console.print(f"The clock moves to {monday:%A %d %B %Y, %H:%M} UTC; twoway's scheduler fires.\n")
            fire_schedule(runtime)
            team.until(lambda: _fired(team, monday), "the digest and its chart")
            # The sweep may still be nudging; let it finish before reading what it sent.
            time.sleep(0.3)
            calls: list[dict[str, Any]] = get_json(f"{team.base}/_emulator/calls")
            chart = _save_chart(team)
            live = answer_live(team, monday, calls)
            # Tuesday morning's sweep: what still waits a day after the digest is one nudge per person.
            schedules = runtime.schedules
            assert schedules is not None
            team.clock.set(monday + timedelta(days=1, hours=1))
            schedules.run_sweep()
            calls = get_json(f"{team.base}/_emulator/calls")
            return calls, chart, live
        finally:
            runtime.stop()


def run_demo(out: TextIO, *, app_kind: str = "internal", rate_limits: bool = False) -> DemoResult:
    """Play the demo and print what the channel shows; return what it saw for whoever asked.

    ``app_kind`` and ``rate_limits`` are the emulator's (`twoway emulator --app-kind --rate-limits`): the
    same week played against Slack as it treats an app outside the Marketplace, or with every limit on.
    """
    console = Console(file=out, width=100, highlight=False)
    monday = slot_at_or_before(datetime.now(UTC), weekday=0, minute=9 * 60, zone="UTC")
    with tempfile.TemporaryDirectory(prefix="twoway-demo-") as tmp:
        calls, chart, live = _play(console, monday, Path(tmp), app_kind=app_kind, rate_limits=rate_limits)
    [digest] = _posts_of(DIGEST, calls, monday)
    digest_text = blocks_to_text(_blocks(digest["args"]), str(digest["args"].get("text", "")), NAMES)
    console.print(Panel(Text(digest_text), title="#social · twoway: the Monday digest", expand=True))
    if chart is not None:
        console.print(f"In the digest's thread, its chart, saved to {chart}\n")
    live_text = blocks_to_text(live.get("blocks") or [], str(live.get("text", "")), NAMES)
    console.print(
        Panel(
            Text(live_text),
            title="#social · the same digest at 09:07: grace is on one comment, ada answered another",
            expand=True,
        )
    )
    batch = batched_nudge(calls, monday)
    if batch is not None:
        when = datetime.fromtimestamp(batch["at"], UTC)
        text = blocks_to_text(_blocks(batch["args"]), str(batch["args"].get("text", "")), NAMES)
        console.print(Panel(Text(text), title=f"#social · twoway's nudge, {when:%A %H:%M}", expand=True))
    console.print("To connect a real workspace: import manifest.yml, put two tokens in .env, `twoway run`.")
    return DemoResult(calls=calls, digest_text=digest_text, chart_path=chart, live_text=live_text)
