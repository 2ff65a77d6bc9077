"""Glossary content turned into Block Kit messages and views, as plain dicts.

Pure functions: no Slack client, no I/O. A listener gathers inputs, calls one builder and sends
what it returns. Two promises hold for every builder, so no listener has to think about them:

- **Limits.** Nothing exceeds Block Kit's documented limits (see `_Limits`); long content is
  trimmed with "…" and, for a long definition, a button that shows the rest.
- **Escaping.** Every string that came from a term file or a user is escaped before it reaches
  mrkdwn, so nobody can make the bot post `<!channel>`, `<!here>`, a user mention or a
  disguised link. Slack markup (links, mentions) is built only here, from checked parts.

Action ids: a message may hold several "show this term" buttons, and Slack wants every
action_id to be unique, so those buttons are numbered (`show_term:0`, `show_term:1`, ...).
Listeners match them with `SHOW_TERM_ACTION_ID`; the other actions appear at most once in a
message and use their constant as is.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import urlsplit

from bot.glossary.model import Term
from bot.glossary.render import Answer, RelatedTerm
from bot.glossary.resolve import Resolution
from bot.glossary.roles import Role, RoleDirectory, load_roles
from bot.slack import messages

__all__ = [
    "ACTION_BROWSE_CATEGORY",
    "ACTION_PICK_ROLE",
    "ACTION_REQUEST_TERM",
    "ACTION_SHARE",
    "ACTION_SHOW_MORE",
    "ACTION_SHOW_TERM",
    "ACTION_SUGGEST_CLARIFICATION",
    "ROLE_NONE_VALUE",
    "SHOW_TERM_ACTION_ID",
    "AnswerState",
    "Block",
    "Message",
    "ambiguous_message",
    "answer_message",
    "escape",
    "help_message",
    "home_view",
    "list_message",
    "long_def_message",
    "mentions_message",
    "not_found_message",
    "notice_message",
    "search_message",
]

ACTION_SHOW_TERM = "show_term"  # value: {"slug", "role"}; action_id numbered, see above
ACTION_PICK_ROLE = "pick_role"  # static_select; option value: role name; block_id: {"slug", ...}
ACTION_SHARE = "share_answer"  # value: {"slug", "role", "thread_ts"}
ACTION_REQUEST_TERM = "request_term"  # value: {"term"}
ACTION_SUGGEST_CLARIFICATION = "suggest_clarification"  # value: {"slug"}
ACTION_SHOW_MORE = "show_long_def"  # value: {"slug", "role"}
ACTION_BROWSE_CATEGORY = "browse_category"  # static_select; option value: category name

SHOW_TERM_ACTION_ID = re.compile(rf"^{ACTION_SHOW_TERM}(?::\d+)?$")
# The role picker's "no role" choice: both framings, and (on App Home) forget the saved role.
ROLE_NONE_VALUE = "none"

Block = dict[str, Any]


class Message(TypedDict):
    """What `chat.postMessage`, `chat.postEphemeral`, `respond` and `chat.update` take."""

    text: str
    blocks: list[Block]


class _Limits:
    """Block Kit's documented limits (docs.slack.dev/reference/block-kit)."""

    message_blocks = 50
    view_blocks = 100
    header = 150
    section_text = 3000
    field_text = 2000
    fields = 10
    context_text = 3000
    context_elements = 10
    actions_elements = 25
    button_text = 75
    button_value = 2000
    option_text = 75
    option_value = 150
    options = 100
    placeholder = 150
    block_id = 255
    action_id = 255
    fallback = 40000


# Our own, tighter budgets: what reads well on a phone.
FALLBACK_CHARS = 300
LONG_DEF_PREVIEW_CHARS = 300
LIST_ROW_DEF_CHARS = 120
ROWS_WITH_BUTTONS = 20
MAX_RELATED_BUTTONS = 15


@dataclass(frozen=True)
class AnswerState:
    """Where an answer lives, carried in its buttons so a click can re-render or share it.

    `slug` and `role` are what the buttons ask for again (normally the answer's own);
    `thread_ts` is where Share posts (None: the channel); `public` marks a shared copy, which
    says who shared it (`shared_by`, a Slack user id) and has no Share button.
    """

    slug: str
    role: str | None = None
    thread_ts: str | None = None
    public: bool = False
    shared_by: str | None = None

    @classmethod
    def for_answer(
        cls,
        answer: Answer,
        *,
        thread_ts: str | None = None,
        public: bool = False,
        shared_by: str | None = None,
    ) -> AnswerState:
        role = answer.role.name if answer.role is not None else None
        return cls(answer.slug, role, thread_ts, public, shared_by)


