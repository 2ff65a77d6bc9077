"""Term requests as Block Kit: the form, the intake post, thread notes, DMs, lists and stats.

Pure functions returning dicts, with the same two promises as `blocks.py` (whose helpers they
use): nothing exceeds Block Kit's limits, and every piece of request text is escaped, so a
request can never make the bot post `<!channel>`, a mention or a disguised link. The only
markup is built here: a person's mention from a well-formed user id, and links from URLs that
`is_web_link` accepted. When a request was made anonymously, no builder that makes a public
message is given the requester's id at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.glossary.model import Term, slugify
from bot.glossary.roles import RoleDirectory
from bot.glossary.scaffold import scaffold_term
from bot.intake import texts
from bot.intake.flow import RequestStats
from bot.intake.form import (
    ANONYMOUS,
    ANONYMOUS_VALUE,
    DECLINE_CALLBACK_ID,
    INPUT_ACTION,
    LINKS,
    MAX_LINKS_CHARS,
    MAX_REASON_CHARS,
    MAX_TERM_CHARS,
    MAX_WHERE_CHARS,
    MAX_WHY_CHARS,
    REASON,
    REQUEST_MODAL_CALLBACK_ID,
    ROLES,
    TERM,
    URGENCY,
    WHERE,
    WHY,
    FormContext,
    is_web_link,
)
from bot.intake.jobs import RequesterDM, ThreadNoteJob
from bot.slack.blocks import (
    Block,
    Message,
    _actions,
    _button,
    _cap,
    _collapse,
    _context,
    _esc,
    _header,
    _Limits,
    _mention,
    _message,
    _mrkdwn,
    _option,
    _plain,
    _section,
    _truncate,
    _utf16_len,
    escape,
)
from bot.store import RequestStatus, RequestTally, TermRequest

__all__ = [
    "ACTION_ACCEPT",
    "ACTION_DECLINE",
    "ACTION_PUBLISHED",
    "METADATA_EVENT",
    "OUTBOX_EVENT",
    "TRIAGE_ACTIONS",
    "already_defined_view",
    "decline_modal",
    "intake_metadata",
    "intake_post",
    "notice_view",
    "outbox_metadata",
    "request_modal",
    "requester_dm",
    "requests_message",
    "scaffold_message",
    "stats_message",
    "thread_note",
]

# Triage buttons on the intake post; value: {"request_id": n}.
ACTION_ACCEPT = "intake_accept"
ACTION_DECLINE = "intake_decline"
ACTION_PUBLISHED = "intake_published"
TRIAGE_ACTIONS = (ACTION_ACCEPT, ACTION_DECLINE, ACTION_PUBLISHED)

# Slack message metadata: how a delivery finds its own earlier post again (see outbox.py).
METADATA_EVENT = "glossary_term_request"  # the intake post; payload {"request_id": n}
OUTBOX_EVENT = "glossary_outbox_message"  # any other post; payload {"outbox_id": n}

MODAL_TITLE_CHARS = 24
LABEL_CHARS = 2000
OPTION_DESCRIPTION_CHARS = 75
PRIVATE_METADATA_CHARS = 3000
STATUS_ICONS: dict[str, str] = {
    "open": "🟡",
    "accepted": "🟢",
    "declined": "⚪",
    "published": "✅",
}
POST_FIELD_CHARS = 600  # per field of the intake post: enough to read, short on a phone
LIST_ROWS = 20
CODE_FENCE = "```"


# --- the request form ----------------------------------------------------------------------


def request_modal(
    term: str,
    kind: str,
    slug: str | None,
    source: str | None,
    *,
    roles: RoleDirectory | None = None,
) -> dict[str, Any]:
    """The request form: every field, each input capped with `max_length`.

    `kind` is "new" or "clarification" (of the existing term `slug`); `source` is the
    permalink of the message it started from. `roles` fills "Who else is affected?"."""
    clarify = kind == "clarification"
    context = FormContext(
        kind="clarification" if clarify else "new",
        slug=slug,
        source=source if source and is_web_link(source) else None,
    )
    blocks: list[Block] = []
    if clarify:
        blocks.append(_context(escape(texts.CLARIFY_NOTE.format(term=_collapse(term)))))
    prefill = " ".join(term.split())[:MAX_TERM_CHARS]
    blocks.append(
        _input(
            TERM,
            texts.TERM_LABEL,
            _text_input(MAX_TERM_CHARS, texts.TERM_PLACEHOLDER, initial=prefill),
        )
    )
    blocks.append(
        _input(
            WHERE,
            texts.WHERE_LABEL,
            _text_input(MAX_WHERE_CHARS, texts.WHERE_PLACEHOLDER),
            optional=True,
        )
    )
    blocks.append(
        _input(
            WHY,
            texts.WHY_LABEL_CLARIFY if clarify else texts.WHY_LABEL,
            _text_input(MAX_WHY_CHARS, texts.WHY_PLACEHOLDER, multiline=True),
            optional=True,
        )
    )
    if roles is not None:
        role_options = [_option(role.title, role.name) for role in roles][: _Limits.options]
        picker = {
            "type": "multi_static_select",
            "action_id": INPUT_ACTION,
            "placeholder": _plain(texts.ROLES_PLACEHOLDER, _Limits.placeholder),
            "options": role_options,
        }
        blocks.append(_input(ROLES, texts.ROLES_LABEL, picker, optional=True))
    urgency = {
        "type": "static_select",
        "action_id": INPUT_ACTION,
        "placeholder": _plain(texts.URGENCY_PLACEHOLDER, _Limits.placeholder),
        "options": [_option(text, value) for value, text in texts.URGENCY_NAMES.items()],
    }
    blocks.append(_input(URGENCY, texts.URGENCY_LABEL, urgency, optional=True))
    blocks.append(
        _input(
            LINKS,
            texts.LINKS_LABEL,
            _text_input(MAX_LINKS_CHARS, "https://…", multiline=True),
            optional=True,
            hint=texts.LINKS_HINT,
        )
    )
    anonymous = {
        "type": "checkboxes",
        "action_id": INPUT_ACTION,
        "options": [
            {
                "text": _plain(texts.ANONYMOUS_OPTION, _Limits.option_text),
                "value": ANONYMOUS_VALUE,
                "description": _plain(texts.ANONYMOUS_DESCRIPTION, OPTION_DESCRIPTION_CHARS),
            }
        ],
    }
    blocks.append(
        _input(
            ANONYMOUS, texts.ANONYMOUS_LABEL, anonymous, optional=True, hint=texts.ANONYMOUS_HINT
        )
    )
    if context.source:
        blocks.append(_context(escape(texts.SOURCE_NOTE)))
    title = texts.MODAL_TITLE_CLARIFY if clarify else texts.MODAL_TITLE
    return {
        "type": "modal",
        "callback_id": REQUEST_MODAL_CALLBACK_ID,
        "title": _plain(title, MODAL_TITLE_CHARS),
        "submit": _plain(texts.SUBMIT, MODAL_TITLE_CHARS),
        "close": _plain(texts.CLOSE, MODAL_TITLE_CHARS),
        "private_metadata": _private_metadata(context),
        "blocks": blocks,
    }


def _private_metadata(context: FormContext) -> str:
    text = context.to_metadata()
    if len(text) > PRIVATE_METADATA_CHARS:  # only a huge permalink could do this: drop it
        text = FormContext(context.kind, context.slug, None).to_metadata()
    return text


def _text_input(
    max_length: int, placeholder: str, *, multiline: bool = False, initial: str = ""
) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": INPUT_ACTION,
        "max_length": max_length,
        "placeholder": _plain(placeholder, _Limits.placeholder),
    }
    if multiline:
        element["multiline"] = True
    if initial:
        element["initial_value"] = initial
    return element


def _input(
    block_id: str, label: str, element: Block, *, optional: bool = False, hint: str = ""
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label, LABEL_CHARS),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint, LABEL_CHARS)
    return block


def notice_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (e.g. the hourly limit is reached)."""
    return {
        "type": "modal",
        "title": _plain(title, MODAL_TITLE_CHARS),
        "close": _plain(texts.OK, MODAL_TITLE_CHARS),
        "blocks": [_section(escape(text))],
    }


