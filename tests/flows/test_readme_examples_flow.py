"""Every `/twoway …` example the README shows, run as written, in the README's order, on a fresh ledger:
each gets its answer, and none of them is refused."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot import render_ledger
from tests.support.flows import ADA, Flow

README = Path(__file__).parents[2] / "README.md"


def readme_examples() -> list[str]:
    """The README's examples, as a person would type them after `/twoway`, each once, in order (usage
    forms such as `/twoway log <url>` are no examples)."""
    found: dict[str, None] = {}
    for text in re.findall(r"`/twoway ([^`]+)`", README.read_text()):
        if "<" not in text and "…" not in text:
            found.setdefault(text, None)
    return list(found)


def test_the_readme_shows_an_example_of_every_command() -> None:
    verbs = {example.split()[0] for example in readme_examples()}
    assert verbs >= {
        "help",
        "log",
        "flag",
        "answered",
        "dismiss",
        "unanswered",
        "report",
        "settings",
        "digest",
        "schedule",
        "export",
        "dm",
    }


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every problem twoway answered with, wherever in `bot` it was rendered."""
    seen: list[str] = []
    original: Callable[..., Any] = render_ledger.render_problem

    def recording(line: str, usage: str | None = None) -> Any:
        seen.append(line)
        return original(line, usage)

    for name, module in list(sys.modules.items()):
        if (name == "bot" or name.startswith(("bot.", "handlers"))) and getattr(
            module, "render_problem", None
        ) is original:
            monkeypatch.setattr(module, "render_problem", recording)
    return seen


def test_every_readme_example_works_as_written_on_a_fresh_ledger(flow: Flow, refusals: list[str]) -> None:
    for example in readme_examples():
        shown = flow.command(ADA, example)
        assert shown, f"/twoway {example} got no answer"
        assert refusals == [], f"/twoway {example} was refused: {refusals}"
