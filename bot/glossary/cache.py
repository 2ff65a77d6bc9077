"""A cache of parsed term files and of the built index, so an unchanged glossary starts at once.

Parsing YAML and building the index take seconds for 10,000 terms; a bot that restarts (a
deploy, an autoscaled replica) should not pay that when nothing changed. Three files per terms
folder live in the cache folder:

- `<key>.terms.jsonl`: a header listing every term file with the SHA-256 of its bytes, then
  two lines per file with what loading it gave (its term, or null, and its problems), then a
  CRC-32 of all lines. A file is reused only when its bytes hash the same, so an edited file
  is parsed again, a deleted one dropped and a new one added; nothing stale is ever served.
- `<key>.details.jsonl`: each file's raw data and field positions, which only `validate`
  needs (to place its problems), so the bot never reads them. Tied to the terms file by the
  digest of its file list; if they do not match, the term file itself is read again.
- `<key>.index.bin`: the sections of `Glossary.index_sections()` (JSON, and the search
  postings as raw arrays) for exactly the files (names and hashes) of a load, each with its
  own CRC-32, restored one at a time instead of rebuilt when the files are all unchanged.

All three record a fingerprint of the code that produced them (these modules, PyYAML,
pydantic, Python), so an upgrade never reads an old cache.

Safety. The cache folder may sit in a shared temporary folder, so:
- The format is JSON (and raw arrays of numbers), never pickle: reading it cannot run code.
  Terms are rebuilt through the pydantic model (`Term.model_validate_json`), so a cache can
  only ever hold terms that pass the same checks as YAML does. A damaged file fails its CRC
  or its checks and is ignored.
- A cache folder or file that another user owns, or that others may write to, is not read
  (someone else could plant valid-looking but wrong definitions); the bot runs without it.
- Writes go to a temporary file in the same folder, renamed over the old one: a reader sees
  the old or the new file, never half of one, and two processes writing at once both leave a
  whole file (the last rename wins).
- A folder that cannot be created or written is not an error: the bot runs without the
  cache and logs why, once.

Child processes. With many files (CHILD_PROCESS_MIN_FILES) on a Linux machine with a second
core, while the process runs a single thread (as the bot does while it starts), work is shared
with forked children: at a cached start one hashes the term files while this process rebuilds
the cached terms; with many files to parse, worker processes parse them. Children send back
plain bytes only (hashes, cache lines), and terms are rebuilt here through the same model as
from a cache hit, so what a load gives does not depend on them; a child that fails means
doing its work here.

This is the only module of the core besides load.py that touches files.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import io
import json
import logging
import os
import stat
import struct
import sys
import tempfile
import threading
import time
import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, NamedTuple

import pydantic_core
import yaml
from pydantic import BaseModel

from bot.glossary.load import (
    FieldPath,
    LoadedGlossary,
    Position,
    TermFile,
    load_glossary,
    parse_term_text,
    paused_gc,
    return_freed_memory,
)
from bot.glossary.model import Term
from bot.glossary.problems import Problem, Severity
from bot.glossary.resolve import Glossary, JsonText

log = logging.getLogger(__name__)

CACHE_OFF = "off"
FORMAT = "glossary-bot term cache"
VERSION = 1
STALE_TEMP_SECONDS = 3600.0  # a temporary file this old was left by a crash
UNUSED_SECONDS = 30 * 24 * 3600.0  # cache files of folders not loaded for a month are removed

_CODE_FILES = ("cache.py", "load.py", "model.py", "normalize.py", "problems.py", "resolve.py")
_DATE_TAG = "\x00date"  # stands for a date in saved data; YAML keys never start with NUL here

_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(key: str, message: str, *args: object) -> None:
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message, *args)


def default_cache_dir() -> Path:
    """A folder of this user's in the system's temporary folder.

    Writable in containers with a read-only root file system and on serverless platforms,
    needs no setting, and lies outside the terms folder (a cache inside it would set off the
    file watcher and could be committed). Point GLOSSARY_CACHE_DIR at a volume that outlives
    the container, or fill it while building the image, to make fresh replicas start warm.
    """
    user = os.geteuid() if hasattr(os, "geteuid") else getpass.getuser()
    return Path(tempfile.gettempdir()) / f"glossary-bot-cache-{user}"


def code_fingerprint() -> str | None:
    """What produced a cache: these modules' source, the libraries' versions, the platform."""
    digest = hashlib.sha256()
    for part in (FORMAT, str(VERSION), sys.version, sys.byteorder):
        digest.update(part.encode())
    for part in (yaml.__version__, pydantic_core.__version__):
        digest.update(part.encode())
    here = Path(__file__).resolve().parent
    try:
        for name in _CODE_FILES:
            digest.update((here / name).read_bytes())
    except OSError:  # no source to compare with: a cache could outlive the code that made it
        return None
    return digest.hexdigest()


# -- what one file's entry holds -----------------------------------------------------------------


def _encode_data(value: Any) -> Any:
    """YAML data as JSON: dates tagged, anything JSON cannot hold exactly refused."""
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, list):
        return [_encode_data(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) and not k.startswith("\x00") for k in value):
            raise _NotCacheableError
        return {k: _encode_data(v) for k, v in value.items()}
    if type(value) is date:
        return {_DATE_TAG: value.isoformat()}
    raise _NotCacheableError  # datetimes, sets, bytes...: parse such a file each time


def _decode_data(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_data(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and _DATE_TAG in value:
            return date.fromisoformat(value[_DATE_TAG])
        return {k: _decode_data(v) for k, v in value.items()}
    return value


class _NotCacheableError(Exception):
    """A file whose data JSON cannot hold exactly; it is parsed on every load instead."""


def _details(term_file: TermFile) -> bytes:
    """The data and the positions of a parsed file: the two lines that follow its entry.

    The data line is `[data]`, or `null` when JSON cannot hold the data exactly (a datetime,
    a set): the file is then read again if anything asks for its data or positions.
    """
    try:
        data = None if term_file.data is None else _encode_data(term_file.data)
    except _NotCacheableError:
        return _NO_DETAILS
    positions = [[list(where), pos.line, pos.col] for where, pos in term_file.positions.items()]
    return _json_line([data]) + _json_line(positions)


_NO_DETAILS = b"null\nnull\n"  # data and positions not kept: read the file if asked


def _json_line(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _parsed(raw: bytes, path: str, slug: str, keep_details: bool) -> tuple[TermFile, bytes | None]:
    """A term file's bytes parsed as load.py does, and its details line if details are kept
    (without them, no field positions are kept either: only `validate` reads them)."""
    parsed = parse_term_text(raw, TermFile(path=path, slug=slug), positions=keep_details)
    return parsed, (_details(parsed) if keep_details else None)


def _record(term_file: TermFile) -> bytes:
    """A parsed file's first two lines: its term (or null) and its problems."""
    term = term_file.term
    dumped = (
        b"null"
        if term is None
        else term.model_dump_json(exclude_unset=True, exclude={"slug", "source_path"}).encode()
    )
    problems = [[p.line, p.col, str(p.severity), p.message, p.rule] for p in term_file.problems]
    return dumped + b"\n" + _json_line(problems)


