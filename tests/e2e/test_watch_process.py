"""`twoway run` watches Bluesky and Mastodon in a child process: the server never loads their clients,
the child records what it reads, and a child that dies is started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support.polling import eventually
from tests.support.processes import base_env, http
from tests.support.stack import BOT_TOKEN, CHANNEL, SIGNING_SECRET, TEAM, USER, Stack

# Compiled parts that only the networks' clients load: atproto's DAG-CBOR codec and pydantic's core.
CLIENT_LIBRARIES = ("libipld", "pydantic_core")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _loaded(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def _control(stack: Stack, path: str, payload: dict[str, object]) -> dict[str, object]:
    status, answer = http("POST", stack.emulator_url + path, payload)
    assert status == 200, answer
    assert isinstance(answer, dict)
    return answer


def _seen_on_bluesky(stack: Stack) -> list[tuple[str, str, str]]:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT author, text, state FROM comments "
                    "WHERE team_id = :team AND seen_on = 'bluesky' ORDER BY written_at"
                ),
                {"team": TEAM},
            )
            return [(row.author, row.text, row.state) for row in rows]
    finally:
        engine.dispose()


def test_the_watcher_runs_beside_the_server_records_replies_and_comes_back_when_killed(
    http_stack: Stack,
) -> None:
    server = http_stack.app.popen.pid
    watcher = eventually(
        lambda: next(iter(_children(server)), None), what="twoway run to start its watcher", timeout=30
    )
    eventually(
        lambda: all(name in _loaded(watcher) for name in CLIENT_LIBRARIES),
        what="the watcher to load the networks' clients",
        timeout=30,
    )
    served = _loaded(server)
    assert not [name for name in CLIENT_LIBRARIES if name in served]

    _control(http_stack, "/_emulator/bluesky/account", {"handle": "twoway.bsky.social"})
    post = _control(
        http_stack, "/_emulator/bluesky/post", {"author": "twoway.bsky.social", "text": "4.3 is out"}
    )
    for handle, question in (
        ("maria.bsky.social", "Does 4.3 fix the sync bug?"),
        ("tom.bsky.social", "Is there a migration guide?"),
    ):
        _control(http_stack, "/_emulator/bluesky/account", {"handle": handle})
        _control(
            http_stack,
            "/_emulator/bluesky/post",
            {"author": handle, "text": question, "reply_to": post["uri"]},
        )
    status, said = http(
        "POST",
        http_stack.emulator_url + "/_emulator/message",
        {"team": TEAM, "channel": CHANNEL, "user": USER, "text": f"Changelog <{post['url']}>"},
    )
    assert status == 200, said

    # The watcher looks for new posts every 30 seconds.
    comments = eventually(
        lambda: (found := _seen_on_bluesky(http_stack)) and len(found) == 2 and found,
        what="the watcher to record the post's two replies",
        timeout=90,
        detail=http_stack.app.output,
    )
    assert comments == [
        ("maria.bsky.social", "Does 4.3 fix the sync bug?", "open"),
        ("tom.bsky.social", "Is there a migration guide?", "open"),
    ]

    os.kill(watcher, signal.SIGKILL)
    again = eventually(
        lambda: next((pid for pid in _children(server) if pid != watcher), None),
        what="twoway run to start its watcher again",
        timeout=30,
    )
    assert again != watcher
    assert http("GET", f"{http_stack.app_url}/healthz")[0] == 200


def test_the_watch_role_alone_leaves_at_once_when_watching_is_off(tmp_path: Path) -> None:
    env = {
        **base_env(tmp_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'twoway.db'}",
        "TWOWAY_WATCH": "off",
    }
    done = subprocess.run(
        [sys.executable, "-m", "twoway.cli", "run", "--role", "watch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "watching Bluesky and Mastodon posts is off (TWOWAY_WATCH=off)" in done.stderr
    # It migrated the ledger itself, as any role does when started alone.
    assert (tmp_path / "twoway.db").exists()


def test_a_watcher_whose_twoway_run_died_before_it_started_leaves_at_once(tmp_path: Path) -> None:
    # A pid that is no process's any more: the parent the watcher names died while it was starting.
    dead = subprocess.Popen(["true"])
    dead.wait()
    env = {
        **base_env(tmp_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'twoway.db'}",
    }
    migrated = subprocess.run(
        [sys.executable, "-m", "twoway.cli", "migrate"], env=env, timeout=60, check=False
    )
    assert migrated.returncode == 0
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twoway.cli",
            "run",
            "--role",
            "watch",
            "--migrated",
            "--parent",
            str(dead.pid),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "twoway run is gone: the watcher stops" in done.stderr
