"""Small helpers shared by the CLI commands."""

from __future__ import annotations

import os
from pathlib import Path

from bot.cli import CommandError

# The glossary shipped with the project: <repo>/terms beside the bot package.
REPO_TERMS_DIR = Path(__file__).resolve().parents[2] / "terms"


def terms_dir(arg: str | None) -> Path:
    """The glossary folder to use: the argument, else GLOSSARY_TERMS_DIR, else the repo's terms/."""
    chosen = Path(arg) if arg else Path(os.environ.get("GLOSSARY_TERMS_DIR") or REPO_TERMS_DIR)
    if not chosen.exists():
        raise CommandError(f"glossary folder {chosen} does not exist")
    if not chosen.is_dir():
        raise CommandError(f"{chosen} is not a folder")
    return chosen
