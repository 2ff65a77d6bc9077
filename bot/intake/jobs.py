"""The outbox jobs of the request flow: what must reach Slack, as plain data.

A job is written to the outbox in the same transaction as the change it reports (a filing, a
status change), so a request is never stored without its posts, and a post never exists
for a change that was rolled back. The delivery worker (`bot/slack/outbox.py`) reads each job
back with `read_job` and renders it at delivery time from the request's *current* state, so an
intake post delivered late still shows the right status and head count.

    IntakePostJob     the request's post in GLOSSARY_INTAKE_CHANNEL (once per request)
    IntakeUpdateJob   chat.update of that post after a change
    ThreadNoteJob     a "+1" with the newcomer's context, in the post's thread
    ScaffoldJob       the YAML scaffold, in the thread, when a request is accepted
    RequesterDM       a direct message to one person who asked

Dedupe keys make each job happen once whoever enqueues it (replicas, restarts, a second
reload): one intake post per request, one DM per person and notice; see `dm_key` for the two
kinds of "published" DM.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import PurePath
from typing import Any, ClassVar, Literal, get_args

from bot.store import OutboxMessage, Requester, RequestFiling, StatusChange, TermRequest

__all__ = [
    "GlossaryErrorsPost",
    "IntakePostJob",
    "IntakeUpdateJob",
    "Job",
    "Notice",
    "RequesterDM",
    "ScaffoldJob",
    "ThreadNoteJob",
    "definition_jobs",
    "dm_key",
    "filing_jobs",
    "read_job",
    "status_jobs",
]

Notice = Literal["filed", "joined", "already_waiting", "accepted", "declined", "published"]
NOTICES: tuple[Notice, ...] = get_args(Notice)


@dataclass(frozen=True)
class IntakePostJob:
    kind: ClassVar[str] = "intake_post"
    request_id: int


@dataclass(frozen=True)
class IntakeUpdateJob:
    kind: ClassVar[str] = "intake_update"
    request_id: int


@dataclass(frozen=True)
class ThreadNoteJob:
    """Someone joined a request: their context, in the request's thread. `user_id` is None
    when they asked anonymously, so the public note cannot name them."""

    kind: ClassVar[str] = "intake_note"
    request_id: int
    user_id: str | None
    waiting: int
    where_seen: str = ""
    why: str = ""
    source: str | None = None
    links: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    urgency: str | None = None


@dataclass(frozen=True)
class ScaffoldJob:
    kind: ClassVar[str] = "intake_scaffold"
    request_id: int
    term: str
    by: str | None = None


@dataclass(frozen=True)
class RequesterDM:
    """Tell one person about their request. `slug` names the published term, when known."""

    kind: ClassVar[str] = "requester_dm"
    user_id: str
    notice: Notice
    request_id: int
    term: str
    waiting: int = 1
    anonymous: bool = False
    reason: str | None = None
    slug: str | None = None


@dataclass(frozen=True)
class GlossaryErrorsPost:
    """Term files that broke on a reload, as the message that says so (the reload's outcome
    is not stored, so the message is rendered when the errors are found). Every replica finds
    the same breakage; the dedupe key (`errors_post_key`) lets one of them post it."""

    kind: ClassVar[str] = "glossary_errors"
    text: str
    blocks: tuple[dict[str, Any], ...]


Job = (
    IntakePostJob | IntakeUpdateJob | ThreadNoteJob | ScaffoldJob | RequesterDM | GlossaryErrorsPost
)
_KINDS: dict[str, type[Job]] = {
    cls.kind: cls
    for cls in (
        IntakePostJob,
        IntakeUpdateJob,
        ThreadNoteJob,
        ScaffoldJob,
        RequesterDM,
        GlossaryErrorsPost,
    )
}


def errors_post_key(errors: Mapping[str, Sequence[str]], day: date) -> str:
    """The dedupe key of a post about these files' errors: the same for every replica that
    finds the same breakage on the same (UTC) day, whatever folder it reads the files from.
    The day lets a breakage that was fixed and comes back later be reported again."""
    lines = sorted(f"{PurePath(path).name}\0{'|'.join(found)}" for path, found in errors.items())
    digest = hashlib.sha256("\n".join([day.isoformat(), *lines]).encode()).hexdigest()
    return f"glossary-errors:{digest[:32]}"


def to_message(job: Job, dedupe_key: str | None = None) -> OutboxMessage:
    return OutboxMessage(job.kind, asdict(job), dedupe_key)


def read_job(kind: str, payload: Mapping[str, Any]) -> Job | None:
    """The job an outbox row holds; None for a kind or payload this version cannot read."""
    cls = _KINDS.get(kind)
    if cls is None:
        return None
    names = {f.name for f in fields(cls)}
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in payload.items() if k in names
    }
    try:
        job = cls(**values)
    except TypeError:
        return None
    if isinstance(job, RequesterDM) and job.notice not in NOTICES:
        return None
    return job


def filing_jobs(
    filing: RequestFiling,
    *,
    links: tuple[str, ...] = (),
    roles: tuple[str, ...] = (),
    urgency: str | None = None,
) -> list[OutboxMessage]:
    """What a filing must tell Slack: a new request is posted once; a newcomer's context goes
    in its thread and the post's head count is updated; the person always hears back."""
    request, person = filing.request, filing.requester
    rid, user = request.id, person.user_id

    def dm(notice: Notice) -> RequesterDM:
        return RequesterDM(
            user, notice, rid, request.term, waiting=filing.waiting, anonymous=person.anonymous
        )

    if filing.created:
        return [
            to_message(IntakePostJob(rid), f"intake:{rid}"),
            to_message(dm("filed"), f"dm:{rid}:{user}:filed"),
        ]
    if filing.added:
        note = ThreadNoteJob(
            rid,
            None if person.anonymous else user,
            filing.waiting,
            where_seen=person.where_seen,
            why=person.why,
            source=person.source_permalink,
            links=links,
            roles=roles,
            urgency=urgency,
        )
        return [
            to_message(note, f"note:{rid}:{user}"),
            to_message(IntakeUpdateJob(rid)),
            to_message(dm("joined"), f"dm:{rid}:{user}:joined"),
        ]
    return [to_message(dm("already_waiting"))]


