"""One log line and one metric sample per Slack request: its kind, outcome and latency.

Why a subclass of AsyncApp rather than a Bolt global middleware: in AsyncApp a middleware's
`next()` only marks the request as passed on (the listeners run after every middleware has
returned), so a middleware cannot see how long the listener took or how it ended. Every request,
over HTTP or Socket Mode, goes through `AsyncApp.async_dispatch`, so that is where it is timed.
With `process_before_response=True` the listener runs inside that call, so the time measured is
the time until Slack gets its answer (lazy listeners finish later, on their own).

The line names the request (command, event type, action or callback id) and the user and team
ids, never the text anyone typed or any token. Requests Bolt refuses (bad signature: 401) are
logged too, as "rejected".
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.metrics import CURRENT_REQUEST, Metrics, RequestRecord

log = logging.getLogger("bot.requests")

_KINDS = {
    "event_callback": "event",
    "block_actions": "action",
    "interactive_message": "action",
    "view_submission": "view",
    "view_closed": "view",
    "shortcut": "shortcut",
    "message_action": "shortcut",
    "block_suggestion": "options",
}


def describe(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) of a request body: ("command", "/define"), ("event", "app_mention"), ..."""
    if body.get("command"):
        return "command", str(body["command"])
    kind = str(body.get("type") or "")
    if kind == "event_callback":
        event = body.get("event") or {}
        return "event", str(event.get("type") or "")
    if kind in ("view_submission", "view_closed"):
        return "view", str((body.get("view") or {}).get("callback_id") or "")
    if kind in ("block_actions", "interactive_message"):
        actions = body.get("actions") or [{}]
        first = actions[0] if isinstance(actions[0], dict) else {}
        return "action", str(first.get("action_id") or body.get("callback_id") or "")
    if kind in _KINDS:
        return _KINDS[kind], str(body.get("callback_id") or body.get("action_id") or "")
    return "other", kind or "unknown"


def outcome_of(status: int, noted: str | None) -> str:
    if status == 401:
        return "rejected"
    if noted:
        return noted
    if status >= 500:
        return "error"
    if status == 404:
        return "unhandled"
    return "ok"


def _who(body: dict[str, Any]) -> dict[str, str]:
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    if not user and isinstance(body.get("event"), dict):
        user = body["event"].get("user")
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    return {k: str(v) for k, v in (("user", user), ("team", team)) if v}


class InstrumentedApp(AsyncApp):
    """AsyncApp that logs and measures every request it dispatches."""

    def __init__(self, *, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        kind, name = describe(body)
        record = RequestRecord(kind, name)
        token = CURRENT_REQUEST.set(record)
        status = 500
        try:
            response = await super().async_dispatch(req)
            status = response.status
            return response
        except BaseException:
            record.outcome = record.outcome or "error"
            raise
        finally:
            CURRENT_REQUEST.reset(token)
            self._finish(record, status, req, body)

    def _finish(
        self, record: RequestRecord, status: int, req: AsyncBoltRequest, body: dict[str, Any]
    ) -> None:
        seconds = time.perf_counter() - record.started
        outcome = outcome_of(status, record.outcome)
        self.metrics.request_done(record.kind, outcome, seconds)
        level = logging.WARNING if outcome in ("error", "rejected") else logging.INFO
        if not log.isEnabledFor(level):
            return  # the line would be dropped: do not spend the request's time building it
        fields: dict[str, Any] = {
            "event": "slack_request",
            "kind": record.kind,
            "name": record.name,
            "outcome": outcome,
            "status": status,
            "latency_ms": round(seconds * 1000, 1),
            **_who(body),
        }
        retry = req.headers.get("x-slack-retry-num") or []
        if retry:
            fields["retry"] = retry[0]
        log.log(
            level,
            "%s %s: %s (%d) in %.1f ms",
            record.kind,
            record.name,
            outcome,
            status,
            seconds * 1000,
            extra={"fields": fields},
        )
