"""The glossary's data: a term and its parts, exactly as the YAML format writes them.

The model is strict about shape (unknown keys, wrong types, values outside the enums are
errors) and lenient about content quality, which `validate.py` judges separately: a term with
a long definition that is a few words too long is still a term the bot can serve.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

RoleName = Literal[
    "product",
    "engineering",
    "data_science",
    "policy",
    "legal",
    "security",
    "communications",
]
ROLE_NAMES: tuple[RoleName, ...] = (
    "product",
    "engineering",
    "data_science",
    "policy",
    "legal",
    "security",
    "communications",
)

PartOfSpeech = Literal["noun", "noun_phrase", "verb", "adjective", "process", "concept"]


class Status(StrEnum):
    """Where a term is in its review life cycle."""

    DRAFT = "draft"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    DEPRECATED = "deprecated"


class _Part(BaseModel):
    """Every part of a term rejects keys it does not know, so typos in field names surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Audiences(_Part):
    exec: NonEmptyStr
    engineer: NonEmptyStr


class Examples(_Part):
    do: list[NonEmptyStr]
    dont: list[NonEmptyStr]


class Governance(_Part):
    nist_rmf_tags: list[NonEmptyStr] = Field(default_factory=list)
    risk_notes: str = ""


class Relationships(_Part):
    broader: list[NonEmptyStr] = Field(default_factory=list)
    narrower: list[NonEmptyStr] = Field(default_factory=list)
    related: list[NonEmptyStr] = Field(default_factory=list)

    def all_names(self) -> list[str]:
        """Every related name, broader first, without repeats."""
        return list(dict.fromkeys([*self.broader, *self.narrower, *self.related]))


class Citation(_Part):
    source: NonEmptyStr
    url: NonEmptyStr


class TermFields(_Part):
    """The fields of one term file, as written in YAML."""

    term: NonEmptyStr
    aliases: list[NonEmptyStr]
    categories: list[NonEmptyStr]
    roles: list[RoleName]
    part_of_speech: PartOfSpeech
    short_def: NonEmptyStr
    long_def: NonEmptyStr
    audiences: Audiences
    examples: Examples
    governance: Governance
    relationships: Relationships
    citations: list[Citation]
    license: NonEmptyStr
    status: Status
    last_reviewed: date


class Term(TermFields):
    """A term plus where it came from. The slug is the file name without its extension."""

    slug: str
    source_path: str = ""

    @property
    def is_deprecated(self) -> bool:
        return self.status is Status.DEPRECATED


def slugify(name: str) -> str:
    """The slug a term name should have: lower case ASCII words joined by hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


# Field order as the format writes it; used by the scaffold and by renderers.
FIELD_ORDER: tuple[str, ...] = tuple(TermFields.model_fields)
