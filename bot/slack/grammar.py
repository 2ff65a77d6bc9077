"""The `/define` grammar: the text after the command, parsed into a typed command.

Pure (no Slack imports, no I/O) so every phrasing people type can be tested as a table. The
listener only maps each command type to one action.

    /define                          Help
    /define help | -h | --help       Help
    /define RAG [--role R | -r R]    Lookup(query, role)
    /define RAG as a pm | for legal  Lookup(query, role)   role words only at the end
    /define search <words>           Search(words)
    /define list [category or role]  ListTerms(filter, role)
    /define role <role> | role clear SetRole(role)
    /define request <term>           Request(term)
    /define requests | stats | reload

Role words ("as an engineer", "for product") are only taken from the *end* of the text and only
when what follows "as"/"for" names a role, so "reinforcement learning from human feedback" or
"model for fraud" stay whole. A caller that knows the glossary can pass `is_term` so a term that
itself ends in a role word ("AI for security") or starts with a keyword ("list comprehension")
is looked up as written; quoting the term (`/define "AI for security"`) works without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.glossary.model import RoleName
from bot.glossary.roles import Role, RoleDirectory
from bot.slack import messages

__all__ = [
    "DefineCommand",
    "Help",
    "Invalid",
    "ListTerms",
    "Lookup",
    "Reload",
    "Request",
    "Requests",
    "Search",
    "SetRole",
    "Stats",
    "parse_define",
    "parse_role_words",
]

IsTerm = Callable[[str], bool]


@dataclass(frozen=True)
class Help:
    """Show how to use the command."""


@dataclass(frozen=True)
class Lookup:
    """Answer what `query` means; `role` is an explicit role for this answer only."""

    query: str
    role: RoleName | None = None


@dataclass(frozen=True)
class Search:
    """Full-text search of the glossary."""

    words: str


@dataclass(frozen=True)
class ListTerms:
    """List terms. `filter` is the raw text after `list` (a category or a role, the listener
    decides which, categories first); `role` is set when that text, or a `--role` flag, names
    a role."""

    filter: str | None = None
    role: RoleName | None = None


@dataclass(frozen=True)
class SetRole:
    """Save the user's default role; None forgets it."""

    role: RoleName | None


@dataclass(frozen=True)
class Request:
    """Ask for a missing term to be added."""

    term: str


@dataclass(frozen=True)
class Requests:
    """Show open term requests (triagers)."""


@dataclass(frozen=True)
class Stats:
    """Show usage statistics."""


@dataclass(frozen=True)
class Reload:
    """Reload the glossary from disk (operators)."""


@dataclass(frozen=True)
class Invalid:
    """The text could not be understood; `message` is plain, unescaped text for the user."""

    message: str


DefineCommand = (
    Help | Lookup | Search | ListTerms | SetRole | Request | Requests | Stats | Reload | Invalid
)

_HELP_WORDS = frozenset({"help", "?", "usage"})
_CLEAR_WORDS = frozenset({"clear", "none", "reset", "off", "unset", "forget"})
_BARE_COMMANDS: dict[str, Callable[[], DefineCommand]] = {
    "requests": Requests,
    "stats": Stats,
    "reload": Reload,
}
_ROLE_OPTIONS = frozenset({"--role", "-r"})
_HELP_OPTIONS = frozenset({"--help", "-h"})
# How many words after --role may name it ("--role product manager", "--role data science").
_MAX_ROLE_WORDS = 4
_ROLE_LEADS = frozenset({"as", "for"})
_TRAILING_PUNCTUATION = "?!.,;:"

# Slack on macOS turns "--" into an em or en dash as you type: "—role pm" means "--role pm".
_DASHED_OPTION = re.compile(r"^[\u2014\u2013\u2012\u2212](?=[a-zA-Z])")
_OPTION = re.compile(r"^--?[a-zA-Z]")
_TOKEN = re.compile(r"\"([^\"]*)\"|“([^”]*)”|(\S+)")


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool = False

    @property
    def word(self) -> str:
        return self.text.lower()


def parse_define(
    text: str, roles: RoleDirectory, *, is_term: IsTerm | None = None
) -> DefineCommand:
    """The command a `/define` text asks for. Never raises: bad input becomes `Invalid`."""
    tokens = _tokenize(as_typed(text))
    if not tokens:
        return Help()
    first = tokens[0]
    if not first.quoted and first.word in _HELP_WORDS:
        return Help()

    flags = _take_options(tokens, roles)
    if isinstance(flags, Invalid | Help):
        return flags
    rest, flag_role = flags
    if not rest:
        return Invalid(messages.LOOKUP_MISSING_TERM) if flag_role else Help()

    whole = _join(rest)
    head, args = rest[0], rest[1:]
    if not head.quoted and not (args and is_term is not None and is_term(whole)):
        command = _keyword_command(head.word, args, roles, flag_role)
        if command is not None:
            return command

    query, word_role = _strip_role_words(rest, roles, is_term)
    return Lookup(query=query, role=flag_role or word_role)


