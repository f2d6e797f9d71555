"""The workspace mix's composition: its proportions, block by block (no timing)."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.workspace_mix import PER_100, composition


def test_a_hundred_requests_are_the_workspace_mix() -> None:
    assert Counter(composition(100)) == {
        "plain": 70,
        "untracked reply": 10,
        "tracked reply": 5,
        "unused reaction": 8,
        "flag reaction": 2,
        "post link": 3,
        "command": 2,
    }


@pytest.mark.parametrize("count", [200, 2000])
def test_larger_runs_keep_the_proportions(count: int) -> None:
    assert Counter(composition(count)) == {kind: n * count // 100 for kind, n in PER_100.items()}


def test_the_order_is_shuffled_the_same_way_each_run() -> None:
    kinds = composition(200)

    assert kinds == composition(200)
    assert kinds[:70] != ["plain"] * 70


@pytest.mark.parametrize("count", [0, 150])
def test_a_count_that_is_not_whole_hundreds_is_refused(count: int) -> None:
    with pytest.raises(ValueError, match="hundreds"):
        composition(count)
