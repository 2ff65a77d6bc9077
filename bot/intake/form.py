"""The request form: its field ids and limits, and what a submission means once checked.

Pure: the Slack layer builds the modal from these ids (`bot/slack/intake_blocks.py`) and hands
back the submitted `state.values`; `read_form` turns them into a `RequestForm` or into
per-field errors for `response_action: errors`, which Slack shows under each field while
keeping everything the person typed.

Slack stops over-long text with each input's `max_length`; `read_form` checks every limit
again, because a request can be crafted without the form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.intake import texts
from bot.store import REQUEST_KINDS, URGENCIES, RequestKind, Urgency

__all__ = [
    "ANONYMOUS",
    "ANONYMOUS_VALUE",
    "DECLINE_CALLBACK_ID",
    "INPUT_ACTION",
    "LINKS",
    "MAX_LINKS",
    "MAX_LINKS_CHARS",
    "MAX_REASON_CHARS",
    "MAX_TERM_CHARS",
    "MAX_WHERE_CHARS",
    "MAX_WHY_CHARS",
    "REASON",
    "REQUEST_MODAL_CALLBACK_ID",
    "ROLES",
    "TERM",
    "URGENCY",
    "WHERE",
    "WHY",
    "FormContext",
    "RequestForm",
    "is_web_link",
    "read_decline_reason",
    "read_form",
]

REQUEST_MODAL_CALLBACK_ID = "term_request"
DECLINE_CALLBACK_ID = "term_request_decline"

# Block ids of the request form's inputs; each input's action_id is INPUT_ACTION.
TERM = "term"
WHERE = "where_seen"
WHY = "why"
ROLES = "roles"
URGENCY = "urgency"
LINKS = "links"
ANONYMOUS = "anonymous"
REASON = "reason"  # the decline form's one input
INPUT_ACTION = "value"
ANONYMOUS_VALUE = "anonymous"

MAX_TERM_CHARS = 150
MAX_WHERE_CHARS = 300
MAX_WHY_CHARS = 1000
MAX_LINKS_CHARS = 1000
MAX_LINKS = 5
MAX_REASON_CHARS = 500
MAX_URL_CHARS = 500

_LINK_SEPARATORS = re.compile(r"[\s,]+")
_UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f<>|]")


@dataclass(frozen=True)
class FormContext:
    """What the form was opened for, carried in the modal's private_metadata."""

    kind: RequestKind = "new"
    slug: str | None = None  # the existing term a clarification is about
    source: str | None = None  # permalink of the message that prompted the request

    def to_metadata(self) -> str:
        return json.dumps({"kind": self.kind, "slug": self.slug, "source": self.source})

    @classmethod
    def from_metadata(cls, text: str | None) -> FormContext:
        """Read private_metadata leniently: anything unexpected reads as a plain request."""
        try:
            data = json.loads(text or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        kind = data.get("kind")
        slug = data.get("slug")
        source = data.get("source")
        return cls(
            kind=kind if kind in REQUEST_KINDS else "new",
            slug=slug if isinstance(slug, str) and slug else None,
            source=source if isinstance(source, str) and is_web_link(source) else None,
        )


@dataclass(frozen=True)
class RequestForm:
    """A checked submission: trimmed, within limits, links that are web links."""

    term: str
    where_seen: str = ""
    why: str = ""
    roles: tuple[str, ...] = ()
    urgency: Urgency | None = None
    links: tuple[str, ...] = ()
    anonymous: bool = False
    context: FormContext = FormContext()


def is_web_link(text: str) -> bool:
    """An http(s) URL with a host and nothing that could break Slack's link markup."""
    if len(text) > MAX_URL_CHARS or _UNSAFE_IN_URL.search(text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def read_form(
    values: Mapping[str, Any], context: FormContext, *, known_roles: Collection[str]
) -> RequestForm | dict[str, str]:
    """The submission as a RequestForm, or the problems to show, keyed by block id."""
    errors: dict[str, str] = {}
    term = " ".join(_text(values, TERM).split())
    if not term:
        errors[TERM] = texts.TERM_EMPTY
    elif len(term) > MAX_TERM_CHARS:
        errors[TERM] = texts.too_long(MAX_TERM_CHARS)
    where_seen = _text(values, WHERE).strip()
    if len(where_seen) > MAX_WHERE_CHARS:
        errors[WHERE] = texts.too_long(MAX_WHERE_CHARS)
    why = _text(values, WHY).strip()
    if len(why) > MAX_WHY_CHARS:
        errors[WHY] = texts.too_long(MAX_WHY_CHARS)
    links_text = _text(values, LINKS).strip()
    links = tuple(dict.fromkeys(p for p in _LINK_SEPARATORS.split(links_text) if p))
    if len(links_text) > MAX_LINKS_CHARS:
        errors[LINKS] = texts.too_long(MAX_LINKS_CHARS)
    elif len(links) > MAX_LINKS:
        errors[LINKS] = texts.too_many_links(MAX_LINKS)
    else:
        bad = [link for link in links if not is_web_link(link)]
        if bad:
            errors[LINKS] = texts.not_a_link(bad[0][:60])
    if errors:
        return errors
    roles = tuple(r for r in dict.fromkeys(_selected(values, ROLES)) if r in known_roles)
    urgency_values = [u for u in _selected(values, URGENCY) if u in URGENCIES]
    urgency: Urgency | None = None
    for candidate in URGENCIES:
        if candidate in urgency_values:
            urgency = candidate
    return RequestForm(
        term=term,
        where_seen=where_seen,
        why=why,
        roles=roles,
        urgency=urgency,
        links=links,
        anonymous=ANONYMOUS_VALUE in _selected(values, ANONYMOUS),
        context=context,
    )


def read_decline_reason(values: Mapping[str, Any]) -> str | dict[str, str]:
    """The decline form's reason, or the problem to show on it."""
    reason = _text(values, REASON).strip()
    if not reason:
        return {REASON: texts.REASON_EMPTY}
    if len(reason) > MAX_REASON_CHARS:
        return {REASON: texts.too_long(MAX_REASON_CHARS)}
    return reason


def _element(values: Mapping[str, Any], block: str) -> Mapping[str, Any]:
    entry = values.get(block)
    element = entry.get(INPUT_ACTION) if isinstance(entry, Mapping) else None
    return element if isinstance(element, Mapping) else {}


def _text(values: Mapping[str, Any], block: str) -> str:
    value = _element(values, block).get("value")
    return value if isinstance(value, str) else ""


def _selected(values: Mapping[str, Any], block: str) -> list[str]:
    """The chosen option values of a select, multi-select, radio or checkbox input."""
    element = _element(values, block)
    options = element.get("selected_options")
    if not isinstance(options, list):
        single = element.get("selected_option")
        options = [single] if isinstance(single, Mapping) else []
    return [str(o["value"]) for o in options if isinstance(o, Mapping) and "value" in o]
