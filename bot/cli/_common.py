"""What the CLI commands share: where the glossary and the roles live, and loading them."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from bot import DEFAULT_TERMS_DIR
from bot.cli import CommandError
from bot.glossary.cache import GlossaryCache, load_indexed
from bot.glossary.load import GlossaryFolderError, LoadedGlossary, load_glossary
from bot.glossary.resolve import Glossary
from bot.glossary.roles import RoleDirectory, RolesFileError, load_roles

TERMS_DIR_ENV = "GLOSSARY_TERMS_DIR"
ROLES_FILE_ENV = "GLOSSARY_ROLES_FILE"
CACHE_DIR_ENV = "GLOSSARY_CACHE_DIR"


def terms_dir(arg: str | None) -> Path:
    """The glossary folder: the argument, else $GLOSSARY_TERMS_DIR, else the repo's `terms/`.

    Raises CommandError, naming where the folder came from, when it is not a folder.
    """
    if arg:
        path, origin = Path(arg), ""
    elif os.environ.get(TERMS_DIR_ENV):
        path, origin = Path(os.environ[TERMS_DIR_ENV]), f" (from {TERMS_DIR_ENV})"
    else:
        path, origin = DEFAULT_TERMS_DIR, " (the default)"
    if not path.exists():
        raise CommandError(f"glossary folder {path}{origin} does not exist")
    if not path.is_dir():
        raise CommandError(f"glossary folder {path}{origin} is not a folder")
    return path


def load_terms(folder: Path) -> LoadedGlossary:
    """Every term file of a folder; a folder that cannot be read is a CommandError."""
    try:
        return load_glossary(folder, cache=term_cache())
    except (GlossaryFolderError, OSError) as exc:
        raise CommandError(str(exc)) from exc


def load_indexed_terms(folder: Path) -> tuple[LoadedGlossary, Glossary]:
    """`load_terms` and the glossary's index, both reused from the cache when unchanged."""
    try:
        return load_indexed(folder, term_cache())
    except (GlossaryFolderError, OSError) as exc:
        raise CommandError(str(exc)) from exc


def term_cache(*, keep_details: bool = False) -> GlossaryCache | None:
    """Parsed terms kept between runs: $GLOSSARY_CACHE_DIR, else the default; `off`: none.

    `keep_details` (for `validate`) also keeps each file's raw data and field positions."""
    return GlossaryCache.from_setting(
        os.environ.get(CACHE_DIR_ENV) or None, keep_details=keep_details
    )


def role_directory() -> RoleDirectory:
    """The roles from $GLOSSARY_ROLES_FILE, else the defaults shipped with the bot."""
    try:
        return load_roles(os.environ.get(ROLES_FILE_ENV) or None)
    except RolesFileError as exc:
        raise CommandError(str(exc)) from exc


def tolerate_unencodable_output() -> None:
    """Print terms with characters the terminal cannot show as '?', instead of crashing."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
