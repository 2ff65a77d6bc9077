"""Data flows one way: the glossary core never reaches for Slack, HTTP or the database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

FORBIDDEN_IN_CORE = (
    "slack_bolt",
    "slack_sdk",
    "aiohttp",
    "sqlite3",
    "psycopg",
    "bot.slack",
    "bot.store",
    "bot.intake",
    "bot.cli",
)
SLACK_LIBRARIES = ("slack_bolt", "slack_sdk")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offending(names: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes))


@pytest.mark.parametrize("path", sorted((BOT / "glossary").rglob("*.py")), ids=lambda p: p.name)
def test_core_imports_nothing_of_slack_http_or_storage(path: Path) -> None:
    assert offending(imported_modules(path), FORBIDDEN_IN_CORE) == []


@pytest.mark.parametrize(
    "path",
    sorted(p for p in BOT.rglob("*.py") if "slack" not in p.relative_to(BOT).parts),
    ids=lambda p: str(p.relative_to(BOT)),
)
def test_only_the_slack_layer_imports_slack_libraries(path: Path) -> None:
    assert offending(imported_modules(path), SLACK_LIBRARIES) == []