class CachedTermFile(TermFile):
    """A term file as the cache gives it: `data` and `positions` are decoded on first use.

    Most loads (the bot starting) never look at them, and decoding every file's positions
    would cost more than everything else the cache saves. When the cache was asked not to
    keep them in memory, they are read again from the term file itself.
    """

    def __init__(
        self,
        path: str,
        slug: str,
        term: Term | None,
        problems: list[Problem],
        details: bytes | None,
        sha256: str,
    ) -> None:
        # Not the dataclass __init__: it would assign the two lazy attributes.
        self.path = path
        self.slug = slug
        self.term = term
        self.problems = problems
        self._sha256 = sha256
        self._data: dict[str, Any] | None = None
        self._positions: dict[FieldPath, Position] = {}
        self._data_ready = self._positions_ready = False
        self._keep(details)

    def _keep(self, details: bytes | None) -> None:
        """Hold the data and positions lines (undecoded); None: read the file if asked."""
        self._data_line, _, self._positions_line = (details or b"").partition(b"\n")
        self._stored = details is not None and self._data_line != b"null"

    @property
    def data(self) -> dict[str, Any] | None:
        if not self._data_ready:
            if self._stored:
                (data,) = json.loads(self._data_line)
                self._data = None if data is None else _decode_data(data)
                self._data_line, self._data_ready = b"", True
            else:
                self._reparse()
        return self._data

    @data.setter
    def data(self, value: dict[str, Any] | None) -> None:
        self._data, self._data_line, self._data_ready = value, b"", True

    @property
    def positions(self) -> dict[FieldPath, Position]:
        if not self._positions_ready:
            if self._stored:
                self._positions = {
                    tuple(where): Position(line, col)
                    for where, line, col in json.loads(self._positions_line)
                }
                self._positions_line, self._positions_ready = b"", True
            else:
                self._reparse()
        return self._positions

    @positions.setter
    def positions(self, value: dict[FieldPath, Position]) -> None:
        self._positions, self._positions_line, self._positions_ready = value, b"", True

    def _reparse(self) -> None:
        """Read the file again. If it changed since it was loaded, its new content is used."""
        fresh = TermFile(path=self.path, slug=self.slug)
        try:
            raw = Path(self.path).read_bytes()
        except OSError:
            raw = None
        if raw is not None:
            if hashlib.sha256(raw).hexdigest() != self._sha256:
                log.info(
                    "%s changed since it was loaded; positions are from its new text", self.path
                )
            parse_term_text(raw, fresh)
        if not self._data_ready:
            self._data, self._data_ready = fresh.data, True
        if not self._positions_ready:
            self._positions, self._positions_ready = fresh.positions, True


_FIELD_SETS: dict[frozenset[str], set[str]] = {}
_LAST_FIELD_SET: dict[type, set[str]] = {}


def share_field_sets(term: Term) -> None:
    """Let a term and its parts share one `model_fields_set` per distinct set of field names.

    Pydantic gives every model instance a set of the fields it was given: seven sets of about
    200 bytes per term, a tenth of a large glossary's memory, all alike. Sharing them is
    safe for these frozen models: pydantic changes the set only on assignment (refused for
    frozen models), and copies (`model_copy`, `copy.copy`) get a set of their own.
    """
    parts: tuple[BaseModel, ...] = (
        term,
        term.audiences,
        term.examples,
        term.governance,
        term.relationships,
        *term.citations,
    )
    for part in parts:
        own: set[str] = part.__pydantic_fields_set__
        shared = _LAST_FIELD_SET.get(part.__class__)
        if shared is None or shared != own:  # the usual case, every field set, is one compare
            shared = _FIELD_SETS.setdefault(frozenset(own), own)
            _LAST_FIELD_SET[part.__class__] = shared
        if shared is not own:
            object.__setattr__(part, "__pydantic_fields_set__", shared)


_validate_term_json = Term.__pydantic_validator__.validate_json  # Term.model_validate_json


