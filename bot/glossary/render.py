"""A term and a reader's role, turned into plain content: an Answer, terminal text, Markdown.

`build_answer` decides *what* a reader sees (which framing, which takeaway, which related
terms can be followed); the Slack layer and the terminal only decide *how* it looks. Keeping
that choice here means `python -m bot define` shows the same content as the Slack answer.
Every function is pure and deterministic: same input, same output, byte for byte.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath
from typing import Literal, NamedTuple, Protocol
from urllib.parse import quote

from bot.glossary.model import ROLE_NAMES, Status, Term
from bot.glossary.roles import Audience, Role, RoleDirectory

__all__ = [
    "DEPRECATED_NOTICE",
    "FRAMING_LABELS",
    "Answer",
    "CitationLink",
    "Framing",
    "RelatedTerm",
    "Relation",
    "TermLookup",
    "answer_to_text",
    "build_answer",
    "index_markdown",
    "term_to_markdown",
]

# The same labels Role.framing_label gives, needed here when no role is chosen.
FRAMING_LABELS: dict[Audience, str] = {
    "exec": "Executive framing",
    "engineer": "Engineering framing",
}

DEPRECATED_NOTICE = (
    "This term is no longer recommended. Check its related terms for the words to use instead."
)
NO_ROLE_HINT = "Tip: add --role ROLE ({roles}) to see one framing and a takeaway for that role."

Relation = Literal["broader", "narrower", "related"]


class TermLookup(Protocol):
    """What rendering needs from a glossary: find a term by an exact name (the resolver's
    `Glossary` provides it). Kept as a protocol so rendering does not depend on resolving."""

    def find_by_name(self, name: str) -> Term | None: ...


class Framing(NamedTuple):
    label: str
    text: str


class CitationLink(NamedTuple):
    source: str
    url: str


class RelatedTerm(NamedTuple):
    """A name under the term's relationships; `slug` is None when the glossary lacks it."""

    name: str
    relation: Relation
    slug: str | None


@dataclass(frozen=True)
class Answer:
    """Everything one answer shows, as plain data: no Slack, no terminal, no Markdown."""

    slug: str
    title: str
    aliases: tuple[str, ...]
    categories: tuple[str, ...]
    short_def: str
    role: Role | None
    framings: tuple[Framing, ...]  # the role's framing when a role is given; else both
    takeaway: str  # "" without a role
    long_def: str
    do: tuple[str, ...]
    dont: tuple[str, ...]
    nist_rmf_tags: tuple[str, ...]
    risk_notes: str
    citations: tuple[CitationLink, ...]
    related: tuple[RelatedTerm, ...]
    status: Status
    last_reviewed: date
    license: str
    deprecated: bool
    notice: str
    source_path: str


def build_answer(
    term: Term,
    role: Role | None,
    roles: RoleDirectory,
    glossary: TermLookup | None = None,
    notice: str = "",
) -> Answer:
    """The content of an answer about `term` for a reader in `role` (None: not chosen yet).

    `roles` is accepted so every caller passes the same inputs to every renderer; the framing
    labels come from the role itself. `glossary` turns related names into followable slugs.
    """
    del roles  # the chosen Role already carries its title, audience and takeaway
    audiences = _audience_texts(term)
    if role is not None:
        framings: tuple[Framing, ...] = (Framing(role.framing_label, audiences[role.audience]),)
        takeaway = role.takeaway_for(term.term)
    else:
        framings = tuple(Framing(FRAMING_LABELS[a], audiences[a]) for a in FRAMING_LABELS)
        takeaway = ""
    return Answer(
        slug=term.slug,
        title=term.term,
        aliases=tuple(term.aliases),
        categories=tuple(term.categories),
        short_def=term.short_def,
        role=role,
        framings=framings,
        takeaway=takeaway,
        long_def=term.long_def,
        do=tuple(term.examples.do),
        dont=tuple(term.examples.dont),
        nist_rmf_tags=tuple(term.governance.nist_rmf_tags),
        risk_notes=term.governance.risk_notes.strip(),
        citations=tuple(CitationLink(c.source, c.url) for c in term.citations),
        related=_related_terms(term, glossary),
        status=term.status,
        last_reviewed=term.last_reviewed,
        license=term.license,
        deprecated=term.is_deprecated,
        notice=notice,
        source_path=term.source_path,
    )