def already_defined_view(term: Term) -> dict[str, Any]:
    """The form's answer when the glossary already has the term: the term itself."""
    return {
        "type": "modal",
        "title": _plain(texts.ALREADY_TITLE, MODAL_TITLE_CHARS),
        "close": _plain(texts.OK, MODAL_TITLE_CHARS),
        "blocks": [
            _header(term.term),
            _section(_esc(term.short_def, 2000)),
            _context(escape(texts.already_defined(term.term))),
        ],
    }


def decline_modal(request: TermRequest) -> dict[str, Any]:
    """The triager's "why is it declined?" form."""
    reason = _text_input(MAX_REASON_CHARS, texts.REASON_PLACEHOLDER, multiline=True)
    return {
        "type": "modal",
        "callback_id": DECLINE_CALLBACK_ID,
        "title": _plain(texts.DECLINE_TITLE, MODAL_TITLE_CHARS),
        "submit": _plain(texts.DECLINE_SUBMIT, MODAL_TITLE_CHARS),
        "close": _plain(texts.CLOSE, MODAL_TITLE_CHARS),
        "private_metadata": json.dumps({"request_id": request.id}),
        "blocks": [
            _section(escape(texts.decline_intro(_collapse(request.term)))),
            _input(REASON, texts.REASON_LABEL, reason, hint=texts.REASON_HINT),
        ],
    }