def _from_record(
    lines: tuple[bytes, bytes], source: _Source, known: Term | None = None
) -> CachedTermFile:
    """A cached file's term, validated by the model as YAML's would be, and its problems.

    `known`: the term already made from this very record (same file, same bytes), used as is.
    """
    term_line, problems_line = lines
    term = None
    body = term_line.rstrip()
    if body != b"null" and known is not None:
        term = known
    elif body != b"null":
        # The saved term lacks its slug and path (the same folder may be named another way):
        # add them to the JSON, so pydantic parses and validates it in one pass.
        if not body.endswith(b"}"):
            raise ValueError("a term must be a JSON object")
        slug, path = _json_text(source.slug), _json_text(source.text)
        term = _validate_term_json(b'%s,"slug":%s,"source_path":%s}' % (body[:-1], slug, path))
        share_field_sets(term)
    problems = []
    if problems_line != b"[]\n":  # most files have none
        problems = [
            Problem(source.text, int(line), int(col), Severity(severity), str(message), str(rule))
            for line, col, severity, message, rule in json.loads(problems_line)
        ]
    return CachedTermFile(source.text, source.slug, term, problems, None, source.sha or "")


def _digest(manifest: list[list[str]]) -> str:
    """One hash for a list of (file name, content hash): which files, with which bytes."""
    joined = "\n".join(f"{name}\0{sha}" for name, sha in manifest)
    return hashlib.sha256(joined.encode("utf-8", "surrogateescape")).hexdigest()


def _json_text(text: str) -> bytes:
    """A string as JSON: plain ASCII as it is (the common case, ten times quicker)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return b'"%s"' % text.encode()
    return json.dumps(text).encode()


class _Source(NamedTuple):
    """A term file as found: where, the SHA-256 of its bytes ("" if unreadable), and then
    either its row in the old cache (unchanged) or its bytes (to be parsed, if read)."""

    text: str  # its path, as load.py names files in problems: str(folder / name)
    name: str
    slug: str
    sha: str | None  # None: not read yet (it is parsed, and read then)
    row: int | None
    raw: bytes | None


class _Entry(NamedTuple):
    """A file as loaded, and its lines in the terms file and in the details file (if kept).

    The lines of an old entry are not kept (a glossary's worth of JSON, in memory for
    nothing at most starts) but are where they are in the old file: `span` (start, length).
    """

    file: TermFile
    lines: tuple[bytes, ...]
    details: bytes | None
    span: tuple[int, int] | None = None


class _OldTerms(NamedTuple):
    """A terms file being read: the files its header lists, the file (open after the header,
    until `close`), and the header's length and CRC-32."""

    files: list[list[str]]
    handle: IO[bytes]
    header_length: int
    header_crc: int

    def entries(self) -> Iterator[tuple[int, tuple[bytes, bytes], tuple[int, int]]]:
        """Each listed file's two lines (its term and its problems), and where they are.

        Raises ValueError at the end if the file fails its CRC or holds other than one entry
        per listed file: what was read from it must then be thrown away.
        """
        handle, crc, at = self.handle, self.header_crc, self.header_length
        for row, first in enumerate(handle):
            if first.startswith(b'{"crc32":'):
                if json.loads(first)["crc32"] != crc or row != len(self.files):
                    raise ValueError("cache file fails its check")
                return
            lines = (first, handle.readline())
            crc = zlib.crc32(lines[1], zlib.crc32(first, crc))
            length = len(first) + len(lines[1])
            yield row, lines, (at, length)
            at += length
        raise ValueError("cache file is cut short")

    def read(self, span: tuple[int, int]) -> bytes:
        """An entry's lines again, from the same file (even if another one replaced it)."""
        start, length = span
        self.handle.seek(start)
        return self.handle.read(length)

    def close(self) -> None:
        self.handle.close()


# -- the cache --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedLoad(LoadedGlossary):
    """A load through the cache; `digest` names its exact files, for the saved index."""

    digest: str = ""


