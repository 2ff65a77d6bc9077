"""YAML term files to Terms, with every problem located. The core's only file access.

PyYAML's constructor keeps the last of two equal keys without a word and forgets where each
value stood. So we compose the node tree first (with the C parser when it is available),
walk it once to record the position of every field and to catch duplicate keys, and only then
construct plain Python data from the same tree and hand it to the pydantic model.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Protocol, cast

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


class Position(NamedTuple):
    """Where a field starts. A named tuple: a large glossary records millions of them."""

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
    return [root / name for name in term_file_names(root)]


def term_file_names(root: Path) -> list[str]:
    """The names of `term_paths(root)`, in its order, without making a Path of each."""
    if not root.exists():
        raise GlossaryFolderError(f"glossary folder {root} does not exist")
    if not root.is_dir():
        raise GlossaryFolderError(f"{root} is not a folder")
    if os.name != "posix":  # paths there sort case-insensitively: keep pathlib's order
        paths = sorted(p for p in root.iterdir() if p.suffix in TERM_SUFFIXES and p.is_file())
        return [p.name for p in paths]
    # The same files and order, without pathlib's comparisons and a stat per file (a tenth
    # of a second at 10,000 files): in one folder, POSIX paths sort as their names do.
    with os.scandir(root) as entries:
        return sorted(e.name for e in entries if _is_term_name(e.name) and _is_file(e))


def _is_term_name(name: str) -> bool:
    """As `Path(name).suffix in TERM_SUFFIXES`: `.yml` alone is a hidden file, not a term."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:] in TERM_SUFFIXES


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:  # as Path.is_file: what cannot be looked at is not a term file
        return False


class TermFileCache(Protocol):
    """Loads a folder's term files reusing earlier results (see `bot.glossary.cache`).

    `names` are the files' names in the folder, as `term_file_names` gives them.
    """

    def load_files(self, folder: Path, names: list[str]) -> LoadedGlossary: ...


def load_glossary(root: str | Path, *, cache: TermFileCache | None = None) -> LoadedGlossary:
    """Load every term file in a folder. A broken file never stops the others loading.

    With a `cache`, files whose content is unchanged since they were last parsed are not
    parsed again; the result is the same either way.
    """
    folder = Path(root)
    with paused_gc():
        if cache is not None:
            return cache.load_files(folder, term_file_names(folder))
        return LoadedGlossary(str(folder), tuple(load_term_file(p) for p in term_paths(folder)))


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False
_gc_freeze = False


@contextmanager
def paused_gc(*, freeze: bool = False) -> Iterator[None]:
    """Run a block without the cycle collector, then let it run again.

    Loading and indexing create millions of long-lived objects and no reference cycles, so
    every collection the collector starts meanwhile walks a growing heap for nothing: at
    10,000 terms that doubles the time. Pauses nest and may overlap across threads (a reload
    builds in a worker thread); the collector comes back when the last one ends, if it was on.

    With `freeze` (for a long-running process, once its glossary is built), every object alive
    when the last pause ends is moved out of the collector's sight (`gc.freeze`), so neither
    the first collection after the pause nor any later one walks the glossary again: each of
    those walks takes a good part of a second at 10,000 terms, and would stall a request.
    """
    global _gc_pauses, _gc_was_enabled, _gc_freeze
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            _gc_freeze = False
            gc.disable()
        _gc_pauses += 1
        _gc_freeze = _gc_freeze or freeze
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0:
                if _gc_freeze:
                    gc.freeze()
                if _gc_was_enabled:
                    gc.enable()


