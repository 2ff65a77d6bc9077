"""The role directory: who reads an answer, and which framing and takeaway they get.

Roles are data, not code: the defaults ship in `roles.yml` beside this module and an
organisation can point `GLOSSARY_ROLES_FILE` at its own copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.glossary.model import ROLE_NAMES, RoleName

DEFAULT_ROLES_FILE = Path(__file__).with_name("roles.yml")

Audience = Literal["exec", "engineer"]


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: RoleName
    title: str
    audience: Audience
    takeaway: str
    synonyms: tuple[str, ...] = ()

    def takeaway_for(self, term_name: str) -> str:
        return self.takeaway.replace("{term}", term_name)

    @property
    def framing_label(self) -> str:
        return "Executive framing" if self.audience == "exec" else "Engineering framing"


class RolesFileError(Exception):
    """Raised when a roles file is missing, unreadable or does not describe every role."""


class RoleDirectory:
    """Every role, looked up by name or by any synonym people type."""

    def __init__(self, roles: dict[RoleName, Role]) -> None:
        missing = [name for name in ROLE_NAMES if name not in roles]
        if missing:
            raise RolesFileError(f"roles file does not describe: {', '.join(missing)}")
        self._roles = roles
        self._by_word: dict[str, RoleName] = {}
        for role in roles.values():
            for word in (role.name, role.name.replace("_", " "), role.title, *role.synonyms):
                self._by_word.setdefault(_key(word), role.name)

    def __iter__(self) -> Iterator[Role]:
        return iter(self._roles[name] for name in ROLE_NAMES)

    def __getitem__(self, name: RoleName) -> Role:
        return self._roles[name]

    def find(self, text: str) -> Role | None:
        """The role a word or phrase names ("eng", "a product manager", "Legal"), if any."""
        key = _key(text)
        key = re.sub(r"^(an?|the|our)\s+", "", key)
        name = self._by_word.get(key) or self._by_word.get(key.rstrip("s"))
        return self._roles[name] if name else None

    def words(self) -> list[str]:
        """Every word that names a role, longest first (so phrases win over their parts)."""
        return sorted(self._by_word, key=len, reverse=True)


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def load_roles(path: str | Path | None = None) -> RoleDirectory:
    source = Path(path) if path else DEFAULT_ROLES_FILE
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RolesFileError(f"cannot read roles file {source}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise RolesFileError(f"roles file {source} is not valid YAML: {exc}") from exc
    entries = raw.get("roles") if isinstance(raw, dict) else None
    if not isinstance(entries, dict):
        raise RolesFileError(f"roles file {source} must have a top-level 'roles:' mapping")
    roles: dict[RoleName, Role] = {}
    try:
        for name, body in entries.items():
            role = Role.model_validate({"name": name, **(body or {})})
            roles[role.name] = role
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RolesFileError(f"roles file {source}: {where}: {first['msg']}") from exc
    return RoleDirectory(roles)