# --- escaping and text objects ---------------------------------------------------------------


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup, so text shows literally.

    Callers pass text as people wrote it (not already escaped): `&amp;` becomes `&amp;amp;`.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack shows plain_text literally: no mentions, links or entity decoding that could turn into
# markup. So plain_text (headers, buttons, options) is NOT entity-escaped — "R&D" must read
# "R&D", not "R&amp;D". As defence in depth, in case such text is ever copied into mrkdwn (Slack
# echoes it back in interaction payloads), the "<" that opens a control sequence (`<!channel>`,
# `<@U1>`, `<#C1>`, `<https://...|...>`) is swapped for a look-alike "‹": the reader sees the
# same characters and no raw control sequence ever leaves the bot. A lone "<" ("p < 0.05") stays.
_CONTROL_SEQUENCE = re.compile(r"<(?=[!@#]|[A-Za-z][A-Za-z0-9+.\-]*:)")


def _defang(text: str) -> str:
    return _CONTROL_SEQUENCE.sub("‹", text) if "<" in text else text


def _utf16_len(text: str) -> int:
    # Slack may count UTF-16 code units; counting them is never shorter than counting
    # code points, so a limit met this way is met either way. ASCII is one unit a character.
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def _truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in "…" when cut, preferring a word boundary.

    Safe on escaped text: a cut never leaves half an entity such as `&am`.
    """
    # A character is at most two UTF-16 units, so short text needs no counting.
    if len(text) * 2 <= limit or _utf16_len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    while cut and _utf16_len(cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space >= limit * 0.8:
        cut = cut[:space]
    cut = _PARTIAL_ENTITY.sub("", cut).rstrip()
    return f"{cut}…"


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {
        "type": "plain_text",
        "text": _truncate(_defang(_collapse(text)), limit) or "…",
        "emoji": True,
    }


def _mrkdwn(text: str, limit: int) -> dict[str, Any]:
    # verbatim: Slack must not auto-link or auto-mention anything in glossary text; the only
    # links and mentions are the ones built here with explicit <...> markup.
    return {"type": "mrkdwn", "text": _truncate(text, limit) or "…", "verbatim": True}


def _fallback(text: str) -> str:
    return _truncate(escape(_collapse(text)), FALLBACK_CHARS) or "…"


def _esc(text: str, budget: int) -> str:
    """Glossary or user text for mrkdwn: one line, at most `budget` characters, escaped.

    Each part of an answer gets its own budget so one huge field cannot crowd out the rest."""
    return escape(_truncate(_collapse(text), budget))


def _bold(text: str) -> str:
    """Escaped text in bold; asterisks inside would end the bold early, so they go."""
    return f"*{escape(_collapse(text).replace('*', ''))}*"


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def _mention(user_id: str) -> str:
    """A user mention, only for a well-formed user id; anything else is shown as text."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(user_id)


# Answers cite the same sources again and again, and checking a URL means parsing it.
@functools.lru_cache(maxsize=4096)
def _link(label: str, url: str) -> str:
    """`<url|label>` for a web URL; any other URL is not linked (javascript:, file:, ...)."""
    url = url.strip()
    parts = urlsplit(url)
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.netloc
        or re.search(r"[\s\x00-\x1f\x7f]", url)
    ):
        return escape(_collapse(label))
    safe_url = escape(url.replace("|", "%7C"))
    return f"<{safe_url}|{escape(_collapse(label))}>"


# --- blocks and elements ---------------------------------------------------------------------


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text, _Limits.header)}


def _section(mrkdwn: str, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": _mrkdwn(mrkdwn, _Limits.section_text)}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(*mrkdwn: str) -> Block:
    elements = [_mrkdwn(text, _Limits.context_text) for text in mrkdwn if text]
    return {"type": "context", "elements": elements[: _Limits.context_elements]}


def _divider() -> Block:
    return {"type": "divider"}


def _actions(elements: Sequence[Block], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements[: _Limits.actions_elements])}
    if block_id is not None:
        block["block_id"] = block_id
    return block


