"""Database rows to records, shared by both backends. Each backend supplies how it reads a
timestamp and a JSON value; everything else about a row is the same in both."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from bot.store.base import (
    REQUEST_KINDS,
    REQUEST_STATUSES,
    URGENCIES,
    OutboxItem,
    OutboxState,
    RequestDraft,
    Requester,
    RequestKind,
    RequestStatus,
    TermRequest,
    Urgency,
)

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Codec:
    time: Callable[[Any], datetime]
    json: Callable[[Any], Any]

    def optional_time(self, value: Any) -> datetime | None:
        return None if value is None else self.time(value)

    def optional_json(self, value: Any) -> Any:
        return None if value is None else self.json(value)


def request_from_row(row: Row, codec: Codec) -> TermRequest:
    return TermRequest(
        id=int(row["id"]),
        kind=cast(RequestKind, row["kind"]),
        term=row["term"],
        normalised_term=row["normalised_term"],
        target_slug=row["target_slug"],
        requester_id=row["requester_id"],
        where_seen=row["where_seen"],
        why=row["why"],
        affected_roles=tuple(codec.json(row["affected_roles"])),
        urgency=cast(Urgency | None, row["urgency"]),
        links=tuple(codec.json(row["links"])),
        anonymous=bool(row["anonymous"]),
        source_permalink=row["source_permalink"],
        status=cast(RequestStatus, row["status"]),
        decline_reason=row["decline_reason"],
        status_changed_by=row["status_changed_by"],
        created_at=codec.time(row["created_at"]),
        updated_at=codec.time(row["updated_at"]),
        accepted_at=codec.optional_time(row["accepted_at"]),
        declined_at=codec.optional_time(row["declined_at"]),
        published_at=codec.optional_time(row["published_at"]),
        intake_channel=row["intake_channel"],
        intake_ts=row["intake_ts"],
        target_fingerprint=row["target_fingerprint"],
    )


def requester_from_row(row: Row, codec: Codec) -> Requester:
    return Requester(
        request_id=int(row["request_id"]),
        user_id=row["user_id"],
        where_seen=row["where_seen"],
        why=row["why"],
        source_permalink=row["source_permalink"],
        anonymous=bool(row["anonymous"]),
        joined_at=codec.time(row["joined_at"]),
    )


def outbox_item_from_row(row: Row, codec: Codec) -> OutboxItem:
    return OutboxItem(
        id=int(row["id"]),
        kind=row["kind"],
        payload=dict(codec.json(row["payload"])),
        dedupe_key=row["dedupe_key"],
        state=cast(OutboxState, row["state"]),
        attempts=int(row["attempts"]),
        errors=int(row["errors"]),
        available_at=codec.time(row["available_at"]),
        lease_owner=row["lease_owner"],
        lease_until=codec.optional_time(row["lease_until"]),
        last_error=row["last_error"],
        last_error_at=codec.optional_time(row["last_error_at"]),
        result=codec.optional_json(row["result"]),
        created_at=codec.time(row["created_at"]),
        delivered_at=codec.optional_time(row["delivered_at"]),
    )


def status_params(
    status: RequestStatus, by: str | None, reason: str | None, now: Any, request_id: int
) -> dict[str, Any]:
    """Named parameters of both backends' status UPDATE. A decline reason is kept only on a
    declined request; the status's own timestamp (accepted_at, ...) is set to now."""
    return {
        "status": status,
        "by": by,
        "reason": reason if status == "declined" else None,
        "now": now,
        "id": request_id,
    }


ERROR_TEXT_LIMIT = 2000
"""Errors are stored for operators, truncated so a huge response body cannot bloat a row."""


def clip_error(error: str) -> str:
    return error if len(error) <= ERROR_TEXT_LIMIT else error[: ERROR_TEXT_LIMIT - 1] + "…"


def check_status(status: str) -> None:
    if status not in REQUEST_STATUSES:
        raise ValueError(f"unknown request status {status!r}")


def check_draft(draft: RequestDraft) -> None:
    """Reject drafts the schema would refuse, with a clearer message than a constraint's."""
    if draft.kind not in REQUEST_KINDS:
        raise ValueError(f"unknown request kind {draft.kind!r}")
    if draft.urgency is not None and draft.urgency not in URGENCIES:
        raise ValueError(f"unknown urgency {draft.urgency!r}")
    if not draft.normalised_term.strip():
        raise ValueError("a request needs a non-empty normalised term")
    if not draft.requester_id:
        raise ValueError("a request needs a requester")