class GlossaryCache:
    """Parsed term files and built indexes of glossary folders, kept in `directory`.

    `keep_details=False` (for the bot) does not hold each file's data and positions in memory;
    they are read from the term file again if anything asks (the bot never does).
    """

    def __init__(self, directory: str | Path | None = None, *, keep_details: bool = True) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.keep_details = keep_details
        self._code = code_fingerprint()
        self._writers: list[threading.Thread] = []
        # The terms of the last load, by path, with the digest of its files and hashes. When
        # the next load (a reload) finds the cache file of exactly those files, an unchanged
        # file's term is the one already in memory: the glossary being replaced and the next
        # one share it instead of holding two copies, and it is not validated again.
        self._last_terms: tuple[str, dict[str, Term]] = ("", {})
        if self._code is None:
            _warn_once("no-source", "glossary cache: the bot's source cannot be read; cache off")

    @classmethod
    def from_setting(
        cls, value: str | Path | None, *, keep_details: bool = True
    ) -> GlossaryCache | None:
        """The cache GLOSSARY_CACHE_DIR asks for: unset means the default folder, `off` none."""
        if value is not None and str(value).strip().lower() == CACHE_OFF:
            return None
        folder = Path(value) if value is not None and str(value).strip() else None
        return cls(folder, keep_details=keep_details)

    # -- where -------------------------------------------------------------------------------

    def _key(self, folder: Path) -> str:
        where = str(folder.resolve())
        return hashlib.sha256(where.encode("utf-8", "surrogateescape")).hexdigest()[:20]

    def _terms_file(self, folder: Path) -> Path:
        return self.directory / f"{self._key(folder)}.terms.jsonl"

    def _details_file(self, folder: Path) -> Path:
        return self.directory / f"{self._key(folder)}.details.jsonl"

    def _index_file(self, folder: Path) -> Path:
        return self.directory / f"{self._key(folder)}.index.bin"

    def _usable_dir(self, *, create: bool) -> bool:
        """Whether the cache folder exists (or was made) and only this user can change it."""
        if self._code is None:
            return False
        try:
            if create:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self.directory.lstat()
            if stat.S_ISLNK(info.st_mode):
                info = self.directory.stat()
        except FileNotFoundError:
            return False
        except OSError as exc:
            _warn_once(
                f"dir:{self.directory}",
                "glossary cache: cannot use %s (%s); running without the cache",
                self.directory,
                exc.strerror or exc,
            )
            return False
        if not stat.S_ISDIR(info.st_mode) or not _owned_by_us(info):
            _warn_once(
                f"trust:{self.directory}",
                "glossary cache: %s is not a folder that only this user can write to; "
                "running without the cache",
                self.directory,
            )
            return False
        return True

    def _open_trusted(self, path: Path) -> io.BufferedReader | None:
        """A cache file opened for reading, or None if absent or not safely ours."""
        try:
            handle = path.open("rb")
        except OSError:
            return None
        if not _owned_by_us(os.fstat(handle.fileno())):
            handle.close()
            _warn_once(f"trust:{path}", "glossary cache: ignoring %s: not this user's alone", path)
            return None
        return handle

    # -- term files ----------------------------------------------------------------------------

    def load_files(self, folder: Path, names: list[str]) -> CachedLoad:
        """Every term file of `folder`, parsing only those whose bytes changed (see load.py)."""
        prefix = _path_prefix(folder)
        old = self._read_terms_file(folder) if self._usable_dir(create=False) else None
        hashing = None
        if old is not None and len(names) >= CHILD_PROCESS_MIN_FILES:
            hashing = _ChildHashes.start([prefix + name for name in names])
        try:
            # Meanwhile, the old entries of the files still there are rebuilt: those of
            # unchanged files are kept; a changed file's entry is dropped once its hash is in.
            entries = None if old is None else self._old_entries(folder, old, set(names), prefix)
            hashes = hashing.result() if hashing is not None else None
        finally:
            if hashing is not None:
                hashing.close()
        try:
            return self._load(folder, names, prefix, old, entries, hashes)
        finally:
            if old is not None:
                old.close()

    def _load(
        self,
        folder: Path,
        names: list[str],
        prefix: str,
        old: _OldTerms | None,
        entries: dict[int, _Entry] | None,
        hashes: list[str] | None,
    ) -> CachedLoad:
        """The load, from the old cache's entries (None if it is damaged) and, if a child
        found them, the files' hashes."""
        reused = entries or {}
        old_files = [] if old is None else old.files
        files: list[TermFile]
        if (
            hashes is not None
            and len(reused) == len(names)
            and [[name, sha] for name, sha in zip(names, hashes, strict=True)] == old_files
            and "" not in hashes
        ):  # nothing changed, the usual restart: every file's entry is at hand
            manifest = old_files
            files = [reused[row].file for row in range(len(names))]
            self._mark_in_use(folder)
            log.info("glossary cache: %s read from the cache, none parsed", _files(len(names)))
        else:
            sources = _sources(prefix, names, old_files, reused, hashes)
            files, manifest = self._assemble(folder, sources, reused, old, damaged=entries is None)
        loaded = CachedLoad(str(folder), tuple(files), digest=_digest(manifest))
        # Keyed by each term's own path string, so the table holds no strings of its own.
        self._last_terms = (loaded.digest, {t.source_path: t for t in loaded.terms})
        return loaded

    def _read_terms_file(self, folder: Path) -> _OldTerms | None:
        """The terms file of an earlier load, if it is of this code; its entries unchecked yet.

        Its entries are read later from the same open file, so they are of this header even
        if another process renames a new file into place meanwhile.
        """
        handle = self._open_trusted(self._terms_file(folder))
        if handle is None:
            return None
        try:
            first = handle.readline()
            header = json.loads(first)
            if (
                header.get("format") == FORMAT
                and header.get("version") == VERSION
                and header.get("code") == self._code
            ):
                files = header["files"]
                if all(
                    isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f)
                    for f in files
                ):
                    return _OldTerms(list(files), handle, len(first), zlib.crc32(first))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        handle.close()
        return None

    def _old_entries(
        self, folder: Path, old: _OldTerms, names: set[str], prefix: str
    ) -> dict[int, _Entry] | None:
        """The old cache's entries of the files in `names`, by row.

        None if the cache file fails its CRC or its checks, or (when details are kept) if
        the details file is not of the same files: every file is then parsed, and both files
        written again.
        """
        wanted = {row: (name, sha) for row, (name, sha) in enumerate(old.files) if name in names}
        if not wanted:
            return {}
        rebuilt: dict[int, tuple[CachedTermFile, tuple[int, int]]] = {}
        digest, last_terms = self._last_terms
        # Only a reload has terms in memory: a start does not hash the file list for nothing.
        in_memory = last_terms if last_terms and digest == _digest(old.files) else {}
        try:
            for row, lines, span in old.entries():
                if row in wanted:
                    name, sha = wanted[row]  # the hash it had: an entry is kept only if it has it
                    source = _Source(prefix + name, name, _slug(name), sha, row, None)
                    known = in_memory.get(source.text)
                    rebuilt[row] = (_from_record(lines, source, known), span)
        except (ValueError, KeyError, TypeError, IndexError, pydantic_core.ValidationError):
            _warn_once(
                f"bad:{self._terms_file(folder)}", "glossary cache: ignoring a damaged cache file"
            )
            return None
        if not self.keep_details:  # data and positions are only for `validate`
            return {row: _Entry(file, (), None, span) for row, (file, span) in rebuilt.items()}
        details = self._old_details(folder, _digest(old.files), set(rebuilt))
        if len(details) != len(rebuilt):
            return None
        for row, (file, _) in rebuilt.items():
            file._keep(details[row])
        return {row: _Entry(file, (), details[row], span) for row, (file, span) in rebuilt.items()}

    def _assemble(
        self,
        folder: Path,
        sources: list[_Source],
        reused: dict[int, _Entry],
        old: _OldTerms | None,
        *,
        damaged: bool,
    ) -> tuple[list[TermFile], list[list[str]]]:
        """The term files in order, and the manifest: [name, hash of the bytes] per file.

        Unchanged files are their old entries (`reused`); the rest are parsed, in worker
        processes when there are many (a first start, a new replica). If any file changed (or
        the old cache was `damaged`), the new cache is written, reusing the old lines' bytes.
        """
        parsed: dict[int, tuple[str, _Entry | None]] = {}
        to_parse = [at for at, source in enumerate(sources) if source.row is None]
        log.info(
            "glossary cache: %s parsed (new, changed or not cached), %d read from the cache",
            _files(len(to_parse)),
            len(sources) - len(to_parse),
        )
        if len(to_parse) >= CHILD_PROCESS_MIN_FILES:
            apart = _parse_in_workers([sources[at] for at in to_parse], self.keep_details)
            if apart is not None:
                parsed = dict(zip(to_parse, apart, strict=True))
        entries: list[_Entry] = []
        manifest: list[list[str]] = []
        for at, source in enumerate(sources):
            if source.row is not None:
                sha, entry = source.sha or "", reused[source.row]
            else:
                sha, found = parsed.get(at, ("", None))
                if found is None:  # not parsed apart, or unreadable there
                    sha, found = self._parse_here(source)
                entry = found
            entries.append(entry)
            manifest.append([source.name, sha])
        if damaged or old is None or manifest != old.files:
            self._write(folder, manifest, entries, old)
        else:
            self._mark_in_use(folder)
        return [entry.file for entry in entries], manifest

    def _mark_in_use(self, folder: Path) -> None:
        """Touch the folder's terms and details files, so they are not tidied away as unused."""
        _touch(self._terms_file(folder))
        _touch(self._details_file(folder))

    def _parse_here(self, source: _Source) -> tuple[str, _Entry]:
        """A file parsed in this process (read first if it was not), and the hash of its bytes."""
        if source.sha is None:
            source = _source(source.text, source.name)
        if source.raw is None:  # unreadable: hashed as "", so it is never reused
            from bot.glossary.load import load_term_file  # reports the read error as load does

            details = _NO_DETAILS if self.keep_details else None
            return "", _Entry(load_term_file(source.text), (b"null\n[]\n",), details)
        parsed, kept = _parsed(source.raw, source.text, source.slug, self.keep_details)
        if parsed.term is not None:
            share_field_sets(parsed.term)
        sha = source.sha or ""
        term_file = CachedTermFile(
            parsed.path, parsed.slug, parsed.term, parsed.problems, kept, sha
        )
        return sha, _Entry(term_file, (_record(parsed),), kept)

    def _write(
        self, folder: Path, manifest: list[list[str]], entries: list[_Entry], old: _OldTerms | None
    ) -> None:
        """Write the terms file (old entries' lines read again from `old`), and the details
        file if details are kept."""
        terms_writer = _CacheWriter(self, self._terms_file(folder))
        details_writer = None
        if self.keep_details:
            details_writer = _CacheWriter(self, self._details_file(folder))
        try:
            header = {
                "format": FORMAT,
                "version": VERSION,
                "code": self._code,
                "folder": str(folder.resolve()),
                "files": manifest,
            }
            terms_writer.header(header)
            if details_writer is not None:
                details_writer.header({**header, "files": _digest(manifest)})
            for entry in entries:
                if entry.span is not None and old is not None:
                    terms_writer.line(old.read(entry.span))
                for line in entry.lines:
                    terms_writer.line(line)
                if details_writer is not None and entry.details is not None:
                    details_writer.line(entry.details)
            # Details first: a reader between the two renames sees old terms with new details,
            # whose digest does not match theirs, so it reads the term files instead.
            if details_writer is not None:
                details_writer.commit()
            terms_writer.commit()
        finally:
            for writer in (terms_writer, details_writer):
                if writer is not None:
                    writer.abandon()

    def _old_details(self, folder: Path, digest: str, rows: set[int]) -> dict[int, bytes]:
        """The data and positions lines of `rows`, if the details file is of the same files."""
        handle = self._open_trusted(self._details_file(folder))
        if handle is None:
            return {}
        found: dict[int, bytes] = {}
        with handle:
            try:
                first = handle.readline()
                header = json.loads(first)
                if (
                    header.get("format") != FORMAT
                    or header.get("version") != VERSION
                    or header.get("code") != self._code
                    or header.get("files") != digest
                ):
                    return {}
                crc = zlib.crc32(first)
                for row, data in enumerate(handle):
                    if data.startswith(b'{"crc32":'):
                        return found if json.loads(data)["crc32"] == crc else {}
                    positions = handle.readline()
                    crc = zlib.crc32(positions, zlib.crc32(data, crc))
                    if row in rows:
                        found[row] = data + positions
            except (ValueError, KeyError, TypeError, AttributeError):
                return {}
        return {}  # cut short

    # -- the index -----------------------------------------------------------------------------

    def glossary(self, folder: Path, loaded: LoadedGlossary) -> Glossary:
        """`Glossary(loaded.terms)`, restored from the saved index when its files are unchanged.

        A freshly built index is saved in a background thread, so the bot can start answering
        while it is written; `wait()` waits for that.
        """
        digest = loaded.digest if isinstance(loaded, CachedLoad) else ""
        terms = loaded.terms
        saved = self._saved_index(folder, digest) if digest else None
        if saved is not None:
            try:
                with paused_gc():
                    # Lazily: typo, suggestion and search structures are read when first used
                    # (or by Glossary.warm), from this file, which stays open until then.
                    restored = Glossary.from_index_state(terms, saved, lazy=True)
            except ValueError:
                saved.close()
                _warn_once(
                    f"index:{folder}", "glossary cache: ignoring a saved index that does not fit"
                )
            else:
                _touch(self._index_file(folder))
                log.info("glossary cache: index read from the cache")
                return restored
        with paused_gc():
            glossary = Glossary(terms, defer_search=True)  # built by warm() or first search
        if digest:
            log.info("glossary cache: index built; saving it in the background")
            thread = threading.Thread(
                target=self._write_index,
                args=(folder, digest, glossary),
                name="glossary cache writer",
            )
            thread.start()
            self._writers.append(thread)
        return glossary

    def wait(self, timeout: float | None = None) -> None:
        """Wait for cache files still being written in the background."""
        for thread in self._writers:
            thread.join(timeout)
        self._writers = [t for t in self._writers if t.is_alive()]

    def holds(self, folder: Path, loaded: LoadedGlossary) -> bool:
        """Whether this cache holds `loaded` (a load of `folder` through it) whole: its terms
        and its index, so that the next load of the same files parses and indexes nothing."""
        digest = loaded.digest if isinstance(loaded, CachedLoad) else ""
        if not digest or not self._usable_dir(create=False):
            return False
        index = self._saved_index(folder, digest)
        if index is None:
            return False
        index.close()
        terms = self._read_terms_file(folder)
        if terms is None:
            return False
        try:
            return _digest(terms.files) == digest and all(True for _ in terms.entries())
        except ValueError:  # fails its CRC, or cut short
            return False
        finally:
            terms.close()

    def _saved_index(self, folder: Path, digest: str) -> _Sections | None:
        """The saved index of exactly these files, to be read section by section; else None."""
        if not self._usable_dir(create=False):
            return None
        handle = self._open_trusted(self._index_file(folder))
        if handle is None:
            return None
        try:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(size - _FOOTER.size)
            length, magic = _FOOTER.unpack(handle.read(_FOOTER.size))
            if magic != _MAGIC or not 0 < length < size:
                raise ValueError("no footer")
            handle.seek(size - _FOOTER.size - length)
            trailer = json.loads(handle.read(length))
            if (
                trailer.get("format") != FORMAT
                or trailer.get("version") != VERSION
                or trailer.get("code") != self._code
                or trailer.get("files") != digest
            ):
                raise ValueError("another glossary or version")
            return _Sections(handle, trailer["sections"])
        except (OSError, ValueError, TypeError, AttributeError, struct.error):
            handle.close()
            return None

    def _write_index(self, folder: Path, digest: str, glossary: Glossary) -> None:
        """Save the index one section at a time, so it is never all in memory as JSON."""
        with paused_gc():
            self._write_sections(folder, digest, glossary)
        return_freed_memory()

    def _write_sections(self, folder: Path, digest: str, glossary: Glossary) -> None:
        try:
            writer = _CacheWriter(self, self._index_file(folder), checksum=False)
            try:
                sections: dict[str, list[Any]] = {}
                offset = 0
                for name, value in glossary.index_sections():
                    pieces: Iterable[bytes | memoryview]
                    if isinstance(value, array):  # written from its own memory, not a copy
                        pieces, kind = [memoryview(value).cast("B")], f"array:{value.typecode}"
                    elif isinstance(value, JsonText):
                        pieces, kind = value, "json"
                    else:
                        pieces, kind = [json.dumps(value, separators=(",", ":")).encode()], "json"
                    length = crc = 0
                    for piece in pieces:
                        writer.line(piece)
                        length, crc = length + len(piece), zlib.crc32(piece, crc)
                    sections[name] = [kind, offset, length, crc]
                    offset += length
                    del pieces, value
                trailer = json.dumps(
                    {
                        "format": FORMAT,
                        "version": VERSION,
                        "code": self._code,
                        "files": digest,
                        "sections": sections,
                    }
                ).encode()
                writer.line(trailer + _FOOTER.pack(len(trailer), _MAGIC))
                writer.commit()
            finally:
                writer.abandon()
        except Exception:  # a cache that cannot be written must never stop the bot
            log.warning("glossary cache: could not save the index", exc_info=True)


