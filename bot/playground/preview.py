"""Preview a term file as the Slack answer, for every role, before it is merged.

An author picks a file from the glossary folder or pastes YAML. The file is loaded and
validated as `python -m bot validate` would (alongside the rest of the folder, so names that
collide with other files are caught), and every problem is listed as `path:line:col`. If the
term could be built, the answer is rendered through the bot's own builders
(`build_answer` and `bot.slack.blocks.answer_message`), once with no role chosen and once per
role, and checked against Block Kit's limits. The folder is read afresh on every preview, so
an edit to a file shows at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.glossary.load import (
    GlossaryFolderError,
    LoadedGlossary,
    TermFile,
    load_glossary,
    parse_term_text,
)
from bot.glossary.model import Term, slugify
from bot.glossary.render import build_answer
from bot.glossary.resolve import Glossary
from bot.glossary.roles import Role, RoleDirectory
from bot.glossary.validate import validate_glossary
from bot.playground import blockkit
from bot.slack import blocks
from bot.slack.blocks import AnswerState

Json = dict[str, Any]

NO_ROLE_TITLE = "No role chosen"
MAX_PASTED_CHARS = 256 * 1024


class PreviewError(Exception):
    """The preview cannot start (no such file, nothing pasted); the message says why."""


@dataclass(frozen=True)
class TermPreviewer:
    """Previews for the term files of one glossary folder."""

    terms_dir: Path
    roles: RoleDirectory

    def _load(self) -> LoadedGlossary:
        try:
            return load_glossary(self.terms_dir)
        except GlossaryFolderError as exc:
            raise PreviewError(str(exc)) from None

    def term_files(self) -> list[Json]:
        """The folder's term files, for the page's picker."""
        return [
            {
                "slug": f.slug,
                "term": f.term.term if f.term is not None else f.slug,
                "path": f.path,
                "broken": f.term is None,
            }
            for f in self._load().files
        ]

    def examples(self) -> list[str]:
        """A few things to type, drawn from the glossary (so they work with any folder)."""
        terms = [f.term for f in self._load().files if f.term is not None]
        if not terms:
            return ["/define help"]
        first = min(terms, key=lambda t: len(t.aliases[0]) if t.aliases else len(t.term))
        short = first.aliases[0] if first.aliases else first.term
        second = next((t for t in terms if t is not first), first)
        return [
            f"/define {short}",
            f"@glossary what is {second.term}?",
            "/define search model",
            "/define help",
        ]

    def preview_file(self, slug: str) -> Json:
        loaded = self._load()
        chosen = next((f for f in loaded.files if f.slug == slug), None)
        if chosen is None:
            raise PreviewError(f"no term file {slug!r} in {self.terms_dir}")
        source = Path(chosen.path).read_text(encoding="utf-8", errors="replace")
        return self._preview(loaded, chosen, source)

    def preview_text(self, text: str, filename: str | None = None) -> Json:
        if not text.strip():
            raise PreviewError("paste a term file's YAML to preview it")
        if len(text) > MAX_PASTED_CHARS:
            raise PreviewError("that is larger than a term file may be (256 KiB)")
        slug = _slug_for(text, filename)
        term_file = parse_term_text(text.encode("utf-8"), TermFile(path=f"{slug}.yml", slug=slug))
        loaded = self._load()
        # The pasted file stands in for the folder's file of the same slug, if there is one.
        others = tuple(f for f in loaded.files if f.slug != slug)
        combined = LoadedGlossary(loaded.root, (*others, term_file))
        return self._preview(combined, term_file, text)

    def _preview(self, loaded: LoadedGlossary, chosen: TermFile, source: str) -> Json:
        report = validate_glossary(loaded)
        problems = [p for p in report.problems if p.path == chosen.path]
        answers: list[Json] = []
        if chosen.term is not None:
            glossary = Glossary(loaded.terms)
            answers.append(self._answer(chosen.term, None, glossary))
            answers.extend(self._answer(chosen.term, role, glossary) for role in self.roles)
        return {
            "path": chosen.path,
            "slug": chosen.slug,
            "term": chosen.term.term if chosen.term is not None else None,
            "source": source,
            "problems": [{**p.as_dict(), "where": f"{p.path}:{p.line}:{p.col}"} for p in problems],
            "answers": answers,
        }

    def _answer(self, term: Term, role: Role | None, glossary: Glossary) -> Json:
        """The private answer `/define` gives a reader in `role`, as the bot builds it."""
        answer = build_answer(term, role, self.roles, glossary)
        message = blocks.answer_message(
            answer, state=AnswerState.for_answer(answer), roles=self.roles
        )
        return {
            "role": role.name if role is not None else None,
            "title": role.title if role is not None else NO_ROLE_TITLE,
            "message": {"text": message["text"], "blocks": message["blocks"]},
            "limits": blockkit.message_problems(dict(message)),
        }


def _slug_for(text: str, filename: str | None) -> str:
    """The pasted file's slug: from the file name given, else from its `term:` field."""
    if filename and filename.strip():
        return slugify(Path(filename.strip()).stem) or "pasted-term"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    name = data.get("term") if isinstance(data, dict) else None
    return slugify(name) if isinstance(name, str) and slugify(name) else "pasted-term"