# One encoder for every button value and block_id: `json.dumps` with options builds a new
# encoder on each call, which showed up in the cost of every answer.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(data: dict[str, Any], limit: int) -> str:
    """Compact JSON of `data` within `limit`: the longest string value is shortened if needed."""
    encoded = _COMPACT_JSON.encode(data)
    if len(encoded) <= limit:
        return encoded
    data = dict(data)
    while len(encoded) > limit:
        key = max(
            (k for k, v in data.items() if isinstance(v, str) and v),
            key=lambda k: len(data[k]),
            default=None,
        )
        if key is None:
            break
        excess = len(encoded) - limit
        value: str = data[key]
        data[key] = value[: max(len(value) - excess - 8, 0)]
        encoded = _COMPACT_JSON.encode(data)
    return encoded


def _button(text: str, action_id: str, value: dict[str, Any], *, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": _plain(text, _Limits.button_text),
        "action_id": action_id[: _Limits.action_id],
        "value": _json(value, _Limits.button_value),
    }
    if style is not None:
        button["style"] = style
    return button


class _ShowTermIds:
    """Numbers the "show term" buttons of one message, so their action_ids are unique."""

    def __init__(self) -> None:
        self._next = 0

    def __call__(self) -> str:
        action_id = f"{ACTION_SHOW_TERM}:{self._next}"
        self._next += 1
        return action_id


def _show_term_button(text: str, slug: str, role: str | None, ids: _ShowTermIds) -> Block:
    return _button(text, ids(), {"slug": slug, "role": role})


def _option(text: str, value: str) -> Block:
    return {
        "text": _plain(text, _Limits.option_text),
        "value": value[: _Limits.option_value],
    }


def _role_options(roles: Iterable[Role]) -> list[Block]:
    # Every answer carries the picker; its options change only with the roles file.
    return list(_role_options_for(tuple((role.title, role.name) for role in roles)))


@functools.lru_cache(maxsize=8)
def _role_options_for(titles_and_names: tuple[tuple[str, str], ...]) -> tuple[Block, ...]:
    options = [_option(title, name) for title, name in titles_and_names]
    options.append(_option("No role (both framings)", ROLE_NONE_VALUE))
    return tuple(options[: _Limits.options])


def _role_picker(roles: Iterable[Role], current: str | None) -> Block:
    options = _role_options(roles)
    picker: Block = {
        "type": "static_select",
        "action_id": ACTION_PICK_ROLE,
        "placeholder": _plain(messages.ROLE_PICKER_PLACEHOLDER, _Limits.placeholder),
        "options": options,
    }
    chosen = [o for o in options if o["value"] == current]
    if chosen:
        picker["initial_option"] = chosen[0]
    return picker


def _state_block_id(slug: str | None, role: str | None, thread_ts: str | None = None) -> str:
    """The role picker's block_id: JSON the listener reads back to know what to re-render.

    It names the role too, so each re-rendering gets a new block_id, as Slack asks (a
    client may otherwise keep showing the previous choice in the picker).
    """
    data: dict[str, Any] = {"slug": slug, "role": role}
    if thread_ts is not None:
        data["thread_ts"] = thread_ts
    return _json(data, _Limits.block_id)


def _cap(blocks: list[Block], limit: int) -> list[Block]:
    """At most `limit` blocks, dropping content from the end but keeping every actions block
    (they hold Share, the role picker and "show more", which the reader needs most)."""
    if len(blocks) <= limit:
        return blocks
    actions = [i for i, block in enumerate(blocks) if block["type"] == "actions"]
    keep_actions = set(actions[:limit])
    room = limit - len(keep_actions)
    kept: list[Block] = []
    for index, block in enumerate(blocks):
        if index in keep_actions:
            kept.append(block)
        elif room > 0:
            kept.append(block)
            room -= 1
    return kept


def _message(fallback: str, blocks: list[Block]) -> Message:
    return {"text": _fallback(fallback), "blocks": _cap(blocks, _Limits.message_blocks)}


# --- the answer ------------------------------------------------------------------------------