_CACHE_SUFFIXES = (".terms.jsonl", ".details.jsonl", ".index.bin")
_FOOTER = struct.Struct("<Q8s")  # the trailer's length, then a mark of a complete file
_MAGIC = b"GLOSIDX1"


class _Sections(Mapping[str, Any]):
    """A saved index's sections, each read and checked only when restoring asks for it.

    It keeps its file open (closed with it): a file that another process replaces meanwhile
    is renamed over, never written into, so this one still reads the index it started with.
    """

    def __init__(self, handle: io.BufferedReader, table: dict[str, list[Any]]) -> None:
        self._handle = handle
        self._lock = threading.Lock()
        self._table = {
            str(name): (str(k), int(o), int(n), int(c)) for name, (k, o, n, c) in table.items()
        }

    def __getitem__(self, name: str) -> Any:
        kind, offset, length, crc = self._table[name]
        with self._lock:
            return self._read(name, kind, offset, length, crc)

    def _read(self, name: str, kind: str, offset: int, length: int, crc: int) -> Any:
        try:
            self._handle.seek(offset)
            if kind.startswith("array:"):
                values = array(kind.removeprefix("array:"), [0])
                if length % values.itemsize:
                    raise ValueError(f"section {name} is not whole")
                values *= length // values.itemsize  # room to read into, without a copy
                if self._handle.readinto(memoryview(values).cast("B")) != length:
                    raise ValueError(f"section {name} is cut short")
                if zlib.crc32(values) != crc:
                    raise ValueError(f"section {name} fails its check")
                return values
            data = self._handle.read(length)
        except OSError as exc:
            raise ValueError(f"cannot read section {name}: {exc}") from exc
        if len(data) != length or zlib.crc32(data) != crc or kind != "json":
            raise ValueError(f"section {name} fails its check")
        return json.loads(data)

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def close(self) -> None:
        self._handle.close()

    def __del__(self) -> None:
        self._handle.close()


