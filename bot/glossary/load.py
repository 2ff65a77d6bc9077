"""YAML term files to Terms, with every problem located. The core's only file access.

PyYAML's constructor keeps the last of two equal keys without a word and forgets where each
value stood. So we compose the node tree first (with the C parser when it is available),
walk it once to record the position of every field and to catch duplicate keys, and only then
construct plain Python data from the same tree and hand it to the pydantic model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.glossary.model import Term, TermFields
from bot.glossary.problems import Problem, Severity

try:  # The C loader is ten times faster; fall back to the pure one where libyaml is missing.
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader  # type: ignore[assignment]

MAX_FILE_BYTES = 256 * 1024
TERM_SUFFIXES = (".yml", ".yaml")

# Where a field sits: the keys and list indexes that reach it, e.g. ("citations", 0, "url").
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int
    col: int


@dataclass
class TermFile:
    """One file's outcome: the term if it could be built, and everything wrong with it."""

    path: str
    slug: str
    term: Term | None = None
    data: dict[str, Any] | None = None
    positions: dict[FieldPath, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def position_of(self, where: FieldPath) -> Position:
        """The closest recorded position for a field path: the field, else its nearest parent."""
        for end in range(len(where), 0, -1):
            found = self.positions.get(where[:end])
            if found is not None:
                return found
        return Position(1, 1)

    def problem(self, where: FieldPath, severity: Severity, message: str, rule: str) -> Problem:
        pos = self.position_of(where)
        return Problem(self.path, pos.line, pos.col, severity, message, rule)

    def add(self, where: FieldPath, severity: Severity, message: str, rule: str) -> None:
        self.problems.append(self.problem(where, severity, message, rule))


@dataclass(frozen=True)
class LoadedGlossary:
    """Every file read from a folder; `terms` holds those that could be built, by file order."""

    root: str
    files: tuple[TermFile, ...]

    @property
    def terms(self) -> tuple[Term, ...]:
        return tuple(f.term for f in self.files if f.term is not None)

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]


class GlossaryFolderError(Exception):
    """Raised when the glossary folder itself cannot be read (missing, not a folder)."""


def term_paths(root: Path) -> list[Path]:
    """The term files of a folder, sorted by name so every run reads them in the same order."""
    if not root.exists():
        raise GlossaryFolderError(f"glossary folder {root} does not exist")
    if not root.is_dir():
        raise GlossaryFolderError(f"{root} is not a folder")
    return sorted(p for p in root.iterdir() if p.suffix in TERM_SUFFIXES and p.is_file())


def load_glossary(root: str | Path) -> LoadedGlossary:
    """Load every term file in a folder. A broken file never stops the others loading."""
    folder = Path(root)
    return LoadedGlossary(str(folder), tuple(load_term_file(p) for p in term_paths(folder)))


def load_term_file(path: str | Path) -> TermFile:
    """Read, parse and build one term file, recording every problem instead of raising."""
    file_path = Path(path)
    result = TermFile(path=str(file_path), slug=file_path.stem)
    try:
        raw = file_path.read_bytes()
    except OSError as exc:
        result.add((), Severity.ERROR, f"cannot read file: {exc.strerror}", "unreadable")
        return result
    return parse_term_text(raw, result)


def parse_term_text(raw: bytes, result: TermFile) -> TermFile:
    """Fill `result` from the bytes of a term file."""
    if len(raw) > MAX_FILE_BYTES:
        result.add(
            (),
            Severity.ERROR,
            f"file is {len(raw) // 1024} KiB; term files may be at most "
            f"{MAX_FILE_BYTES // 1024} KiB",
            "file-too-large",
        )
        return result
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        result.problems.append(
            Problem(
                result.path,
                line,
                col,
                Severity.ERROR,
                f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)",
                "not-utf8",
            )
        )
        return result

    data = _parse_yaml(text, result)
    if data is None:
        return result
    result.data = data
    try:
        fields = TermFields.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            result.add(
                tuple(error["loc"]), Severity.ERROR, describe_validation_error(error), "schema"
            )
        return result
    result.term = Term(**dict(fields), slug=result.slug, source_path=result.path)
    return result


def _parse_yaml(text: str, result: TermFile) -> dict[str, Any] | None:
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            result.add(
                (), Severity.ERROR, "file is empty; a term file is a mapping of fields", "empty"
            )
            return None
        if not isinstance(node, yaml.MappingNode):
            pos = _position(node)
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            result.problems.append(
                Problem(
                    result.path,
                    pos.line,
                    pos.col,
                    Severity.ERROR,
                    f"top level is {kind}; a term file must be a mapping of fields "
                    "(term:, aliases:, ...)",
                    "not-a-mapping",
                )
            )
            return None
        duplicates = list(_record_positions(node, (), result.positions))
        for where, first in duplicates:
            key = where[-1]
            result.add(
                where,
                Severity.ERROR,
                f"duplicate key '{key}' (first at line {first.line}); "
                "YAML would silently keep only the last",
                "duplicate-key",
            )
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        reason = exc.problem or exc.context or "could not be parsed"
        result.problems.append(
            Problem(result.path, line, col, Severity.ERROR, f"YAML syntax: {reason}", "yaml-syntax")
        )
        return None
    except yaml.YAMLError as exc:  # e.g. a reader error on control characters
        result.add((), Severity.ERROR, f"YAML syntax: {exc}", "yaml-syntax")
        return None
    finally:
        loader.dispose()
    if duplicates:
        return None
    return data if isinstance(data, dict) else None


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _record_positions(
    node: yaml.Node, where: FieldPath, positions: dict[FieldPath, Position]
) -> Iterator[tuple[FieldPath, Position]]:
    """Record where each field starts; yield (path, first position) for each duplicate key."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*where, key)
            pos = _position(key_node)
            if key in seen:
                positions[child] = pos
                yield child, seen[key]
                continue
            seen[key] = pos
            positions[child] = pos
            yield from _record_positions(value_node, child, positions)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*where, index)
            positions[child] = _position(item)
            yield from _record_positions(item, child, positions)


def describe_validation_error(error: Any) -> str:
    """A pydantic error as a sentence a glossary author understands."""
    loc: Iterable[str | int] = error["loc"]
    name = _dotted(tuple(loc))
    kind = error["type"]
    if kind == "missing":
        return f"missing required field '{name}'"
    if kind == "extra_forbidden":
        return f"unknown field '{name}'"
    if kind == "literal_error" or kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"'{name}' has value {error['input']!r}, which is not one of {expected}"
    if kind in ("list_type", "dict_type", "model_type"):
        wanted = "a list" if kind == "list_type" else "a mapping"
        return f"'{name}' must be {wanted}, not {_type_name(error['input'])}"
    if kind in ("string_type", "string_too_short"):
        if kind == "string_too_short":
            return f"'{name}' must not be empty"
        return f"'{name}' must be text, not {_type_name(error['input'])}"
    if kind.startswith("date"):
        return f"'{name}' must be a date written YYYY-MM-DD, not {error['input']!r}"
    return f"'{name}': {error['msg']}"


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _type_name(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