def answer_message(
    answer: Answer, *, state: AnswerState, roles: RoleDirectory | None = None
) -> Message:
    """An answer about one term; private (Share, role picker) or a shared copy in a channel.

    `roles` fills the role picker; pass the app's directory (without it the packaged default
    roles are used, which is wrong only for an organisation with its own roles file).
    """
    ids = _ShowTermIds()
    blocks: list[Block] = []
    if state.public and state.shared_by:
        # The template holds no markup characters; the mention is built and checked here.
        blocks.append(_context(messages.shared_by(_mention(state.shared_by))))
    if answer.notice:
        blocks.append(_context(f"🔎 {_esc(answer.notice, 500)}"))
    blocks.append(_header(answer.title))
    if answer.deprecated:
        blocks.append(_context(escape(messages.DEPRECATED)))
    about = _about_line(answer)
    if about:
        blocks.append(_context(about))
    blocks.append(_section(_esc(answer.short_def, 2000)))
    blocks.extend(_role_blocks(answer))
    blocks.extend(_long_def_blocks(answer, state))
    blocks.extend(_examples_blocks(answer))
    blocks.extend(_governance_blocks(answer))
    blocks.extend(_related_blocks(answer.related, state.role, ids))
    blocks.extend(_sources_blocks(answer))
    blocks.append(_context(_meta_line(answer)))
    blocks.append(_answer_actions(answer, state, roles or _default_roles()))

    flag = "[Deprecated] " if answer.deprecated else ""
    return _message(f"{flag}{answer.title}: {answer.short_def}", blocks)


def _about_line(answer: Answer) -> str:
    parts = []
    if answer.aliases:
        parts.append(f"{messages.ALIASES_LABEL}: {_esc(', '.join(answer.aliases), 1200)}")
    if answer.categories:
        parts.append(f"{messages.CATEGORIES_LABEL}: {_esc(', '.join(answer.categories), 1200)}")
    return "  ·  ".join(parts)


def _role_blocks(answer: Answer) -> list[Block]:
    if answer.role is not None and answer.framings:
        framing = answer.framings[0]
        lines = [
            f"{_bold(messages.for_role(answer.role))}  ·  _{escape(framing.label)}_",
            _esc(framing.text, 2000),
        ]
        if answer.takeaway:
            lines.append(f"*{messages.TAKEAWAY_LABEL}:* {_esc(answer.takeaway, 800)}")
        return [_section("\n".join(lines))]
    paragraphs = [f"{_bold(f.label)}\n{_esc(f.text, 1400)}" for f in answer.framings]
    blocks = [_section("\n\n".join(paragraphs))] if paragraphs else []
    blocks.append(_context(escape(messages.NO_ROLE_INVITE)))
    return blocks


def _long_def_blocks(answer: Answer, state: AnswerState) -> list[Block]:
    text = _collapse(answer.long_def)
    if not text:
        return []
    label = f"*{messages.LONG_DEF_LABEL}*\n"
    if len(text) <= LONG_DEF_PREVIEW_CHARS:
        return [_section(label + escape(text))]
    preview = _truncate(text, LONG_DEF_PREVIEW_CHARS)
    more = _button(
        messages.SHOW_MORE_BUTTON, ACTION_SHOW_MORE, {"slug": state.slug, "role": state.role}
    )
    return [_section(label + escape(preview), accessory=more)]


def _bullets(items: Iterable[str], budget: int) -> str:
    return _truncate("\n".join(f"• {escape(_collapse(item))}" for item in items), budget)


def _examples_blocks(answer: Answer) -> list[Block]:
    parts = []
    if answer.do:
        parts.append(f"*{messages.DO_LABEL}*\n{_bullets(answer.do, 1400)}")
    if answer.dont:
        parts.append(f"*{messages.DONT_LABEL}*\n{_bullets(answer.dont, 1400)}")
    return [_section("\n".join(parts))] if parts else []


def _governance_blocks(answer: Answer) -> list[Block]:
    lines = []
    if answer.nist_rmf_tags:
        lines.append(f"{messages.NIST_LABEL}: {_esc(', '.join(answer.nist_rmf_tags), 800)}")
    if answer.risk_notes:
        lines.append(f"{messages.RISK_LABEL}: {_esc(answer.risk_notes, 2000)}")
    if not lines:
        return []
    return [_section(f"*{messages.GOVERNANCE_LABEL}*\n" + "\n".join(lines))]


