"""The emulator as the replicas' load balancer: several request URLs, and no signature sent twice."""

from __future__ import annotations

import pytest

from emulator.delivery import Deliverer, SocketHub, app_urls


@pytest.mark.parametrize(
    ("given", "urls"),
    [
        (None, ()),
        ("", ()),
        ("http://a/slack/events", ("http://a/slack/events",)),
        (
            ["http://a/slack/events", "http://b/slack/events"],
            ("http://a/slack/events", "http://b/slack/events"),
        ),
        (("http://a/slack/events", ""), ("http://a/slack/events",)),
    ],
)
def test_one_url_several_or_none(
    given: str | list[str] | tuple[str, ...] | None, urls: tuple[str, ...]
) -> None:
    assert app_urls(given) == urls


def test_the_same_body_is_never_signed_with_the_same_timestamp() -> None:
    deliverer = Deliverer(SocketHub(), "http://a/slack/events", "secret", 3.0)
    stamps = [deliverer._timestamp('{"event_id": "Ev1"}') for _ in range(4)]
    assert stamps == sorted(set(stamps))
    assert stamps[-1] - stamps[0] == 3
    # Another body may share a second with the first.
    assert deliverer._timestamp('{"event_id": "Ev2"}') <= stamps[0] + 1
