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
from collections.abc import Iterator, Mapping
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
)
from bot.glossary.model import Term
from bot.glossary.problems import Problem, Severity
from bot.glossary.resolve import Glossary

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


def _from_record(lines: tuple[bytes, bytes], source: _Source) -> CachedTermFile:
    """A cached file's term, validated by the model as YAML's would be, and its problems."""
    term_line, problems_line = lines
    term = None
    body = term_line.rstrip()
    if body != b"null":
        # The saved term lacks its slug and path (the same folder may be named another way):
        # add them to the JSON, so pydantic parses and validates it in one pass.
        if not body.endswith(b"}"):
            raise ValueError("a term must be a JSON object")
        extra = b',"slug":%s,"source_path":%s}' % (_json_text(source.slug), _json_text(source.text))
        term = Term.model_validate_json(body[:-1] + extra)
        share_field_sets(term)
    problems = []
    if problems_line != b"[]\n":  # most files have none
        problems = [
            Problem(source.text, int(line), int(col), Severity(severity), str(message), str(rule))
            for line, col, severity, message, rule in json.loads(problems_line)
        ]
    return CachedTermFile(source.text, source.slug, term, problems, None, source.sha)


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
    either its row in the old cache (unchanged) or its bytes (to be parsed)."""

    path: Path
    name: str
    text: str  # str(path), as load.py names files in problems
    slug: str
    sha: str
    row: int | None
    raw: bytes | None


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

    def load_files(self, folder: Path, paths: list[Path]) -> CachedLoad:
        """Every term file of `folder`, parsing only those whose bytes changed (see load.py)."""
        old = self._read_header(folder) if self._usable_dir(create=False) else None
        old_rows = {} if old is None else {name: (row, sha) for row, (name, sha) in enumerate(old)}
        sources: list[_Source] = []
        for path in paths:
            source = _source(path)
            row, old_sha = old_rows.get(source.name, (None, None))
            if row is not None and source.sha and old_sha == source.sha:
                source = source._replace(row=row, raw=None)  # unchanged: its record is reused
            sources.append(source)
        manifest = [[source.name, source.sha] for source in sources]
        digest = _digest(manifest)
        changed = old != manifest
        old_digest = "" if old is None or not self.keep_details else _digest(old)
        files = self._assemble(folder, sources, old_digest, write=changed)
        if files is None:  # the old cache failed its check (or lacks details): parse everything
            sources = [_source(source.path) for source in sources]
            manifest = [[source.name, source.sha] for source in sources]
            digest = _digest(manifest)
            files = self._assemble(folder, sources, "", write=True) or []
        elif not changed:
            _touch(self._terms_file(folder))  # in use: not to be tidied away as unused
            _touch(self._details_file(folder))
        return CachedLoad(str(folder), tuple(files), digest=digest)

    def _read_header(self, folder: Path) -> list[list[str]] | None:
        handle = self._open_trusted(self._terms_file(folder))
        if handle is None:
            return None
        with handle:
            try:
                header = json.loads(handle.readline())
                if (
                    header.get("format") != FORMAT
                    or header.get("version") != VERSION
                    or header.get("code") != self._code
                ):
                    return None
                files = header["files"]
                if not all(
                    isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f)
                    for f in files
                ):
                    return None
                return list(files)
            except (ValueError, KeyError, TypeError, AttributeError):
                return None

    def _assemble(
        self, folder: Path, sources: list[_Source], old_digest: str, *, write: bool
    ) -> list[TermFile] | None:
        """The term files in order: reused records read from the old cache, the rest parsed.

        With `write`, the new cache is written alongside, reusing the old lines' bytes.
        Returns None (writing nothing) if the old cache fails its CRC or its checks.
        """
        wanted = {source.row: i for i, source in enumerate(sources) if source.row is not None}
        reused: dict[int, tuple[CachedTermFile, bytes]] = {}
        if wanted:
            try:
                for old_row, lines in self._old_lines(folder, max(wanted)):
                    at = wanted.get(old_row)
                    if at is not None:
                        restored = _from_record(lines, sources[at])
                        reused[old_row] = (restored, b"".join(lines) if write else b"")
            except (ValueError, KeyError, TypeError, IndexError, pydantic_core.ValidationError):
                _warn_once(
                    f"bad:{self._terms_file(folder)}",
                    "glossary cache: ignoring a damaged cache file",
                )
                return None
            if len(reused) != len(wanted):
                return None
        # Data and positions are only for `validate`: the bot neither reads nor writes them.
        old_details: dict[int, bytes] = {}
        if wanted and self.keep_details:
            old_details = self._old_details(folder, old_digest, set(wanted))
            if len(old_details) != len(wanted):
                return None  # parse everything once, and write both files
        files: list[TermFile] = []
        terms_writer = details_writer = None
        if write:
            terms_writer = _CacheWriter(self, self._terms_file(folder))
            if self.keep_details:
                details_writer = _CacheWriter(self, self._details_file(folder))
        try:
            if terms_writer is not None:
                manifest = [[source.name, source.sha] for source in sources]
                header = {
                    "format": FORMAT,
                    "version": VERSION,
                    "code": self._code,
                    "folder": str(folder.resolve()),
                    "files": manifest,
                }
                terms_writer.header(header)
                if details_writer is not None:
                    digest = _digest(manifest)
                    details_writer.header({**header, "files": digest})
            for source in sources:
                if source.row is not None:
                    term_file, old_lines = reused.pop(source.row)
                    files.append(term_file)
                    if terms_writer is not None:
                        terms_writer.line(old_lines)
                    details = old_details.get(source.row)
                    if details is not None:
                        term_file._keep(details)
                        if details_writer is not None:
                            details_writer.line(details)
                    continue
                parsed = _parse(source.path, source.raw)
                if source.raw is None:  # unreadable: hashed as "", so it is never reused
                    files.append(parsed)
                    if terms_writer is not None:
                        terms_writer.line(b"null\n[]\n")
                    if details_writer is not None:
                        details_writer.line(_NO_DETAILS)
                    continue
                if terms_writer is not None:
                    terms_writer.line(_record(parsed))
                kept = None
                if self.keep_details:
                    kept = _details(parsed)
                    if details_writer is not None:
                        details_writer.line(kept)
                if parsed.term is not None:
                    share_field_sets(parsed.term)
                files.append(
                    CachedTermFile(
                        parsed.path, parsed.slug, parsed.term, parsed.problems, kept, source.sha
                    )
                )
            # Details first: a reader between the two renames sees old terms with new details,
            # whose digest does not match theirs, so it reads the term files instead.
            if details_writer is not None:
                details_writer.commit()
            if terms_writer is not None:
                terms_writer.commit()
        finally:
            for writer in (terms_writer, details_writer):
                if writer is not None:
                    writer.abandon()
        return files

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

    def _old_lines(self, folder: Path, last_row: int) -> Iterator[tuple[int, tuple[bytes, bytes]]]:
        """Each file's two lines in the old cache: its term and its problems.

        Raises ValueError at the end if the file fails its CRC, is cut short, or has fewer
        rows than `last_row`: what was read from it must then be thrown away.
        """
        handle = self._open_trusted(self._terms_file(folder))
        if handle is None:
            raise ValueError("the cache file went away")
        with handle:
            crc = zlib.crc32(handle.readline())  # the header, checked already
            for row, first in enumerate(handle):
                if first.startswith(b'{"crc32":'):
                    if json.loads(first)["crc32"] != crc or row <= last_row:
                        raise ValueError("cache file fails its check")
                    return
                lines = (first, handle.readline())
                crc = zlib.crc32(lines[1], zlib.crc32(first, crc))
                yield row, lines
        raise ValueError("cache file is cut short")

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
                return restored
        with paused_gc():
            glossary = Glossary(terms, defer_search=True)  # built by warm() or first search
        if digest:
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

    def _write_sections(self, folder: Path, digest: str, glossary: Glossary) -> None:
        try:
            writer = _CacheWriter(self, self._index_file(folder), checksum=False)
            try:
                sections: dict[str, list[Any]] = {}
                offset = 0
                for name, value in glossary.index_sections():
                    if isinstance(value, array):
                        data, kind = value.tobytes(), f"array:{value.typecode}"
                    else:
                        data, kind = json.dumps(value, separators=(",", ":")).encode(), "json"
                    writer.line(data)
                    sections[name] = [kind, offset, len(data), zlib.crc32(data)]
                    offset += len(data)
                    del data, value
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

    def line(self, line: bytes) -> None:
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


def _source(path: Path) -> _Source:
    """A term file's bytes and their hash ("" if it cannot be read)."""
    text = str(path)
    if os.sep == "/" and os.altsep is None:  # Path.name and .stem, without pathlib's overhead
        name = text[text.rfind("/") + 1 :]
        dot = name.rfind(".")
        slug = name[:dot] if 0 < dot < len(name) - 1 else name
    else:
        name, slug = path.name, path.stem
    try:
        raw = _read_all(text)
    except OSError:
        return _Source(path, name, text, slug, "", None, None)
    return _Source(path, name, text, slug, hashlib.sha256(raw).hexdigest(), None, raw)


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


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def _parse(path: Path, raw: bytes | None) -> TermFile:
    if raw is None:
        from bot.glossary.load import load_term_file  # reports the read error as load does

        return load_term_file(path)
    return parse_term_text(raw, TermFile(path=str(path), slug=path.stem))


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