def return_freed_memory() -> None:
    """Give the C heap's free pages back to the system, after a large build frees much.

    Building an index frees many mid-sized blocks between blocks still in use (a posting list
    per word, once copied into one flat array): the C library keeps such pages for reuse, so
    they stay in the process's resident memory, and what is allocated next (the saved index,
    a reload) adds to them instead of reusing them. At 10,000 terms that is some 10 MB of the
    peak. Only glibc has `malloc_trim`; elsewhere this does nothing.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process already uses
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast("Callable[[int], int]", trim)


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


def parse_term_text(raw: bytes, result: TermFile, *, positions: bool = True) -> TermFile:
    """Fill `result` from the bytes of a term file.

    Without `positions`, the fields' positions are not kept (a tenth of the time), unless the
    file has problems to place: it is then parsed again, as with them.
    """
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

    data = _parse_yaml(text, result, positions)
    if data is None:
        return result
    result.data = data
    try:
        fields = TermFields.model_validate(data)
    except ValidationError as exc:
        if not positions:  # each error is placed at its field
            result.data = None
            result.positions.clear()
            return parse_term_text(raw, result)
        for error in exc.errors():
            result.add(
                tuple(error["loc"]), Severity.ERROR, describe_validation_error(error), "schema"
            )
        return result
    result.term = Term(**dict(fields), slug=result.slug, source_path=result.path)
    return result


def _parse_yaml(text: str, result: TermFile, positions: bool) -> dict[str, Any] | None:
    loader = _LOADER(text)
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
        try:
            return _build_plain(node, loader, result.positions if positions else None)
        except _UnusualYamlError:  # anchors, tags, duplicate keys: the general path does these
            result.positions.clear()
            # Forget what the walk constructed, as a fresh constructor would.
            loader.constructed_objects = {}
            loader.recursive_objects = {}
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
    except _BadScalarError as exc:
        pos = _position(exc.node)
        result.problems.append(
            Problem(result.path, pos.line, pos.col, Severity.ERROR, exc.message(), "yaml-syntax")
        )
        return None
    except (ValueError, OverflowError) as exc:  # the same, met by the general path
        result.add(
            (), Severity.ERROR, f"YAML syntax: a value cannot be read ({exc})", "yaml-syntax"
        )
        return None
    except RecursionError:  # `a: &x [*x]`: an alias inside the node it names
        result.positions.clear()
        result.add(
            (),
            Severity.ERROR,
            "YAML syntax: an alias (*name) is used inside the node its anchor (&name) marks",
            "yaml-syntax",
        )
        return None
    finally:
        loader.dispose()
    if duplicates:
        return None
    return data if isinstance(data, dict) else None


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Loader(SafeLoader):
    """The safe loader, minus work a term file never needs.

    Composing a node asks the resolver three questions in Python: where am I (path
    resolvers, of which the safe loader has none), and what tag does this scalar get. The
    answers below are the ones the base class gives when no path resolver is registered,
    found without its list building and attribute look-ups; about a fifth of composing time.
    """

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode:
            base: Any = super()
            return base.resolve(kind, value, implicit)
        if implicit[0]:
            for tag, regexp in _IMPLICIT.get(value[:1], _WILDCARD):
                if regexp.match(value):
                    return tag
        return _STR_TAG


# The shortcuts above would skip path resolvers, should a plug-in ever register some.
_LOADER: type[SafeLoader] = SafeLoader if SafeLoader.yaml_path_resolvers else _Loader

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_WILDCARD: list[tuple[str, Any]] = list(SafeLoader.yaml_implicit_resolvers.get(None, []))
_IMPLICIT: dict[str, list[tuple[str, Any]]] = {
    first: list(resolvers) + _WILDCARD
    for first, resolvers in SafeLoader.yaml_implicit_resolvers.items()
    if first is not None
}


class _UnusualYamlError(Exception):
    """The document needs the general path: an anchor, a tag, a duplicate key, an odd value."""


class _BadScalarError(Exception):
    """A plain value YAML reads as a date or number that it cannot build (`2026-13-45`)."""

    def __init__(self, node: yaml.Node, cause: Exception) -> None:
        super().__init__(str(cause))
        self.node = node
        self.cause = cause

    def message(self) -> str:
        kind = str(self.node.tag).rsplit(":", 1)[-1]
        what = {"timestamp": "date", "int": "whole number", "float": "number"}.get(kind, kind)
        return f"YAML syntax: '{self.node.value}' is not a valid {what} ({self.cause})"


def _build_plain(
    node: yaml.Node, loader: Any, positions: dict[FieldPath, Position] | None
) -> dict[str, Any] | None:
    """Data and field positions (unless `positions` is None) in one walk, for the documents
    term files are made of.

    Mappings with text keys, lists, text, and scalars the constructor turns into values
    (dates, numbers): exactly what `construct_document` gives for them, in a third of the
    time, since it skips the constructor's generic machinery. Anything else raises
    `_UnusualYamlError`, and the general path (record positions, then construct) runs instead.
    """
    data = _build_node(node, (), loader, positions, set())
    return data if isinstance(data, dict) else None


# A module-level function, not a closure: a function that refers to itself through a closure
# cell is a reference cycle, which would keep every file's loader alive until a collection.
def _build_node(
    node: yaml.Node,
    where: FieldPath,
    loader: Any,
    positions: dict[FieldPath, Position] | None,
    seen: set[int],
) -> Any:
    kind = node.__class__
    if kind is yaml.ScalarNode:
        if node.tag == _STR_TAG:
            return node.value
        try:
            return loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # 2026-13-45 looks like a date
            raise _BadScalarError(node, exc) from exc
        except Exception as exc:  # the general path reports it where it belongs
            raise _UnusualYamlError from exc
    if id(node) in seen:  # an alias: the general path shares the object, as YAML means
        raise _UnusualYamlError
    seen.add(id(node))
    if kind is yaml.MappingNode and node.tag == _MAP_TAG:
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not yaml.ScalarNode or key_node.tag != _STR_TAG:
                raise _UnusualYamlError
            key = key_node.value
            if key in mapping:
                raise _UnusualYamlError
            child = where
            if positions is not None:
                child = (*where, key)
                mark = key_node.start_mark
                positions[child] = Position(mark.line + 1, mark.column + 1)
            mapping[key] = _build_node(value_node, child, loader, positions, seen)
        return mapping
    if kind is yaml.SequenceNode and node.tag == _SEQ_TAG:
        if positions is None:
            return [_build_node(item, where, loader, None, seen) for item in node.value]
        items = []
        for index, item in enumerate(node.value):
            child = (*where, index)
            mark = item.start_mark
            positions[child] = Position(mark.line + 1, mark.column + 1)
            items.append(_build_node(item, child, loader, positions, seen))
        return items
    raise _UnusualYamlError


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
