"""The layers of ARCHITECTURE.md, checked on the source: imports run one way, without cycles, and no
two product modules share a name."""

from __future__ import annotations

import ast
import graphlib
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lowest first.
LAYERS = ("storage", "bot", "handlers", "twoway")
PRODUCT = set(LAYERS)
# The local Slack stands alone: it imports nothing of the product, and only the top layer starts it.
EMULATOR = "emulator"


def _modules() -> dict[str, Path]:
    """Every module of the product and the emulator, by dotted name."""
    found: dict[str, Path] = {}
    for package in (*LAYERS, EMULATOR):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` imports when it runs, at the top or inside a function.

    Imports under ``if TYPE_CHECKING:`` only name types, and are left out.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node)
        for n in ast.walk(node)
    }
    is_package = path.name == "__init__.py"
    imported: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from bot import ledger` imports the module bot.ledger; `from bot.x import f`, bot.x.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                imported.add(name)
    return imported


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, set(modules)) for name, path in modules.items()}


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def test_the_tree_has_every_layer() -> None:
    tops = {_top(m) for m in _modules()}
    assert tops == {*LAYERS, EMULATOR}


# What each layer may import: its own layer and those below, except that handlers reach the ledger
# only through bot, never storage directly.
ALLOWED = {
    "storage": {"storage"},
    "bot": {"bot", "storage"},
    "handlers": {"handlers", "bot"},
    "twoway": {"twoway", "handlers", "bot", "storage", EMULATOR},
}


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_what_it_may(layer: str) -> None:
    beyond = sorted(
        f"{module} imports {imported}"
        for module, imports in _graph().items()
        if _top(module) == layer
        for imported in imports
        if _top(imported) not in ALLOWED[layer]
    )
    assert beyond == []


def test_the_emulator_imports_nothing_of_the_product() -> None:
    leaks = sorted(
        f"{module} imports {imported}"
        for module, imports in _graph().items()
        if _top(module) == EMULATOR
        for imported in imports
        if _top(imported) in PRODUCT
    )
    assert leaks == []


def test_no_module_imports_itself_back_through_others() -> None:
    # Packages import their own modules (bot.digest's __init__ imports none, handlers' registers them
    # all), so a package is a node like any module; a cycle through one is still a cycle.
    sorter = graphlib.TopologicalSorter(_graph())
    try:
        sorter.prepare()
    except graphlib.CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")


def test_no_two_product_modules_share_a_name() -> None:
    names = Counter(
        path.stem
        for module, path in _modules().items()
        if _top(module) in PRODUCT and path.name != "__init__.py" and "versions" not in path.parts
    )
    assert sorted(name for name, count in names.items() if count > 1) == []


def test_the_checks_see_imports_inside_functions_and_skip_type_only_ones(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from bot import ledger\n"
        "if TYPE_CHECKING:\n    from handlers import buttons\n"
        "def later() -> None:\n    from storage.models import Post\n"
    )
    known = {"bot", "bot.ledger", "handlers", "handlers.buttons", "storage", "storage.models"}
    assert _imports(source, "twoway.sample", known) == {"bot.ledger", "storage.models"}


def test_architecture_md_names_every_module_and_only_paths_that_exist() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"`([\w./<>-]+)`", text))
    unnamed = sorted(
        module
        for module, path in _modules().items()
        if path.name != "__init__.py"
        and "migrations" not in path.parts
        and path.stem not in named
        and not any(n.endswith(f"/{path.stem}") for n in named)
    )
    assert unnamed == []
    missing = sorted(p for p in re.findall(r"`((?:\w+/)+\w+\.py)`", text) if not (ROOT / p).exists())
    assert missing == []