def _audience_texts(term: Term) -> dict[Audience, str]:
    """The term's framings by audience, in FRAMING_LABELS order."""
    return {"exec": term.audiences.exec, "engineer": term.audiences.engineer}


def _related_terms(term: Term, glossary: TermLookup | None) -> tuple[RelatedTerm, ...]:
    """Related names, broader first; a name listed under two relations is shown once."""
    seen: set[str] = set()
    related: list[RelatedTerm] = []
    groups: tuple[tuple[Relation, list[str]], ...] = (
        ("broader", term.relationships.broader),
        ("narrower", term.relationships.narrower),
        ("related", term.relationships.related),
    )
    for relation, names in groups:
        for name in names:
            key = _collapse(name).casefold()
            if key in seen:
                continue
            seen.add(key)
            found = glossary.find_by_name(name) if glossary is not None else None
            related.append(RelatedTerm(name, relation, found.slug if found else None))
    return tuple(related)


# --- terminal text ---------------------------------------------------------------------------


def answer_to_text(answer: Answer, width: int = 80) -> str:
    """The answer as wrapped plain text for a terminal, sections separated by blank lines."""
    out = _TextWriter(width)
    if answer.deprecated:
        out.para(f"!! DEPRECATED: {DEPRECATED_NOTICE}")
    if answer.notice:
        out.para(answer.notice)
    out.title(answer.title)
    if answer.aliases:
        out.para(f"Also known as: {', '.join(answer.aliases)}", hang=2)
    if answer.categories:
        out.para(f"Categories: {', '.join(answer.categories)}", hang=2)
    out.gap()
    out.para(answer.short_def)

    if answer.role is not None:
        framing = answer.framings[0]
        out.heading(f"For the {answer.role.title} role ({framing.label})")
        out.para(framing.text, indent=2)
        out.para(f"Takeaway: {answer.takeaway}", indent=2)
    else:
        for framing in answer.framings:
            out.heading(framing.label)
            out.para(framing.text, indent=2)
        out.gap()
        out.para(NO_ROLE_HINT.format(roles=", ".join(ROLE_NAMES)))

    out.heading("In depth")
    for number, paragraph in enumerate(_paragraphs(answer.long_def)):
        if number:
            out.gap()
        out.para(paragraph, indent=2)

    if answer.do or answer.dont:
        out.gap()
        out.bullets("Do", answer.do)
        out.bullets("Don't", answer.dont)

    if answer.nist_rmf_tags or answer.risk_notes:
        out.heading("Governance")
        if answer.nist_rmf_tags:
            out.para(f"NIST AI RMF: {', '.join(answer.nist_rmf_tags)}", indent=2)
        if answer.risk_notes:
            out.para(f"Risk notes: {answer.risk_notes}", indent=2)

    if answer.related:
        out.heading("Related terms")
        for relation, names in _group_related(answer.related):
            out.para(f"{relation.capitalize()}: {', '.join(names)}", indent=2)

    if answer.citations:
        out.heading("Citations")
        for number, citation in enumerate(answer.citations, start=1):
            out.para(f"{number}. {citation.source}", indent=2, hang=3)
            out.para(citation.url, indent=5)

    out.gap()
    out.para(
        f"Status: {answer.status} | last reviewed {answer.last_reviewed.isoformat()} "
        f"| license: {answer.license}"
    )
    return out.text()


