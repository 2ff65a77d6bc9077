"""Term requests in Slack: the form, triage on the intake post, and the `/define` commands
`request`, `requests` and `stats`.

`SlackIntake` is the app's `IntakeHook` (what "Request this term", "Suggest a clarification",
the "Request a definition" shortcut and `/define request` lead to). Every change it or the
triage buttons make is stored together with its outbox jobs by `bot.intake.Intake`; the
listener then wakes the delivery worker (`outbox.py`), which does all the posting. So a
listener never calls chat.postMessage for a request itself, and nothing is lost if Slack is
down at that moment.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.glossary.resolve import Glossary
from bot.glossary.roles import RoleDirectory
from bot.intake import (
    DECLINE_CALLBACK_ID,
    AlreadyDefined,
    FormContext,
    Intake,
    RateLimited,
    TriageStatus,
    defined_term,
    read_decline_reason,
    read_form,
    texts,
)
from bot.intake.form import REASON, TERM
from bot.slack import answering, blocks, grammar, intake_blocks
from bot.slack.blocks import Message
from bot.slack.deps import Deps, GlossaryHolder
from bot.store import Store

log = logging.getLogger(__name__)


class SlackIntake:
    """Opens the request form and files what it submits (the app's IntakeHook)."""

    def __init__(
        self, settings: Settings, glossary: GlossaryHolder, store: Store, roles: RoleDirectory
    ) -> None:
        self.intake = Intake.from_settings(store, settings)
        self.glossary = glossary
        self.roles = roles

    async def open_request_modal(
        self,
        client: Any,
        trigger_id: str,
        term: str,
        kind: str,
        slug: str | None,
        source: str | None,
    ) -> None:
        view = intake_blocks.request_modal(term, kind, slug, source, roles=self.roles)
        await client.views_open(trigger_id=trigger_id, view=view)

    async def submit(
        self, client: Any, user_id: str, view: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Check the form, then store the request with its outbox jobs. Problems go back to
        the form (`response_action: errors`), which keeps everything typed."""
        context = FormContext.from_metadata(view.get("private_metadata"))
        values = (view.get("state") or {}).get("values") or {}
        known_roles = {role.name for role in self.roles}
        form = read_form(values, context, known_roles=known_roles)
        if isinstance(form, dict):
            return {"response_action": "errors", "errors": form}
        outcome = await self.intake.submit(form, user_id, self.glossary.current)
        if isinstance(outcome, AlreadyDefined):
            return {
                "response_action": "update",
                "view": intake_blocks.already_defined_view(outcome.term),
            }
        if isinstance(outcome, RateLimited):
            errors = {TERM: texts.rate_limited(outcome.limit)}
            return {"response_action": "errors", "errors": errors}
        filing = outcome.filing
        log.info(
            "term request #%d %s by %s (%d waiting)",
            filing.request.id,
            "filed" if filing.created else "joined",
            user_id,
            filing.waiting,
        )
        return None


async def _ack(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, deps: Deps) -> None:
    intake = Intake.from_settings(deps.store, deps.settings)

    async def triage(status: TriageStatus, body: dict[str, Any], client: AsyncWebClient) -> None:
        user_id = body["user"]["id"]
        request_id = _request_id(body)
        if not intake.is_triager(user_id):
            await _tell(client, body, _not_triager(intake))
            return
        if request_id is None:
            await _tell(client, body, texts.REQUEST_GONE)
            return
        change = await intake.triage(request_id, status, by=user_id)
        if change is None:
            await _tell(client, body, await _why_unchanged(deps, request_id))
            return
        log.info("term request #%d %s by %s", request_id, status, user_id)
        deps.outbox_wake.set()

    async def accept(body: dict[str, Any], client: AsyncWebClient) -> None:
        await triage("accepted", body, client)

    async def publish(body: dict[str, Any], client: AsyncWebClient) -> None:
        await triage("published", body, client)

    async def open_decline(body: dict[str, Any], client: AsyncWebClient) -> None:
        user_id = body["user"]["id"]
        request_id = _request_id(body)
        if not intake.is_triager(user_id):
            await _tell(client, body, _not_triager(intake))
            return
        request = await deps.store.get_request(request_id) if request_id is not None else None
        if request is None or not request.is_active:
            await _tell(client, body, await _why_unchanged(deps, request_id))
            return
        await client.views_open(
            trigger_id=body["trigger_id"], view=intake_blocks.decline_modal(request)
        )

    async def decline_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        values = (view.get("state") or {}).get("values") or {}
        reason = read_decline_reason(values)
        if isinstance(reason, dict):
            await ack(response_action="errors", errors=reason)
            return
        request_id = _json(view.get("private_metadata") or "").get("request_id")
        if not intake.is_triager(user_id):
            await ack(response_action="errors", errors={REASON: _not_triager(intake)})
            return
        if not isinstance(request_id, int) or isinstance(request_id, bool):
            await ack(response_action="errors", errors={REASON: texts.REQUEST_GONE})
            return
        change = await intake.triage(request_id, "declined", by=user_id, reason=reason)
        if change is None:
            problem = await _why_unchanged(deps, request_id)
            await ack(response_action="errors", errors={REASON: problem})
            return
        await ack()
        log.info("term request #%d declined by %s", request_id, user_id)
        deps.outbox_wake.set()

    async def close_loop(glossary: Glossary) -> None:
        """After a reload, and once at start-up (the reloader runs it): publish the requests
        the glossary now answers, and tell who waits."""
        changes = await intake.close_loop(glossary)
        for change in changes:
            log.info(
                "term request #%d published by the reload (%d to tell)",
                change.request.id,
                len(change.requesters),
            )
        if changes:
            deps.outbox_wake.set()

    app.action(intake_blocks.ACTION_ACCEPT)(ack=_ack, lazy=[accept])
    app.action(intake_blocks.ACTION_PUBLISHED)(ack=_ack, lazy=[publish])
    app.action(intake_blocks.ACTION_DECLINE)(ack=_ack, lazy=[open_decline])
    app.view(DECLINE_CALLBACK_ID)(decline_submitted)
    deps.reload_hooks.append(close_loop)


async def command(
    deps: Deps,
    parsed: grammar.Request | grammar.Requests | grammar.Stats,
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    request: AsyncBoltRequest,
) -> None:
    """`/define request <term>`, `/define requests` and `/define stats`, answered privately."""
    user_id = str(command.get("user_id") or "")
    intake = Intake.from_settings(deps.store, deps.settings)
    match parsed:
        case grammar.Request(term=term):
            reply = await _request_reply(deps, intake, term, user_id)
            if reply is not None:
                await ack(response_type="ephemeral", **reply)
                return
            await ack()
            deps.background.spawn(
                deps.intake.open_request_modal(
                    client, str(command.get("trigger_id") or ""), term, "new", None, None
                ),
                name="open request modal",
                request=request,
            )
        case grammar.Requests() | grammar.Stats():
            reply = await answering.intake_reply(deps, parsed, user_id)
            await ack(response_type="ephemeral", **reply)


async def _request_reply(deps: Deps, intake: Intake, term: str, user_id: str) -> Message | None:
    """What `/define request <term>` answers instead of opening the form, if anything: the
    term itself when the glossary has it, or the hourly limit."""
    glossary = deps.glossary.current
    existing = defined_term(glossary, term)
    if existing is not None:
        role = await answering.effective_role(deps, user_id, None)
        notice = texts.already_defined_notice(existing.term)
        return answering.term_message(deps, glossary, existing.slug, role, notice=notice)
    if await intake.is_rate_limited(user_id):
        return blocks.notice_message(texts.rate_limited(intake.requests_per_hour))
    return None


def _not_triager(intake: Intake) -> str:
    return texts.NOT_TRIAGER if intake.triagers else f"{texts.NOT_TRIAGER} {texts.NO_TRIAGERS}"


async def _why_unchanged(deps: Deps, request_id: int | None) -> str:
    request = await deps.store.get_request(request_id) if request_id is not None else None
    if request is None:
        return texts.REQUEST_GONE
    return texts.already_status(request.term, request.status)


async def _tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """Say something to the clicker only, beside the intake post."""
    message = blocks.notice_message(text)
    channel = str(
        (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
        or ""
    )
    user_id = body["user"]["id"]
    try:
        await client.chat_postEphemeral(channel=channel, user=user_id, **message)
    except SlackApiError:
        log.info("chat.postEphemeral refused; answering the click through response_url")
        response_url = body.get("response_url")
        if response_url:
            await AsyncRespond(response_url=response_url)(
                response_type="ephemeral", replace_original=False, **message
            )


def _request_id(body: dict[str, Any]) -> int | None:
    value = _json((body.get("actions") or [{}])[0].get("value") or "").get("request_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