# --- the intake post -------------------------------------------------------------------------


def intake_metadata(request_id: int) -> dict[str, Any]:
    """The intake post's message metadata: how a retried delivery recognises it."""
    return {"event_type": METADATA_EVENT, "event_payload": {"request_id": request_id}}


def outbox_metadata(outbox_id: int) -> dict[str, Any]:
    return {"event_type": OUTBOX_EVENT, "event_payload": {"outbox_id": outbox_id}}


def intake_post(request: TermRequest, waiting: int, roles: RoleDirectory) -> Message:
    """The request as the maintainers see it in the intake channel, with triage buttons while
    it is open or accepted. An anonymous request names nobody."""
    clarify = request.kind == "clarification"
    kind = texts.POST_CLARIFY if clarify else texts.POST_NEW
    status = texts.STATUS_NAMES.get(request.status, request.status)
    fields = [
        _field(texts.REQUESTED_BY, _requester(request)),
        _field(texts.STATUS, f"{STATUS_ICONS.get(request.status, '')} {escape(status)}".strip()),
        _field(texts.WAITING, escape(texts.people(waiting))),
    ]
    if request.urgency:
        urgency = texts.URGENCY_SHORT.get(request.urgency, request.urgency)
        fields.append(_field(texts.URGENCY, escape(urgency)))
    if request.affected_roles:
        fields.append(_field(texts.ROLES, _esc(_role_titles(request.affected_roles, roles), 600)))
    if clarify and request.target_slug:
        fields.append(_field(texts.ABOUT_TERM, f"`{_esc(request.target_slug, 200)}`"))
    blocks: list[Block] = [
        _header(f"{kind}: {_collapse(request.term)}"),
        {"type": "section", "fields": fields},
    ]
    details = _details(
        request.where_seen,
        request.why,
        request.links,
        why_label=texts.WHY_CLARIFY if clarify else texts.WHY,
    )
    if details:
        blocks.append(_section(details))
    if request.source_permalink:
        blocks.append(_context(_web_link(texts.SOURCE, request.source_permalink)))
    outcome = _status_line(request)
    if outcome:
        blocks.append(_section(outcome))
    buttons = _triage_buttons(request.id, request.status)
    if buttons:
        blocks.append(_actions(buttons, block_id=f"triage:{request.id}"))
    filed_on = request.created_at.date().isoformat()
    blocks.append(_context(escape(texts.request_footer(request.id, filed_on))))
    return _message(f"{kind}: {request.term} ({status})", blocks)


def _requester(request: TermRequest) -> str:
    if request.anonymous:
        return escape(texts.ANONYMOUS_REQUESTER)
    return _mention(request.requester_id)