def status_jobs(change: StatusChange, *, slug: str | None = None) -> list[OutboxMessage]:
    """What a status change must tell Slack: the post is updated, an accepted request gets
    its scaffold in the thread, and everyone waiting hears about it."""
    request = change.request
    rid, status = request.id, request.status
    messages = [to_message(IntakeUpdateJob(rid))]
    if status == "accepted":
        scaffold = ScaffoldJob(rid, request.term, request.status_changed_by)
        messages.append(to_message(scaffold, f"scaffold:{rid}"))
    if status == "open":
        return messages
    if slug is None and request.kind == "clarification":
        slug = request.target_slug
    for person in change.requesters:
        dm = RequesterDM(
            person.user_id,
            status,
            rid,
            request.term,
            waiting=len(change.requesters),
            anonymous=person.anonymous,
            reason=request.decline_reason,
            slug=slug,
        )
        messages.append(to_message(dm, dm_key(rid, person.user_id, status, slug)))
    return messages


def dm_key(request_id: int, user_id: str, notice: Notice, slug: str | None = None) -> str:
    """The outbox dedupe key of a status DM. A "published" DM that carries the definition
    (`slug` set) has a key of its own, `dm:{rid}:{user}:definition`: the one a reload sends
    later to someone first told "published, soon" (see `definition_jobs`) is then deduped
    against an earlier definition, never against that first notice."""
    kind = "definition" if notice == "published" and slug is not None else notice
    return f"dm:{request_id}:{user_id}:{kind}"


def definition_jobs(
    request: TermRequest, requesters: Sequence[Requester], slug: str
) -> list[OutboxMessage]:
    """The definition, by DM, to everyone waiting on a request a triager published before
    the glossary had the term, once it has: each keyed as a definition DM, so nobody who
    already got the definition gets it twice, on any replica, after any restart."""
    rid = request.id
    messages = []
    for person in requesters:
        dm = RequesterDM(
            person.user_id,
            "published",
            rid,
            request.term,
            waiting=len(requesters),
            anonymous=person.anonymous,
            slug=slug,
        )
        messages.append(to_message(dm, dm_key(rid, person.user_id, "published", slug)))
    return messages