def parse_role_words(
    text: str, roles: RoleDirectory, *, is_term: IsTerm | None = None
) -> tuple[str, RoleName | None]:
    """Split trailing role words off free text, for mentions and DMs.

    "what is RAG for legal?" -> ("what is RAG", "legal"); text without role words comes back
    unchanged (apart from whitespace) with None.
    """
    tokens = _tokenize(as_typed(text))
    if not tokens:
        return "", None
    return _strip_role_words(tokens, roles, is_term)


# --- steps -----------------------------------------------------------------------------------


def as_typed(text: str) -> str:
    """The text as the person typed it: Slack sends a typed `&`, `<` or `>` as `&amp;`, `&lt;`
    or `&gt;` (its own markup, such as `<@U123>`, arrives raw and stays so).

    Read back here, the text is escaped exactly once, when a reply shows it: "R&D" reads
    "R&D", not "R&amp;D". Nothing decoded here can become markup in a reply, which escapes
    every `&`, `<` and `>` of user text.
    """
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text.strip()):
        straight, curly, bare = match.groups()
        if bare is not None:
            tokens.append(_Token(_DASHED_OPTION.sub("--", bare)))
        else:
            inner = " ".join((straight if straight is not None else curly).split())
            if inner:
                tokens.append(_Token(inner, quoted=True))
    return tokens


def _join(tokens: list[_Token]) -> str:
    return " ".join(token.text for token in tokens)


def _take_options(
    tokens: list[_Token], roles: RoleDirectory
) -> tuple[list[_Token], RoleName | None] | Invalid | Help:
    """Remove `--role`/`-r` (the last one wins) and `--help`; reject unknown options."""
    rest: list[_Token] = []
    role: RoleName | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.quoted or not _OPTION.match(token.text):
            rest.append(token)
            continue
        name, _, inline = token.text.partition("=")
        name = name.lower()
        if name in _HELP_OPTIONS:
            return Help()
        if name not in _ROLE_OPTIONS:
            return Invalid(messages.unknown_option(name))
        candidates = ([_Token(inline)] if inline else []) + tokens[i:]
        found, used = _role_prefix(candidates, roles)
        if found is None:
            if not candidates or _OPTION.match(candidates[0].text):
                return Invalid(messages.missing_role_value(roles))
            return Invalid(messages.unknown_role(candidates[0].text, roles))
        role = found.name
        i += used - (1 if inline else 0)
    return rest, role


def _role_prefix(tokens: list[_Token], roles: RoleDirectory) -> tuple[Role | None, int]:
    """The role named by the longest run of leading tokens, and how many tokens it used."""
    limit = 0
    while limit < min(len(tokens), _MAX_ROLE_WORDS) and not (
        not tokens[limit].quoted and _OPTION.match(tokens[limit].text)
    ):
        limit += 1
    for count in range(limit, 0, -1):
        role = roles.find(_join(tokens[:count]).rstrip(_TRAILING_PUNCTUATION))
        if role is not None:
            return role, count
    return None, 0


def _keyword_command(
    head: str, args: list[_Token], roles: RoleDirectory, flag_role: RoleName | None
) -> DefineCommand | None:
    """The sub-command `head` names, or None when the text is a term to look up."""
    rest = _join(args)
    if head in _BARE_COMMANDS and not args:
        return _BARE_COMMANDS[head]()
    if head == "search":
        return Search(rest) if rest else Invalid(messages.SEARCH_USAGE)
    if head == "request":
        return Request(rest) if rest else Invalid(messages.REQUEST_USAGE)
    if head == "list":
        if not rest:
            return ListTerms(None, flag_role)
        named = roles.find(re.sub(r"^(?:as|for)\s+", "", rest, flags=re.IGNORECASE))
        return ListTerms(rest, flag_role or (named.name if named else None))
    if head == "role":
        if not rest:
            return SetRole(flag_role) if flag_role else Invalid(messages.missing_role(roles))
        wanted = re.sub(r"^(?:as|to|=)\s*", "", rest, flags=re.IGNORECASE).strip()
        if wanted.lower() in _CLEAR_WORDS:
            return SetRole(None)
        role = roles.find(wanted.rstrip(_TRAILING_PUNCTUATION))
        return SetRole(role.name) if role else Invalid(messages.unknown_role(wanted, roles))
    return None


def _strip_role_words(
    tokens: list[_Token], roles: RoleDirectory, is_term: IsTerm | None
) -> tuple[str, RoleName | None]:
    """Take "as a pm" / "for the legal team" off the end when it names a role."""
    whole = _join(tokens)
    if is_term is not None and is_term(whole):
        return whole, None
    # Right to left, so "model for fraud for legal" splits at the last "for".
    for lead in range(len(tokens) - 2, 0, -1):
        tail = tokens[lead + 1 :]
        if tokens[lead].quoted or tokens[lead].word not in _ROLE_LEADS:
            continue
        if any(token.quoted for token in tail):
            break
        role = roles.find(_join(tail).rstrip(_TRAILING_PUNCTUATION))
        if role is not None:
            return _join(tokens[:lead]), role.name
    return whole, None
