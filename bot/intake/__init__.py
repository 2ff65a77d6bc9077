"""Term requests: from a miss in chat to a tracked request, until the term ships.

    form.py    the request form's fields and limits; a submission checked into a RequestForm
    flow.py    `Intake`: file once per term, rate limit, triage, close the loop on reload
    jobs.py    what must reach Slack (intake post, thread notes, scaffold, DMs), as outbox data
    texts.py   every sentence the flow says, as plain unescaped text

Nothing here imports Slack: the modal, the posts and their delivery live in `bot/slack/`
(`intake_blocks.py`, `outbox.py`, `listeners/intake.py`), which read these modules.
"""

from __future__ import annotations

from bot.intake.flow import (
    AlreadyDefined,
    Filed,
    Intake,
    RateLimited,
    RequestStats,
    Submission,
    TriageStatus,
    defined_term,
    request_key,
)
from bot.intake.form import (
    DECLINE_CALLBACK_ID,
    REQUEST_MODAL_CALLBACK_ID,
    FormContext,
    RequestForm,
    read_decline_reason,
    read_form,
)
from bot.intake.jobs import Job, read_job

__all__ = [
    "DECLINE_CALLBACK_ID",
    "REQUEST_MODAL_CALLBACK_ID",
    "AlreadyDefined",
    "Filed",
    "FormContext",
    "Intake",
    "Job",
    "RateLimited",
    "RequestForm",
    "RequestStats",
    "Submission",
    "TriageStatus",
    "defined_term",
    "read_decline_reason",
    "read_form",
    "read_job",
    "request_key",
]
