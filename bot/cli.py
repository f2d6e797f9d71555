"""The `twoway` command: run, migrate, emulator, demo."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from dotenv import find_dotenv, load_dotenv
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.config import ConfigError, load_config, load_database_url
from bot.logs import configure_logging

logger = logging.getLogger("twoway")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twoway", description="A Slack app that nudges teams from broadcasting toward conversation."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="serve Slack: Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT")
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode's listen address (default 0.0.0.0)")  # noqa: S104

    sub.add_parser("migrate", help="bring the ledger's database schema up to date")

    emulator = sub.add_parser("emulator", help="run the local Slack emulator alone")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8765)
    emulator.add_argument(
        "--app-url", help="where to deliver events, e.g. http://127.0.0.1:3000/slack/events"
    )
    emulator.add_argument("--signing-secret", help="signs deliveries (default: $SLACK_SIGNING_SECRET)")

    sub.add_parser("demo", help="try twoway on this machine with the emulator: no Slack account needed")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    load_dotenv(find_dotenv(usecwd=True))
    try:
        return _COMMANDS[args.command](args)
    except ConfigError as error:
        print(f"twoway: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    from bot.runtime import prepare

    config = load_config()
    configure_logging(config.secrets())
    try:
        runtime = prepare(config, host=args.host)
    except (BoltError, SlackApiError) as error:
        logger.error("could not start: Slack refused the bot token: %s", error)
        return 1
    except OSError as error:  # urllib wraps refused and dropped connections in URLError, an OSError
        logger.error("could not start: Slack's Web API at %s did not answer: %s", config.slack_api_url, error)
        return 1
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        runtime.serve_forever()
    finally:
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
    from bot.emulator import EmulatorSettings, serve_forever

    configure_logging([])
    secret = args.signing_secret or os.environ.get("SLACK_SIGNING_SECRET") or None
    serve_forever(
        EmulatorSettings(host=args.host, port=args.port, app_url=args.app_url, signing_secret=secret)
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    configure_logging([], level=logging.WARNING)
    return run_demo(sys.stdout)


_COMMANDS = {"run": _run, "migrate": _migrate, "emulator": _emulator, "demo": _demo}

if __name__ == "__main__":
    sys.exit(main())