class _CacheWriter:
    """Writes a cache file to a temporary name, then renames it into place in one step."""

    def __init__(self, cache: GlossaryCache, target: Path, *, checksum: bool = True) -> None:
        self.target = target
        self.checksum = checksum
        self.crc = 0
        self.handle: IO[bytes] | None = None
        self.temp: str | None = None
        if not cache._usable_dir(create=True):
            return
        try:
            fd, self.temp = tempfile.mkstemp(
                dir=cache.directory, prefix=target.name + ".", suffix=".tmp"
            )
            self.handle = os.fdopen(fd, "wb")
        except OSError as exc:
            _warn_once(
                f"write:{cache.directory}",
                "glossary cache: cannot write to %s (%s); running without saving it",
                cache.directory,
                exc.strerror or exc,
            )
            self.handle = None
        else:
            _tidy(cache.directory)

    def header(self, header: dict[str, Any]) -> None:
        self.line(json.dumps(header, separators=(",", ":")).encode() + b"\n")

    def line(self, line: bytes | memoryview) -> None:
        if self.handle is not None:
            if self.checksum:
                self.crc = zlib.crc32(line, self.crc)
            self.handle.write(line)

    def commit(self) -> None:
        if self.handle is None or self.temp is None:
            return
        try:
            if self.checksum:
                self.handle.write(json.dumps({"crc32": self.crc}).encode() + b"\n")
            self.handle.close()
            os.replace(self.temp, self.target)
            self.temp = None
        except OSError as exc:
            _warn_once(
                f"write:{self.target.parent}",
                "glossary cache: cannot write %s (%s); running without saving it",
                self.target,
                exc.strerror or exc,
            )
        finally:
            self.handle = None

    def abandon(self) -> None:
        """Remove the temporary file of a write that did not finish."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if self.temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.temp)
            self.temp = None


def _owned_by_us(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (always true where there are no uids)."""
    if not hasattr(os, "geteuid"):
        return True
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _tidy(directory: Path) -> None:
    """Remove temporary files left by crashed writers, and caches of long-unused folders."""
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            stale = entry.name.endswith(".tmp") and age > STALE_TEMP_SECONDS
            unused = entry.name.endswith(_CACHE_SUFFIXES) and age > UNUSED_SECONDS
            if stale or unused:
                os.unlink(entry.path)
        except OSError:
            continue


