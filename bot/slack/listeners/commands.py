"""`/define`: parse the text, answer from the glossary, reply in the ack body.

The answer travels in the HTTP response to the slash command itself (the ack body, shown
ephemeral), not through a second call to `response_url`: that saves a round trip to Slack,
so the reader sees it as soon as the request returns. Everything it needs is in memory except
the saved role, whose read is bounded (see `answering.ROLE_LOOKUP_TIMEOUT`), so the ack stays
far inside Slack's 3 seconds. Work the reader does not wait for (the look-up log, opening the
request form) runs after the ack.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import answering, grammar, messages
from bot.slack.deps import Deps
from bot.slack.listeners import intake
from bot.slack.reloading import reload_command

COMMAND = messages.COMMAND


def register(app: AsyncApp, deps: Deps) -> None:
    async def define(
        ack: AsyncAck,
        command: dict[str, Any],
        client: AsyncWebClient,
        request: AsyncBoltRequest,
    ) -> None:
        glossary = deps.glossary.current
        user_id = command.get("user_id", "")
        text = command.get("text") or ""
        parsed = grammar.parse_define(text, deps.roles, is_term=answering.is_term(glossary))
        if isinstance(parsed, grammar.Request | grammar.Requests | grammar.Stats):
            await intake.command(deps, parsed, ack, command, client, request)
            return
        if isinstance(parsed, grammar.Reload):
            await reload_command(deps, ack, user_id, command.get("response_url"))
            return
        message = await answering.reply_for(deps, glossary, parsed, user_id)
        await ack(response_type="ephemeral", **message)

    app.command(COMMAND)(define)