def _related_blocks(
    related: Sequence[RelatedTerm], role: str | None, ids: _ShowTermIds
) -> list[Block]:
    """Related names the glossary has become buttons that answer in place; others are text."""
    if not related:
        return []
    known = [(r.name, r.slug) for r in related if r.slug is not None]
    unknown = [r.name for r in related if r.slug is None]
    as_buttons, overflow = known[:MAX_RELATED_BUTTONS], known[MAX_RELATED_BUTTONS:]
    lines = [f"*{messages.RELATED_LABEL}*"]
    if overflow:
        lines.append(f"{messages.MORE_RELATED_LABEL}: {_names(name for name, _ in overflow)}")
    if unknown:
        lines.append(f"_{messages.NOT_IN_GLOSSARY_LABEL}:_ {_names(unknown)}")
    blocks = [_section("\n".join(lines))]
    if as_buttons:
        buttons = [_show_term_button(name, slug, role, ids) for name, slug in as_buttons]
        blocks.append(_actions(buttons))
    return blocks


def _names(names: Iterable[str]) -> str:
    return _esc(", ".join(names), 1200)


def _sources_blocks(answer: Answer) -> list[Block]:
    if not answer.citations:
        return []
    # Whole links only: a link cut in the middle would be broken markup.
    text = f"*{messages.SOURCES_LABEL}:* "
    for index, citation in enumerate(answer.citations):
        piece = ("  ·  " if index else "") + _link(citation.source, citation.url)
        if _utf16_len(text + piece) > _Limits.context_text - 1:
            text += " …"
            break
        text += piece
    return [_context(text)]


def _meta_line(answer: Answer) -> str:
    return "  ·  ".join(
        [
            f"{messages.STATUS_LABEL}: {escape(str(answer.status))}",
            f"{messages.REVIEWED_LABEL}: {answer.last_reviewed.isoformat()}",
            f"{messages.LICENSE_LABEL}: {_esc(answer.license, 300)}",
        ]
    )


@functools.cache
def _default_roles() -> RoleDirectory:
    return load_roles()


def _answer_actions(answer: Answer, state: AnswerState, roles: RoleDirectory) -> Block:
    elements: list[Block] = []
    if not state.public:
        share_value = {"slug": state.slug, "role": state.role, "thread_ts": state.thread_ts}
        elements.append(_button(messages.SHARE_BUTTON, ACTION_SHARE, share_value, style="primary"))
    current = answer.role.name if answer.role is not None else ROLE_NONE_VALUE
    elements.append(_role_picker(roles, current))
    elements.append(
        _button(messages.SUGGEST_BUTTON, ACTION_SUGGEST_CLARIFICATION, {"slug": state.slug})
    )
    return _actions(elements, block_id=_state_block_id(state.slug, state.role, state.thread_ts))


def long_def_message(answer: Answer) -> Message:
    """The whole long definition, for "Show full definition"; split across sections if long."""
    blocks: list[Block] = [_header(answer.title)]
    paragraphs = [_collapse(p) for p in re.split(r"\n\s*\n", answer.long_def)]
    body = "\n\n".join(escape(p) for p in paragraphs if p)
    blocks.extend(_section(chunk) for chunk in _chunks(body, _Limits.section_text))
    blocks.append(_context(f"{messages.LICENSE_LABEL}: {escape(_collapse(answer.license))}"))
    return _message(messages.full_definition_of(answer.title), blocks)


def _chunks(text: str, limit: int) -> list[str]:
    """Escaped text in pieces of at most `limit`, cut at paragraph or word breaks when possible
    and never inside an entity."""
    pieces: list[str] = []
    while _utf16_len(text) > limit:
        cut = text[:limit]
        while _utf16_len(cut) > limit:
            cut = cut[:-1]
        for separator in ("\n\n", " "):
            at = cut.rfind(separator)
            if at >= limit // 2:
                cut = cut[:at]
                break
        else:
            cut = _PARTIAL_ENTITY.sub("", cut) or cut
        pieces.append(cut)
        text = text[len(cut) :].lstrip()
    if text:
        pieces.append(text)
    return pieces


# --- resolution outcomes and lists -----------------------------------------------------------


