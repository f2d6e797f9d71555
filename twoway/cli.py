"""The `twoway` command: run, migrate, emulator, demo, export, import, purge, rotate-key."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from dotenv import find_dotenv, load_dotenv
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.config import ConfigError, load_config, load_database_url
from storage.encryption import EncryptionKeyError
from twoway.logs import configure_logging
from twoway.memory import limit_malloc_arenas

if TYPE_CHECKING:
    from bot.transfer import RowError

logger = logging.getLogger("twoway")


# The emulator's options that `twoway emulator` and `twoway demo` share.
APP_KIND: dict[str, Any] = {
    "choices": ("internal", "marketplace", "non-marketplace"),
    "default": "internal",
    "help": "how the app is distributed: outside the Marketplace, conversations.history and "
    ".replies allow one call a minute and 15 messages a page, even without --rate-limits",
}
RATE_LIMITS: dict[str, Any] = {
    "action": "store_true",
    "help": "enforce Slack's rate limits: chat.postMessage 1/s per channel and 300/min per workspace, "
    "each method its tier; over them, 429 with Retry-After",
}


ROLES = ("all", "serve", "watch")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twoway", description="A Slack app that nudges teams from broadcasting toward conversation."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="serve Slack: Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT")
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode's listen address (default 0.0.0.0)")  # noqa: S104
    run.add_argument(
        "--role",
        choices=ROLES,
        default="all",
        help="all (default): serve Slack, and watch Bluesky and Mastodon posts in a child process "
        "unless TWOWAY_WATCH=off; serve: serve Slack only; watch: watch only (no Slack requests served)",
    )
    # Set by `twoway run` for the watcher it starts: the ledger was migrated already, and the watcher
    # leaves once the process with this pid is no longer its parent.
    run.add_argument("--migrated", action="store_true", help=argparse.SUPPRESS)
    run.add_argument("--parent", type=int, help=argparse.SUPPRESS)

    sub.add_parser("migrate", help="bring the ledger's database schema up to date")

    emulator = sub.add_parser("emulator", help="run the local Slack emulator alone")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8765)
    emulator.add_argument(
        "--app-url",
        action="append",
        help="where to deliver events, e.g. http://127.0.0.1:3000/slack/events; "
        "repeat it for several replicas, which get each delivery at random",
    )
    emulator.add_argument("--signing-secret", help="signs deliveries (default: $SLACK_SIGNING_SECRET)")
    emulator.add_argument("--app-kind", **APP_KIND)
    emulator.add_argument(
        "--manifest",
        type=Path,
        help="the app manifest whose bot scopes and Messages tab Slack answers by "
        "(default: the repository's manifest.yml)",
    )
    emulator.add_argument("--rate-limits", **RATE_LIMITS)

    demo = sub.add_parser(
        "demo", help="try twoway on this machine with the emulator: no Slack account needed"
    )
    demo.add_argument("--save-calls", type=Path, help="write the emulator's Web API calls to this JSON file")
    demo.add_argument("--app-kind", **APP_KIND)
    demo.add_argument("--rate-limits", **RATE_LIMITS)

    digest = sub.add_parser("digest", help="post a channel's latest digest now, or print its next one")
    digest.add_argument("channel", help="the Slack channel id, e.g. C0123ABCD")
    digest.add_argument(
        "--preview", action="store_true", help="print the next digest as it stands; post nothing"
    )
    digest.add_argument("--team", help="the workspace id, when the ledger holds several")

    export = sub.add_parser("export", help="write the ledger's posts, snapshots or comments as CSV to stdout")
    export.add_argument("table", choices=("posts", "snapshots", "comments"))
    export.add_argument("--team", help="only this workspace's rows (default: every workspace's)")
    export.add_argument("--channel", help="only this channel's rows")

    load = sub.add_parser("import", help="load snapshots from CSV in `twoway export snapshots` columns")
    load.add_argument("file", metavar="FILE.csv")

    purge = sub.add_parser(
        "purge", help="delete every row of one workspace, its ledger and its installation, after asking"
    )
    purge.add_argument("--team", required=True, help="the workspace id, e.g. T0123ABCD")
    purge.add_argument("--yes", action="store_true", help="do not ask: for scripts")

    sub.add_parser(
        "rotate-key",
        help="re-encrypt every stored Slack token with the first key of TWOWAY_ENCRYPTION_KEY "
        "(set it to NEW,OLD first)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    load_dotenv(find_dotenv(usecwd=True))
    try:
        return _COMMANDS[args.command](args)
    except (ConfigError, EncryptionKeyError) as error:
        print(f"twoway: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    from twoway.runtime import prepare

    config = load_config()
    configure_logging(config.secrets())
    limit_malloc_arenas()
    if not args.migrated:
        # `twoway migrate` in a process of its own: Alembic (10 MB) stays out of the server's memory.
        migrated = subprocess.run([sys.executable, "-m", "twoway.cli", "migrate"], check=False)
        if migrated.returncode != 0:
            logger.error("could not start: the ledger's migrations failed (see above)")
            return 1
    if args.role == "watch":
        from twoway.watch_role import run_watcher

        return run_watcher(config, parent=args.parent)
    try:
        runtime = prepare(config, host=args.host, migrate=False)
    except (BoltError, SlackApiError) as error:
        logger.error("could not start: Slack refused the bot token: %s", error)
        return 1
    except OSError as error:  # urllib wraps refused and dropped connections in URLError, an OSError
        logger.error("could not start: Slack's Web API at %s did not answer: %s", config.slack_api_url, error)
        return 1
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    watcher = None
    if args.role == "all" and config.watch:
        from twoway.watch_child import WatcherChild

        watcher = WatcherChild()
        watcher.start()
    try:
        runtime.serve_forever()
    finally:
        if watcher is not None:
            watcher.stop()
        runtime.stop()
    return 0


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _migrate(args: argparse.Namespace) -> int:
    from storage.db import make_engine
    from storage.migrate import current_revision, upgrade

    url = load_database_url()
    configure_logging([])
    engine = make_engine(url)
    try:
        applied = upgrade(engine)
        revision = current_revision(engine)
    finally:
        engine.dispose()
    if applied:
        print(f"applied {', '.join(applied)}; the ledger is at {revision}")
    else:
        print(f"the ledger is up to date at {revision}")
    return 0


def _emulator(args: argparse.Namespace) -> int:
    from emulator import EmulatorSettings, RateLimits, serve_forever
    from emulator.app_manifest import AppManifest

    configure_logging([])
    secret = args.signing_secret or os.environ.get("SLACK_SIGNING_SECRET") or None
    limits = RateLimits() if args.rate_limits else None
    if args.manifest is not None and not args.manifest.is_file():
        print(f"twoway emulator: no manifest at {args.manifest}", file=sys.stderr)
        return 2
    manifest = AppManifest.from_file(args.manifest) if args.manifest else AppManifest.default()
    serve_forever(
        EmulatorSettings(
            host=args.host,
            port=args.port,
            app_url=args.app_url,
            signing_secret=secret,
            rate_limits=limits,
            manifest=manifest,
            app_kind=args.app_kind,
        )
    )
    return 0


def _digest(args: argparse.Namespace) -> int:
    from bot.clock import utc_now
    from bot.digest.compose import compose_digest
    from bot.digest.period import next_period_for, period_for
    from storage.channels import all_team_ids, get_channel
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade
    from twoway.preview import blocks_to_text

    preview = bool(args.preview)
    config = None if preview else load_config()
    configure_logging(config.secrets() if config else [])
    engine = make_engine(config.database_url if config else load_database_url())
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        now = utc_now()
        with sessions.begin() as s:
            teams = [args.team] if args.team else all_team_ids(s)
            found = [(t, c) for t in teams if (c := get_channel(s, t, args.channel)) is not None]
            if len(found) != 1:
                why = "no workspace" if not found else "several workspaces; name one with --team"
                print(f"twoway: channel {args.channel} is in {why}", file=sys.stderr)
                return 2
            team_id, channel = found[0]
            if preview:
                composed = compose_digest(s, team_id, args.channel, next_period_for(channel, now), now)
                print(blocks_to_text(composed.message["blocks"], composed.message["text"]))
                return 0
            period = period_for(channel, now)
        assert config is not None
        from twoway.runtime import make_client_for, make_publisher, open_installations, replica_name

        client_for = make_client_for(config, open_installations(config, engine))
        publisher = make_publisher(sessions, client_for, utc_now, replica_name())
        outcome = publisher.publish_digest(team_id, args.channel, period)
        print(f"digest of the week to {period.end:%Y-%m-%d %H:%M} UTC: {outcome.status.replace('_', ' ')}")
        return 0 if outcome.status != "failed" else 1
    finally:
        engine.dispose()


def _demo(args: argparse.Namespace) -> int:
    from twoway.demo import run_demo

    configure_logging([], level=logging.WARNING)
    result = run_demo(sys.stdout, app_kind=args.app_kind, rate_limits=args.rate_limits)
    if args.save_calls:
        args.save_calls.write_text(json.dumps(result.calls, indent=1))
    return 0


def _export(args: argparse.Namespace) -> int:
    from bot.transfer import COLUMNS, write_csv
    from storage import bulk
    from storage.channels import all_team_ids
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade

    exporters = {
        "posts": bulk.export_posts,
        "snapshots": bulk.export_snapshots,
        "comments": bulk.export_comments,
    }
    url = load_database_url()
    configure_logging([])
    engine = make_engine(url)
    # Spooled to a temporary file first: on SQLite every transaction holds the write lock,
    # and a slow reader of stdout (a pager, a network pipe) must not stall the bot's writes.
    with tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8", newline="") as spool:
        try:
            upgrade(engine)
            with make_session_factory(engine).begin() as s:
                team_ids = [args.team] if args.team else all_team_ids(s)
                rows = (row for team in team_ids for row in exporters[args.table](s, team, args.channel))
                write_csv(rows, COLUMNS[args.table], spool)
        finally:
            engine.dispose()
        spool.seek(0)
        try:
            shutil.copyfileobj(spool, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:
            # `twoway export … | head` closed the pipe: not an error worth a traceback.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


class _Refused(Exception):
    """A row found bad while loading: the transaction is rolled back and nothing is loaded."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