def _field(label: str, value_mrkdwn: str) -> Block:
    text = f"*{escape(label)}*\n{value_mrkdwn}"
    return _mrkdwn(text, _Limits.field_text)


def _role_titles(names: Sequence[str], roles: RoleDirectory) -> str:
    titles = []
    for name in names:
        role = roles.find(name)
        titles.append(role.title if role is not None else name)
    return ", ".join(titles)


def _details(where: str, why: str, links: Sequence[str], *, why_label: str) -> str:
    parts = []
    if where.strip():
        parts.append(f"*{escape(texts.WHERE)}*\n{_esc(where, POST_FIELD_CHARS)}")
    if why.strip():
        parts.append(f"*{escape(why_label)}*\n{_esc(why, POST_FIELD_CHARS)}")
    if links:
        lines = "\n".join(f"• {_web_link(link, link)}" for link in links)
        parts.append(f"*{escape(texts.LINKS)}*\n{lines}")
    return "\n\n".join(parts)


def _web_link(label: str, url: str) -> str:
    """`<url|label>` for a checked web link; anything else is shown as escaped text."""
    label_text = _truncate(_collapse(label), 200)
    if not is_web_link(url):
        return escape(label_text)
    return f"<{escape(url)}|{escape(label_text)}>"


def _status_line(request: TermRequest) -> str:
    by = request.status_changed_by
    who = f" {_mention(by)}" if by else ""
    if request.status == "accepted":
        return f"{escape(texts.ACCEPTED_BY)}{who}"
    if request.status == "declined":
        line = f"{escape(texts.DECLINED_BY)}{who}"
        if request.decline_reason:
            line += f"\n*{escape(texts.REASON)}:* {_esc(request.decline_reason, POST_FIELD_CHARS)}"
        return line
    if request.status == "published":
        return f"{escape(texts.PUBLISHED_BY)}{who}" if by else escape(texts.PUBLISHED_ON_RELOAD)
    return ""


def _triage_buttons(request_id: int, status: RequestStatus) -> list[Block]:
    value = {"request_id": request_id}
    buttons = []
    if status == "open":
        buttons.append(_button(texts.ACCEPT_BUTTON, ACTION_ACCEPT, value, style="primary"))
    if status in ("open", "accepted"):
        buttons.append(_button(texts.DECLINE_BUTTON, ACTION_DECLINE, value, style="danger"))
        buttons.append(_button(texts.PUBLISHED_BUTTON, ACTION_PUBLISHED, value))
    return buttons


# --- in the request's thread -----------------------------------------------------------------


def thread_note(job: ThreadNoteJob, roles: RoleDirectory) -> Message:
    """A "+1": one more person waiting, with the context they gave (named unless anonymous)."""
    who = (
        f"{escape(texts.PLUS_ONE)} {_mention(job.user_id)}"
        if job.user_id
        else escape(texts.PLUS_ONE_ANONYMOUS)
    )
    head = f"{who} · {escape(texts.now_waiting(job.waiting))}"
    blocks: list[Block] = [_section(head)]
    extras = []
    if job.urgency:
        extras.append(f"{texts.URGENCY}: {texts.URGENCY_SHORT.get(job.urgency, job.urgency)}")
    if job.roles:
        extras.append(f"{texts.ROLES}: {_role_titles(job.roles, roles)}")
    details = _details(job.where_seen, job.why, job.links, why_label=texts.WHY)
    if details:
        blocks.append(_section(details))
    if extras:
        blocks.append(_context(_esc(" · ".join(extras), 1000)))
    if job.source:
        blocks.append(_context(_web_link(texts.SOURCE, job.source)))
    fallback = texts.PLUS_ONE_ANONYMOUS if not job.user_id else texts.PLUS_ONE
    return _message(f"{fallback} · {texts.now_waiting(job.waiting)}", blocks)


