"""Data flows one way: the glossary core never reaches for Slack, HTTP or the database."""

from __future__ import annotations

import ast
import subprocess
import sys
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


@pytest.mark.parametrize("command", ["validate", "define", "resolve", "render", "new", "cache"])
def test_glossary_commands_start_without_the_slack_stack(command: str) -> None:
    """Maintainers' commands load no Bolt, aiohttp or playground: most of a start-up's time."""
    code = (
        "import sys\n"
        "from bot.__main__ import build_parser\n"
        f"build_parser([{command!r}])\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'slack_bolt', 'slack_sdk', 'aiohttp'}) + [m for m in sys.modules "
        "if m.startswith(('bot.slack', 'bot.playground'))]))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_the_help_lists_every_command() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True
    ).stdout
    from bot.cli import COMMAND_MODULES

    assert all(f"    {name}" in shown for name in COMMAND_MODULES)


def test_validating_the_starter_glossary_loads_no_slack_stack() -> None:
    code = (
        "import contextlib, io, sys\n"
        "from bot.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['validate', 'terms'])\n"
        "print(code, sorted(m for m in sys.modules if m.startswith("
        "('slack_bolt', 'slack_sdk', 'aiohttp', 'bot.slack', 'bot.playground'))))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=BOT.parent
    ).stdout.strip()
    assert shown == "0 []"