def _sources(
    prefix: str,
    names: list[str],
    old_files: list[list[str]],
    reused: dict[int, _Entry],
    hashes: list[str] | None,
) -> list[_Source]:
    """Each file, with its row in the old cache if its entry there is reused.

    An entry is reused when the file's bytes hash as they did; with `hashes` (found by a
    child) the file is read here only if they differ, so that it is parsed from the bytes
    it is hashed as. A file with no entry to reuse is read only when it is parsed.
    """
    old_rows = {name: (row, sha) for row, (name, sha) in enumerate(old_files)}
    sources: list[_Source] = []
    for at, name in enumerate(names):
        row, old_sha = old_rows.get(name, (None, None))
        if row not in reused:  # new, or no usable entry: read when it is parsed
            sources.append(_Source(prefix + name, name, _slug(name), None, None, None))
            continue
        if hashes is not None and hashes[at] and hashes[at] == old_sha:
            sources.append(_Source(prefix + name, name, _slug(name), hashes[at], row, None))
            continue
        source = _source(prefix + name, name)
        if source.sha and source.sha == old_sha:
            source = source._replace(row=row, raw=None)  # unchanged: its entry is reused
        sources.append(source)
    return sources


def _path_prefix(folder: Path) -> str:
    """What `str(folder / name)` puts before `name`, to name thousands of files without
    making a Path of each: "terms/" for "terms", "" for ".", "/" for "/"."""
    return str(folder / "x")[:-1]


def _slug(name: str) -> str:
    """`Path(name).stem` for a term file's name (it has a suffix), without making a Path."""
    return name[: name.rfind(".")]


def _source(text: str, name: str) -> _Source:
    """A term file's bytes and their hash ("" if it cannot be read)."""
    try:
        raw = _read_all(text)
    except OSError:
        return _Source(text, name, _slug(name), "", None, None)
    return _Source(text, name, _slug(name), hashlib.sha256(raw).hexdigest(), None, raw)


