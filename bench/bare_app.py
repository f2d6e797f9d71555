"""The yardstick of the ack benchmark: a Bolt app whose listeners do nothing, on twoway's own server.

    python -m bench.bare_app --port 3001

It verifies signatures as twoway does (Bolt's check) and is served by the same waitress server and
WSGI routing (`twoway.http_server`), so that what twoway adds on top, and only that, shows in the comparison.
"""

from __future__ import annotations

import argparse
import os

from slack_bolt import Ack, App
from slack_sdk import WebClient

from twoway.http_server import create_server, make_wsgi_app


def build() -> App:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(
        client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], token_verification_enabled=False
    )

    @app.command("/twoway")
    def command(ack: Ack) -> None:
        ack()

    @app.event("message")
    def message() -> None:
        return None

    # The workspace mix sends reactions too; unheard, Bolt would answer them 404 without doing the work.
    @app.event("reaction_added")
    def reaction() -> None:
        return None

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = create_server(make_wsgi_app(build(), lambda: True), "127.0.0.1", args.port)
    server.run()


if __name__ == "__main__":
    main()
