"""Term requests. For now, the smallest real form: the Slack app's default intake hook.

`FormOnlyIntake` opens a modal with the term prefilled and, on submit, posts the request to
`GLOSSARY_INTAKE_CHANNEL` (when one is set). It stores nothing: tracking, dedupe, triage and
the outbox belong to the intake feature, which replaces this class. It speaks to Slack only
through the client object the Slack layer hands it, so it imports no Slack library.
"""

from __future__ import annotations

import json
from typing import Any

REQUEST_MODAL_CALLBACK_ID = "term_request"
TERM_BLOCK = "term"
WHY_BLOCK = "why"
INPUT_ACTION = "value"
TERM_MAX_CHARS = 150
WHY_MAX_CHARS = 1000

MODAL_TITLE = "Request a term"
MODAL_TITLE_CLARIFY = "Suggest a clarification"
SUBMIT_LABEL = "Send"
CLOSE_LABEL = "Cancel"
TERM_LABEL = "Term or phrase"
WHY_LABEL = "Why it matters, or what is unclear"
TERM_EMPTY = "Write the term you would like defined."


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def request_modal(term: str, kind: str, slug: str | None, source: str | None) -> dict[str, Any]:
    """The request form as a Block Kit modal."""
    title = MODAL_TITLE_CLARIFY if kind == "clarification" else MODAL_TITLE
    term_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": INPUT_ACTION,
        "max_length": TERM_MAX_CHARS,
    }
    if term.strip():
        term_input["initial_value"] = term.strip()[:TERM_MAX_CHARS]
    return {
        "type": "modal",
        "callback_id": REQUEST_MODAL_CALLBACK_ID,
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": SUBMIT_LABEL},
        "close": {"type": "plain_text", "text": CLOSE_LABEL},
        "private_metadata": json.dumps({"kind": kind, "slug": slug, "source": source})[:3000],
        "blocks": [
            {
                "type": "input",
                "block_id": TERM_BLOCK,
                "label": {"type": "plain_text", "text": TERM_LABEL},
                "element": term_input,
            },
            {
                "type": "input",
                "block_id": WHY_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": WHY_LABEL},
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION,
                    "multiline": True,
                    "max_length": WHY_MAX_CHARS,
                },
            },
        ],
    }


def _field(view: dict[str, Any], block: str) -> str:
    values = view.get("state", {}).get("values", {})
    value = values.get(block, {}).get(INPUT_ACTION, {}).get("value")
    return str(value or "").strip()


class FormOnlyIntake:
    """Opens the request form; forwards a submitted request to the intake channel."""

    def __init__(self, intake_channel: str | None) -> None:
        self.intake_channel = intake_channel

    async def open_request_modal(
        self,
        client: Any,
        trigger_id: str,
        term: str,
        kind: str,
        slug: str | None,
        source: str | None,
    ) -> None:
        await client.views_open(trigger_id=trigger_id, view=request_modal(term, kind, slug, source))

    async def submit(
        self, client: Any, user_id: str, view: dict[str, Any]
    ) -> dict[str, Any] | None:
        term = _field(view, TERM_BLOCK)[:TERM_MAX_CHARS]
        if not term:
            return {"response_action": "errors", "errors": {TERM_BLOCK: TERM_EMPTY}}
        if not self.intake_channel:
            return None
        why = _field(view, WHY_BLOCK)[:WHY_MAX_CHARS]
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        kind = "Clarification" if meta.get("kind") == "clarification" else "Term request"
        lines = [f"*{kind}:* {_escape(term)}", f"Requested by <@{user_id}>"]
        if why:
            lines.append(_escape(why))
        if isinstance(meta.get("source"), str) and meta["source"].startswith("https://"):
            lines.append(f"<{_escape(meta['source'])}|Source message>")
        await client.chat_postMessage(
            channel=self.intake_channel, text="\n".join(lines), unfurl_links=False
        )
        return None