def ambiguous_message(resolution: Resolution, role: str | None) -> Message:
    """The query could mean several terms: one row and one button per candidate."""
    asked = resolution.text or resolution.query
    blocks = [_section(escape(messages.ambiguous(asked)))]
    blocks.extend(_term_rows(resolution.candidates, role, _ShowTermIds(), budget=48))
    names = ", ".join(term.term for term in resolution.candidates)
    return _message(f"{messages.ambiguous(asked)} {names}", blocks)


def not_found_message(resolution: Resolution, role: str | None = None) -> Message:
    """No such term: the closest terms as buttons, and a button to request the term."""
    asked = resolution.text or resolution.query
    ids = _ShowTermIds()
    blocks: list[Block] = []
    suggestions = list(resolution.candidates)[: _Limits.actions_elements]
    if suggestions:
        text = f"{messages.not_found(asked)} {messages.NOT_FOUND_SUGGESTIONS}"
        blocks.append(_section(escape(text)))
        buttons = [_show_term_button(t.term, t.slug, role, ids) for t in suggestions]
        blocks.append(_actions(buttons))
    else:
        blocks.append(_section(escape(messages.not_found(asked))))
    request = _button(messages.REQUEST_BUTTON, ACTION_REQUEST_TERM, {"term": asked})
    blocks.append(_section(escape(messages.NOT_FOUND_REQUEST), accessory=request))
    return _message(messages.not_found(asked), blocks)


def help_message(roles: RoleDirectory) -> Message:
    """How to use /define, with the roles people can ask for."""
    blocks = [
        _header(messages.HELP_TITLE),
        _section(escape(messages.HELP_INTRO)),
        _section(_help_lines(roles)),
        _context(escape(messages.HELP_MENTION)),
    ]
    return _message(messages.HELP_TITLE, blocks)


def _help_lines(roles: RoleDirectory) -> str:
    return "\n".join(
        f"`{escape(usage)}`  {escape(meaning)}" for usage, meaning in messages.help_lines(roles)
    )


def search_message(query: str, terms: Sequence[Term], *, role: str | None = None) -> Message:
    """Search results, best first, each with a button that opens the term."""
    if not terms:
        return _message(
            messages.search_empty(query), [_section(escape(messages.search_empty(query)))]
        )
    title = messages.search_results(query, len(terms))
    blocks = [_section(_bold(title))]
    blocks.extend(_term_rows(terms, role, _ShowTermIds(), budget=_Limits.message_blocks - 1))
    return _message(title, blocks)


def list_message(title: str, terms: Sequence[Term], *, role: str | None = None) -> Message:
    """A titled list of terms (a category, a role's reading list, everything)."""
    heading = f"{title} ({len(terms)})" if terms else title
    blocks = [_section(_bold(heading))]
    if not terms:
        blocks.append(_section(escape(messages.LIST_EMPTY)))
    blocks.extend(_term_rows(terms, role, _ShowTermIds(), budget=_Limits.message_blocks - 1))
    return _message(heading, blocks)


def mentions_message(terms: list[Term], *, role: str | None = None) -> Message:
    """The message shortcut's reply: the short definition of every term found in a message."""
    if not terms:
        return _message(messages.MENTIONS_NONE, [_section(escape(messages.MENTIONS_NONE))])
    blocks = [_section(_bold(messages.MENTIONS_TITLE))]
    ids = _ShowTermIds()
    budget = _Limits.message_blocks - 2
    for term in terms[:budget]:
        row = f"{_term_label(term)}\n{escape(_collapse(term.short_def))}"
        blocks.append(_section(row, accessory=_show_term_button(_SHOW, term.slug, role, ids)))
    if len(terms) > budget:
        blocks.append(_context(escape(messages.more_not_shown(len(terms) - budget))))
    names = ", ".join(term.term for term in terms)
    return _message(f"{messages.MENTIONS_TITLE}: {names}", blocks)


def notice_message(text: str) -> Message:
    """One plain line (a confirmation, a usage hint, an error), escaped."""
    return _message(text, [_section(escape(text))])


_SHOW = messages.OPEN_TERM_BUTTON


def _term_label(term: Term) -> str:
    label = _bold(term.term)
    return f"{label} _(deprecated)_" if term.is_deprecated else label