def _import(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DataError, IntegrityError, OperationalError

    from bot.transfer import (
        PROGRESS_EVERY_ROWS,
        HeaderError,
        NotUtf8,
        RowError,
        database_reason,
        progress_line,
        read_snapshot_csv,
        summary_line,
        utf8_lines,
    )
    from storage.bulk import BeforeItsPost, import_snapshot
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade

    url = load_database_url()
    configure_logging([])
    now = datetime.now(UTC)
    # A file is loaded whole or not at all. It is read twice, a line at a time, so that its size
    # never sets the memory an import takes: first every row is checked and every bad one reported,
    # then, only if none was, all of them are loaded in one transaction.
    try:
        with open(args.file, "rb") as raw:
            rows = bad = 0
            for _, row in read_snapshot_csv(utf8_lines(raw), now=now):
                rows += 1
                if isinstance(row, RowError):
                    print(row, file=sys.stderr)
                    bad += 1
    except OSError as error:
        print(f"twoway: cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
        return 2
    except NotUtf8 as error:
        print(
            f"twoway: {args.file} is not UTF-8 text (line {error.line:,}); save it as UTF-8", file=sys.stderr
        )
        return 2
    except HeaderError as error:
        print(f"twoway: {args.file}: {error}", file=sys.stderr)
        return 2
    if bad:
        print(summary_line(0, 0, bad), file=sys.stderr)
        return 1

    progress = sys.stderr.isatty() or rows > PROGRESS_EVERY_ROWS
    loaded = already = 0
    line = 1
    known_posts: dict[tuple[str, str], tuple[int, datetime]] = {}
    engine = make_engine(url)
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        with open(args.file, "rb") as raw, sessions.begin() as s:
            for seen, (line, row) in enumerate(read_snapshot_csv(utf8_lines(raw), now=now), start=1):
                if progress and seen % PROGRESS_EVERY_ROWS == 0:
                    print(progress_line(seen), file=sys.stderr, flush=True)
                if isinstance(row, RowError):
                    raise _Refused(RowError(line, f"{row.reason} (the file changed while it was loaded)"))
                try:
                    added = import_snapshot(s, row.team_id, row, now=now, known_posts=known_posts)
                except BeforeItsPost as error:
                    raise _Refused(RowError(line, str(error))) from None
                except (IntegrityError, DataError) as error:
                    raise _Refused(
                        RowError(line, f"the database refused it: {database_reason(error)}")
                    ) from None
                loaded += added
                already += not added
    except _Refused as refused:
        print(refused.error, file=sys.stderr)
        print(summary_line(0, 0, 1), file=sys.stderr)
        return 1
    except (OSError, NotUtf8, HeaderError) as error:
        print(
            f"twoway: {args.file} changed while it was loaded ({error}); nothing was loaded", file=sys.stderr
        )
        return 2
    except OperationalError as error:
        # Locked or unreachable: no row's fault, and the transaction took everything back.
        print(
            f"twoway: the database failed at line {line:,}: {database_reason(error)}; "
            "nothing was loaded, import the file again",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
    print(summary_line(loaded, already, 0), file=sys.stderr)
    return 0


def _purge(args: argparse.Namespace) -> int:
    from storage.db import make_engine, make_session_factory
    from storage.installations import count_installation_rows, delete_installation_rows
    from storage.migrate import upgrade
    from storage.workspace_rows import count_rows, delete_team_rows

    team: str = args.team
    url = load_database_url()
    configure_logging([])
    engine = make_engine(url)
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as s:
            counts = {**count_rows(s, team), **count_installation_rows(s, team)}
        held = ", ".join(f"{table} {n:,}" for table, n in counts.items() if n)
        if not held:
            print(
                f"twoway: the database holds no rows of workspace {team}; nothing to delete", file=sys.stderr
            )
            return 0
        if not args.yes:
            print(f"This deletes every row of workspace {team} ({held}), for good.", file=sys.stderr)
            print(f"Type {team} to delete them: ", end="", file=sys.stderr, flush=True)
            if sys.stdin.readline().strip() != team:
                print("twoway: that is not the workspace id; nothing deleted", file=sys.stderr)
                return 1
        # One transaction: a purge that fails halfway leaves the workspace as it was.
        with sessions.begin() as s:
            delete_team_rows(s, team)
            delete_installation_rows(s, team)
    finally:
        engine.dispose()
    print(f"deleted every row of workspace {team}: {held}")
    return 0


def _rotate_key(args: argparse.Namespace) -> int:
    from storage.db import make_engine
    from storage.encryption import ENCRYPTION_KEY_ENV, NEW_KEY_COMMAND, UndecryptableSecret, cipher_from_env
    from storage.installations import rotate_secrets
    from storage.migrate import upgrade

    url = load_database_url()
    cipher = cipher_from_env()
    if cipher is None:
        raise EncryptionKeyError(
            f"{ENCRYPTION_KEY_ENV} is not set: to rotate, set it to the new key, a comma, then the old one "
            f"(make a key with {NEW_KEY_COMMAND})"
        )
    configure_logging([key.strip() for key in os.environ[ENCRYPTION_KEY_ENV].split(",")])
    engine = make_engine(url)
    try:
        upgrade(engine)
        # One transaction: a token no key opens leaves every token as it was.
        with engine.begin() as connection:
            rotated = rotate_secrets(connection, cipher)
    except UndecryptableSecret as error:
        print(f"twoway: {error}; nothing was rotated", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    counts = ", ".join(f"{table} {n:,}" for table, n in rotated.items())
    print(
        f"re-encrypted {sum(rotated.values()):,} secrets ({counts or 'no installation tables'}) with the "
        f"first key of {ENCRYPTION_KEY_ENV}; once every replica runs with it, the other keys can be removed"
    )
    return 0


_COMMANDS = {
    "digest": _digest,
    "run": _run,
    "migrate": _migrate,
    "emulator": _emulator,
    "demo": _demo,
    "export": _export,
    "import": _import,
    "purge": _purge,
    "rotate-key": _rotate_key,
}

if __name__ == "__main__":
    sys.exit(main())