def _read_all(path: str) -> bytes:
    """A file's bytes, with the bare system calls: a third quicker than `Path.read_bytes` for
    thousands of small files (no buffered file object per file)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


# -- work in child processes ----------------------------------------------------------------

CHILD_PROCESS_MIN_FILES = 500  # for fewer files, starting a child costs more than it saves
MAX_WORKERS = 8  # past this, rebuilding the terms from their results here is the bottleneck
_CHUNKS_PER_WORKER = 8  # results come back while later chunks are parsed, and are used meanwhile


def _can_fork() -> bool:
    """Whether work may go to forked children of this process.

    A forked child starts in a millisecond with every module already imported, where a new
    interpreter would first spend a good part of a second importing pydantic and PyYAML. It
    is only safe while this process runs a single thread (a lock another thread holds at that
    moment stays locked forever in the child): so it is while the bot starts, but not in a
    reload, which runs beside the server's threads and so does its work itself. Linux only:
    on macOS a forked child may crash in the system's frameworks.
    """
    return sys.platform.startswith("linux") and threading.active_count() == 1


class _ChildHashes:
    """The SHA-256 of files' bytes, found by a forked child while this process works on.

    At start-up the bot reads and hashes every term file to know which cache entries still
    hold, then rebuilds those entries' terms through the model; the child does the first on
    the second core while this process does the second.
    """

    def __init__(self, pid: int, pipe: int, count: int) -> None:
        self._pid, self._pipe, self._count = pid, pipe, count
        self._status: int | None = None  # the child's exit code, once reaped

    @classmethod
    def start(cls, paths: list[str]) -> _ChildHashes | None:
        """A child hashing `paths`; None if none can be started (then hash them here)."""
        if not _can_fork():
            return None
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return None
        if pid == 0:  # the child: it leaves by _exit, running none of the parent's clean-up
            status = 1
            try:
                os.close(read_end)
                _send(write_end, "\n".join(map(_sha256_of_file, paths)).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        return cls(pid, read_end, len(paths))

    def result(self) -> list[str] | None:
        """Each path's hash ("" if it could not be read), in order; None if the child failed."""
        chunks = []
        while chunk := os.read(self._pipe, 1 << 20):
            chunks.append(chunk)
        if self._reap() != 0:
            return None
        hashes = b"".join(chunks).decode().split("\n")
        return hashes if len(hashes) == self._count else None

    def close(self) -> None:
        """Stop waiting for the child (it ends once it finds no one reading), and reap it."""
        if self._pipe >= 0:
            os.close(self._pipe)
            self._pipe = -1
        self._reap()

    def _reap(self) -> int | None:
        if self._pid:
            _, status = os.waitpid(self._pid, 0)
            self._pid = 0
            self._status = os.waitstatus_to_exitcode(status)
        return self._status


def _sha256_of_file(path: str) -> str:
    try:
        return hashlib.sha256(_read_all(path)).hexdigest()
    except OSError:
        return ""


def _send(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _worker_count() -> int:
    """How many processes to parse many files in; 0: parse them in this one."""
    if not _can_fork():
        return 0
    cpus = len(os.sched_getaffinity(0))
    return min(cpus, MAX_WORKERS) if cpus > 1 else 0


_work: list[tuple[str, str]] = []  # in a worker: every file to parse (path, slug)


def _take_work(work: list[tuple[str, str]]) -> None:
    """A worker's initializer. Forked workers inherit `work` instead of unpickling it."""
    global _work
    _work = work


def _parse_chunk(
    start: int, stop: int, keep_details: bool
) -> list[tuple[str, bytes, bytes | None]]:
    """In a worker: files start to stop, each read, hashed and parsed into its lines in the
    cache files (`_record`, `_details`). An unreadable file's hash is "" (and no lines)."""
    done: list[tuple[str, bytes, bytes | None]] = []
    for text, slug in _work[start:stop]:
        try:
            raw = _read_all(text)
        except OSError:
            done.append(("", b"", None))
            continue
        parsed, details = _parsed(raw, text, slug, keep_details)
        done.append((hashlib.sha256(raw).hexdigest(), _record(parsed), details))
    return done


def _parse_in_workers(
    sources: list[_Source], keep_details: bool
) -> list[tuple[str, _Entry | None]] | None:
    """Read, hash and parse files in worker processes: each one's hash and entry.

    An entry is None if a worker could not read the file (it is then read here, to report
    why). The result is None when this process should do it all itself: a single core,
    threads running (see `_can_fork`), or workers that cannot start (no /dev/shm on some
    serverless platforms). Workers send back plain bytes, each file's cache lines, far
    cheaper to send than pickled pydantic models; the terms and problems are rebuilt from
    them here exactly as from a cache hit (`_from_record`, through the same model), while
    later chunks are being parsed. A worker reads the file itself, so the hash is of the
    bytes it parsed.
    """
    workers = _worker_count()
    if not workers:
        return None
    import multiprocessing  # only here: most loads (and every cached one) never need them
    from concurrent.futures import ProcessPoolExecutor

    work = [(source.text, source.slug) for source in sources]
    size = -(-len(work) // (workers * _CHUNKS_PER_WORKER))
    starts = range(0, len(work), size)
    parsed: list[tuple[str, _Entry | None]] = []
    try:
        with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_take_work,
            initargs=(work,),
        ) as pool:
            # On a failure, leaving the pool waits for the chunks already queued (a second at
            # most): cancelling them can leave Python 3.11's pool waiting forever.
            futures = [pool.submit(_parse_chunk, at, at + size, keep_details) for at in starts]
            for at, future in zip(starts, futures, strict=True):
                chunk = sources[at : at + size]
                for source, (sha, record, details) in zip(chunk, future.result(), strict=True):
                    if not sha:
                        parsed.append(("", None))
                        continue
                    term_line, _, problems_line = record.partition(b"\n")
                    lines = (term_line, problems_line)
                    term_file = _from_record(lines, source._replace(sha=sha))
                    term_file._keep(details)
                    parsed.append((sha, _Entry(term_file, (record,), details)))
    except Exception as exc:  # noqa: BLE001 - workers only save time: on any failure, parse here
        _warn_once("workers", "glossary cache: cannot parse in worker processes (%s)", exc)
        return None
    return parsed


def load_indexed(
    folder: str | Path, cache: GlossaryCache | None = None
) -> tuple[LoadedGlossary, Glossary]:
    """Load a folder and build its index, through `cache` when there is one.

    The same as `load_glossary(folder)` and `Glossary(loaded.terms)`, only faster when the
    files did not change since the cache last saw them.
    """
    path = Path(folder)
    if cache is None:
        loaded = load_glossary(path)
        with paused_gc():
            return loaded, Glossary(loaded.terms, defer_search=True)
    loaded = load_glossary(path, cache=cache)
    return loaded, cache.glossary(path, loaded)
