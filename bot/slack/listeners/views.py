"""Modal submissions: the term request form, handed to the intake hook."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.intake import REQUEST_MODAL_CALLBACK_ID
from bot.slack.deps import Deps


def register(app: AsyncApp, deps: Deps) -> None:
    async def request_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        # The hook answers inside the ack: field errors must go back in it to reach the form.
        answer = await deps.intake.submit(client, body["user"]["id"], view)
        deps.outbox_wake.set()  # a stored request waits in the outbox: deliver it now
        if answer:
            await ack(answer)
        else:
            await ack()

    app.view(REQUEST_MODAL_CALLBACK_ID)(request_submitted)