def _term_row(term: Term, role: str | None, ids: _ShowTermIds) -> Block:
    short = escape(_truncate(_collapse(term.short_def), LIST_ROW_DEF_CHARS))
    button = _show_term_button(_SHOW, term.slug, role, ids)
    return _section(f"{_term_label(term)}  {short}", accessory=button)


def _term_rows(
    terms: Sequence[Term], role: str | None, ids: _ShowTermIds, *, budget: int
) -> list[Block]:
    """Terms as rows within `budget` blocks: a row and a button each while they are few,
    compact lines (name and the start of the definition) packed into sections when many."""
    if not terms or budget < 1:
        return []
    if len(terms) <= min(ROWS_WITH_BUTTONS, budget):
        return [_term_row(t, role, ids) for t in terms]
    blocks: list[Block] = []
    lines: list[str] = []
    size = 0
    shown = 0
    for term in terms:
        short = escape(_truncate(_collapse(term.short_def), LIST_ROW_DEF_CHARS))
        line = f"• {_term_label(term)}  {short}"
        if size + _utf16_len(line) + 1 > _Limits.section_text:
            if len(blocks) + 2 > budget:  # keep room for the "…and N more" line
                break
            blocks.append(_section("\n".join(lines)))
            lines, size = [], 0
        lines.append(line)
        size += _utf16_len(line) + 1
        shown += 1
    if lines:
        blocks.append(_section("\n".join(lines)))
    if shown < len(terms):
        blocks = blocks[: budget - 1]
        blocks.append(_context(escape(messages.more_not_shown(len(terms) - shown))))
    return blocks


# --- App Home --------------------------------------------------------------------------------


def home_view(
    *,
    roles: RoleDirectory,
    current_role: str | None,
    categories: Sequence[str],
    terms_in_category: Sequence[Term] | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """The App Home tab: how to use the bot, my role, and browsing by category."""
    role_line = messages.HOME_ROLE_NONE
    if current_role is not None:
        titles: dict[str, str] = {role.name: role.title for role in roles}
        role_line = titles.get(current_role, current_role)
    blocks: list[Block] = [
        _header(messages.HOME_TITLE),
        _section(escape(messages.HOME_INTRO)),
        _section(_help_lines(roles)),
        _divider(),
        _section(f"{messages.HOME_ROLE_LABEL}\n{escape(role_line)}"),
        _actions(
            [_role_picker(roles, current_role or ROLE_NONE_VALUE)],
            block_id=_state_block_id(None, current_role),
        ),
        _divider(),
    ]
    picker = _category_picker(categories, category)
    if picker is not None:
        blocks.append(_section(messages.HOME_BROWSE_LABEL, accessory=picker))
    if category is not None:
        terms = list(terms_in_category or [])
        blocks.append(_section(_bold(f"{category} ({len(terms)})")))
        if not terms:
            blocks.append(_section(escape(messages.LIST_EMPTY)))
        room = _Limits.view_blocks - len(blocks)
        rows = _home_rows(terms, current_role, room)
        blocks.extend(rows)
    elif picker is not None:
        blocks.append(_context(escape(messages.HOME_PICK_CATEGORY)))
    return {"type": "home", "blocks": _cap(blocks, _Limits.view_blocks)}


def _home_rows(terms: Sequence[Term], role: str | None, room: int) -> list[Block]:
    """A row with a button per term: the Home tab has room for more rows than a message."""
    ids = _ShowTermIds()
    fits = terms if len(terms) <= room else terms[: max(room - 1, 0)]
    rows = [_term_row(t, role, ids) for t in fits]
    if len(fits) < len(terms):
        rows.append(_context(escape(messages.more_not_shown(len(terms) - len(fits)))))
    return rows


def _category_picker(categories: Sequence[str], chosen: str | None) -> Block | None:
    names = list(dict.fromkeys(categories))
    if not names:
        return None
    if len(names) > _Limits.options:
        names = names[: _Limits.options]
        if chosen is not None and chosen not in names:
            names[-1] = chosen
    options = [_option(name, name) for name in names]
    picker: Block = {
        "type": "static_select",
        "action_id": ACTION_BROWSE_CATEGORY,
        "placeholder": _plain(messages.CATEGORY_PICKER_PLACEHOLDER, _Limits.placeholder),
        "options": options,
    }
    if chosen is not None and chosen in names:
        picker["initial_option"] = options[names.index(chosen)]
    return picker