class _TextWriter:
    """Collects wrapped lines; blank lines between sections are managed in one place."""

    def __init__(self, width: int) -> None:
        self.width = max(width, 40)
        self.lines: list[str] = []

    def gap(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def title(self, text: str) -> None:
        self.gap()
        line = _terminal_safe(text)
        self.lines.extend([line, "=" * len(line)])

    def heading(self, text: str) -> None:
        self.gap()
        self.para(text)

    def para(self, text: str, indent: int = 0, hang: int = 0) -> None:
        self.lines.extend(
            textwrap.wrap(
                _terminal_safe(text),
                width=self.width,
                initial_indent=" " * indent,
                subsequent_indent=" " * (indent + hang),
                break_long_words=False,
                break_on_hyphens=False,
            )
        )

    def bullets(self, label: str, items: Sequence[str]) -> None:
        if not items:
            return
        self.lines.append(label)
        for item in items:
            self.para(f"- {item}", indent=2, hang=2)

    def text(self) -> str:
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


def _terminal_safe(text: str) -> str:
    """One line of text without control characters: YAML's "\\e" escape could otherwise
    smuggle terminal escape sequences into a term."""
    return "".join(c for c in _collapse(text) if unicodedata.category(c) != "Cc")


# --- Markdown for the docs site --------------------------------------------------------------


def term_to_markdown(term: Term, roles: RoleDirectory, glossary: TermLookup | None) -> str:
    """One docs-site page for a term. Related names link to their page when the glossary
    has them (pages are `<slug>.md` side by side, as `python -m bot render` writes them)."""
    answer = build_answer(term, None, roles, glossary)
    name = _inline(term.term)
    md = _Markdown()
    md.block(f"# {name}")
    if answer.deprecated:
        md.block(f"> **Deprecated.** {DEPRECATED_NOTICE}")

    role_titles = [roles[r].title for r in term.roles]
    md.block(
        "\n".join(
            [
                f"- **Aliases:** {_inline_list(term.aliases)}",
                f"- **Categories:** {_inline_list(term.categories)}",
                f"- **Roles:** {_inline_list(role_titles)}",
                f"- **Part of speech:** {term.part_of_speech.replace('_', ' ')}",
                f"- **Status:** {term.status} (last reviewed {term.last_reviewed.isoformat()})",
            ]
        )
    )

    md.section("Role takeaways")
    md.items(
        [
            f"**{_inline(roles[r].title)}:** {_inline(roles[r].takeaway_for(term.term))}"
            for r in term.roles
        ],
        empty="No roles are listed for this term.",
    )

    md.section("Practice and apply")
    md.block(f"When *{name}* comes up in a document, design review or policy discussion:")
    md.items(
        [f"**Apply it:** {_inline(item)}" for item in term.examples.do]
        + [f"**Steer clear:** {_inline(item)}" for item in term.examples.dont],
        empty="No guidance recorded yet.",
    )

    md.section("Short definition")
    md.block(_lead(term.short_def))

    md.section("Long definition")
    for paragraph in _paragraphs(term.long_def):
        md.block(_lead(paragraph))

    md.section("Audience perspectives")
    md.items(
        [
            f"**{FRAMING_LABELS[audience]}** ({_inline_list(_titles_for(roles, audience))}): "
            f"{_inline(text)}"
            for audience, text in _audience_texts(term).items()
        ]
    )

    md.section("Do and don't")
    md.block("**Do**")
    md.items([_lead(item) for item in term.examples.do], empty="Nothing recorded.")
    md.block("**Don't**")
    md.items([_lead(item) for item in term.examples.dont], empty="Nothing recorded.")

    md.section("Governance")
    md.items(
        [
            f"**NIST AI RMF tags:** {_inline_list(term.governance.nist_rmf_tags)}",
            f"**Risk notes:** {_inline(answer.risk_notes) or 'none recorded'}",
        ]
    )

    md.section("Relationships")
    md.items(
        [
            f"**{relation.capitalize()}:** {', '.join(_related_link(r) for r in related)}"
            for relation, related in _group_related_terms(answer.related)
        ],
        empty="No related terms recorded.",
    )

    md.section("Citations")
    md.items(
        [_citation_link(c) for c in answer.citations],
        numbered=True,
        empty="No citations recorded.",
    )

    md.section("License and source")
    md.block(
        f"Text licensed under {_inline(term.license)}. Source file: `{_display_source(term)}`."
    )
    return md.text()


def index_markdown(terms: Iterable[Term], roles: RoleDirectory) -> str:
    """The docs site's front page: every term by category, then the terms each role reads."""
    ordered = sorted(terms, key=_term_order)
    categories: dict[str, list[Term]] = {}
    for term in ordered:
        for category in dict.fromkeys(_collapse(c) for c in term.categories):
            categories.setdefault(category, []).append(term)

    md = _Markdown()
    md.block("# Glossary")
    md.block(
        f"{_count(len(ordered), 'term')} in {_count(len(categories), 'category', 'categories')}."
    )
    md.section("By category")
    for category in sorted(categories, key=lambda c: (c.casefold(), c)):
        md.block(f"### {_inline(category)}")
        md.items([f"{_page_link(t)}: {_inline(t.short_def)}" for t in categories[category]])

    md.section("By role")
    for role in roles:
        reading = [t for t in ordered if role.name in t.roles]
        links = ", ".join(_page_link(t) for t in reading) or "no terms yet"
        md.block(f"**{_inline(role.title)}:** {links}")
    return md.text()


class _Markdown:
    """Blocks separated by one blank line; the page ends with exactly one newline."""

    def __init__(self) -> None:
        self.blocks: list[str] = []

    def block(self, text: str) -> None:
        self.blocks.append(text)

    def section(self, title: str) -> None:
        self.blocks.append(f"## {title}")

    def items(self, items: Sequence[str], *, numbered: bool = False, empty: str = "") -> None:
        if not items:
            if empty:
                self.blocks.append(f"*{empty}*")
            return
        marks = [f"{n}." if numbered else "-" for n in range(1, len(items) + 1)]
        self.blocks.append("\n".join(f"{m} {item}" for m, item in zip(marks, items, strict=True)))

    def text(self) -> str:
        return "\n\n".join(self.blocks) + "\n"


def _page_link(term: Term) -> str:
    link = f"[{_link_text(term.term)}]({_page_target(term.slug)})"
    return f"{link} *(deprecated)*" if term.is_deprecated else link


def _related_link(related: RelatedTerm) -> str:
    if related.slug is None:
        return _inline(related.name)
    return f"[{_link_text(related.name)}]({_page_target(related.slug)})"


def _page_target(slug: str) -> str:
    return quote(f"{slug}.md")


def _citation_link(citation: CitationLink) -> str:
    url = citation.url.strip()
    if not re.match(r"https?://", url, re.IGNORECASE):
        # Only web links become links: a javascript: or file: URL must not be clickable.
        return f"{_inline(citation.source)} (`{url.replace('`', '')}`)"
    url = url.replace("<", "%3C").replace(">", "%3E")
    target = f"<{url}>" if re.search(r"[\s()]", url) else url
    return f"[{_link_text(citation.source)}]({target})"


def _display_source(term: Term) -> str:
    """The file as `<folder>/<file>`: meaningful to a reader, and the same on every machine."""
    if not term.source_path:
        return f"{term.slug}.yml"
    path = PurePath(term.source_path)
    return "/".join(path.parts[-2:]).replace("`", "")


def _titles_for(roles: RoleDirectory, audience: Audience) -> list[str]:
    return [role.title for role in roles if role.audience == audience] or ["no roles"]


# --- shared text helpers ---------------------------------------------------------------------


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; YAML folding leaves single newlines inside."""
    return [p for p in (_collapse(chunk) for chunk in re.split(r"\n\s*\n", text)) if p]


def _inline(text: str) -> str:
    """Text placed inside a Markdown line: one line, and no raw HTML."""
    return _collapse(text).replace("<", "&lt;")


def _inline_list(items: Sequence[str]) -> str:
    return ", ".join(_inline(i) for i in items) or "none"


def _link_text(text: str) -> str:
    return _inline(text).replace("[", r"\[").replace("]", r"\]")


# Text that opens like a heading, list, quote, rule or fence would change the page's structure.
_BLOCK_START = re.compile(r"^(?:(\d{1,9})([.)])|[#>+*=`~-])")


def _lead(text: str) -> str:
    """Text that starts a Markdown block (a paragraph or a list item), kept literal."""
    line = _inline(text)
    match = _BLOCK_START.match(line)
    if match is None:
        return line
    if match.group(1):  # "1. Foo" would start a list: escape the delimiter, not the digit
        end = match.end(1)
        return f"{line[:end]}\\{line[end:]}"
    return f"\\{line}"


def _group_related(related: Sequence[RelatedTerm]) -> list[tuple[Relation, list[str]]]:
    return [(rel, [r.name for r in group]) for rel, group in _group_related_terms(related)]


def _group_related_terms(
    related: Sequence[RelatedTerm],
) -> list[tuple[Relation, list[RelatedTerm]]]:
    order: tuple[Relation, ...] = ("broader", "narrower", "related")
    groups = [(rel, [r for r in related if r.relation == rel]) for rel in order]
    return [(rel, group) for rel, group in groups if group]


def _term_order(term: Term) -> tuple[str, str, str]:
    return (term.term.casefold(), term.term, term.slug)


def _count(n: int, singular: str, plural: str = "") -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
