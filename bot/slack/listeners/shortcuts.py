"""Message shortcuts: "Define terms in this message" and "Request a definition"."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import answering, blocks
from bot.slack.deps import Deps

log = logging.getLogger(__name__)

DEFINE_TERMS = "define_terms_in_message"
REQUEST_DEFINITION = "request_definition"


async def _ack(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, deps: Deps) -> None:
    async def define_terms(
        body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        message = body.get("message") or {}
        user_id = body["user"]["id"]
        terms = deps.glossary.current.mentions(message.get("text") or "")
        role = await answering.effective_role(deps, user_id, None)
        reply = blocks.mentions_message(terms, role=role.name if role is not None else None)
        # The private reply sits beside the message: in its thread when it is in one.
        try:
            await client.chat_postEphemeral(
                channel=body["channel"]["id"],
                user=user_id,
                thread_ts=message.get("thread_ts"),
                **reply,
            )
        except SlackApiError:
            # Not a member of this conversation: the shortcut's response_url still works.
            log.info("chat.postEphemeral refused; answering the shortcut via response_url")
            await respond(response_type="ephemeral", text=reply["text"], blocks=reply["blocks"])

    async def request_definition(body: dict[str, Any], client: AsyncWebClient) -> None:
        trigger_id = body["trigger_id"]
        source = await _permalink(client, body)
        await deps.intake.open_request_modal(client, trigger_id, "", "new", None, source)

    app.shortcut(DEFINE_TERMS)(ack=_ack, lazy=[define_terms])
    app.shortcut(REQUEST_DEFINITION)(ack=_ack, lazy=[request_definition])


async def _permalink(client: AsyncWebClient, body: dict[str, Any]) -> str | None:
    """A link to the message the shortcut was used on, or None if Slack will not give one."""
    try:
        response = await client.chat_getPermalink(
            channel=body["channel"]["id"], message_ts=body["message_ts"]
        )
    except SlackApiError:
        log.info("could not get the permalink of a message", exc_info=True)
        return None
    permalink = response.get("permalink")
    return str(permalink) if permalink else None