def scaffold_message(term: str, today: date, by: str | None = None) -> Message:
    """The accepted term's ready-to-fill YAML (the `new` command's output) in code blocks."""
    name = " ".join(term.replace("`", "'").split())
    path = f"terms/{slugify(name) or 'new-term'}.yml"
    intro = escape(texts.scaffold_intro(name, path))
    if by:
        intro = f"{escape(texts.ACCEPTED_BY)} {_mention(by)}. {intro}"
    blocks: list[Block] = [_section(intro)]
    budget = _Limits.section_text - 2 * len(CODE_FENCE) - 2
    chunks = _line_chunks(escape(scaffold_term(name, today)), budget)
    room = _Limits.message_blocks - 2
    for chunk in chunks[:room]:
        blocks.append(_section(f"{CODE_FENCE}\n{chunk}\n{CODE_FENCE}"))
    if len(chunks) > room:
        blocks.append(_context(escape(texts.SCAFFOLD_TRIMMED)))
    return _message(texts.scaffold_intro(name, path), blocks)


def _line_chunks(text: str, limit: int) -> list[str]:
    """Escaped text in pieces of at most `limit`, cut between lines (a longer line is cut)."""
    chunks: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = _truncate(raw, limit)
        candidate = f"{current}\n{line}" if current else line
        if _utf16_len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return [c for c in chunks if c]


# --- to the people who asked -----------------------------------------------------------------


def requester_dm(job: RequesterDM, answer: Message | None = None) -> Message:
    """A plain-words DM about one request; `answer` is the term's answer, when published."""
    term = _collapse(job.term)
    match job.notice:
        case "filed":
            text = texts.filed(term, anonymous=job.anonymous)
        case "joined":
            text = texts.joined(term, job.waiting)
        case "already_waiting":
            text = texts.already_waiting(term, job.waiting)
        case "accepted":
            text = texts.accepted(term)
        case "declined":
            text = texts.declined(term)
        case "published":
            text = texts.published(term) if answer is not None else texts.published_pending(term)
    blocks: list[Block] = [_section(escape(text))]
    if job.notice == "declined" and job.reason:
        blocks.append(_section(f"*{escape(texts.REASON)}:* {_esc(job.reason, 2000)}"))
    if answer is not None:
        blocks.extend(answer["blocks"])
    return {"text": _truncate(escape(text), 300), "blocks": _cap(blocks, _Limits.message_blocks)}


# --- /define requests and /define stats -------------------------------------------------------


def requests_message(tallies: Sequence[RequestTally], more: int = 0) -> Message:
    """The reader's own requests with their status, newest first."""
    if not tallies:
        return _message(texts.REQUESTS_NONE, [_section(escape(texts.REQUESTS_NONE))])
    lines = []
    for tally in tallies[:LIST_ROWS]:
        request = tally.request
        icon = STATUS_ICONS.get(request.status, "•")
        row = texts.request_row(
            _truncate(_collapse(request.term), 100),
            request.status,
            tally.waiting,
            request.created_at.date().isoformat(),
        )
        lines.append(f"{icon} {escape(row)}")
    blocks: list[Block] = [
        _section(f"*{escape(texts.REQUESTS_TITLE)}*"),
        _section(_truncate("\n".join(lines), _Limits.section_text)),
    ]
    hidden = more + max(len(tallies) - LIST_ROWS, 0)
    if hidden:
        blocks.append(_context(escape(texts.more_requests(hidden))))
    return _message(texts.REQUESTS_TITLE, blocks)


def stats_message(stats: RequestStats) -> Message:
    """For triagers: the most requested terms and the most frequent misses."""
    requested = [
        escape(
            texts.tally_row(_truncate(_collapse(t.request.term), 100), t.waiting, t.request.status)
        )
        for t in stats.most_requested
    ]
    missed = [
        escape(texts.tally_row(_truncate(_collapse(key), 100), count))
        for key, count in stats.most_missed
    ]
    blocks: list[Block] = [_header(texts.STATS_TITLE)]
    for title, rows in ((texts.MOST_REQUESTED, requested), (texts.MOST_MISSED, missed)):
        body = "\n".join(f"{n}. {row}" for n, row in enumerate(rows, 1)) or escape(
            texts.NOTHING_YET
        )
        blocks.append(_section(_truncate(f"*{escape(title)}*\n{body}", _Limits.section_text)))
    return _message(texts.STATS_TITLE, blocks)
