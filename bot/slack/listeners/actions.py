"""Buttons and pickers on answers: share, switch role, follow a term, read more, request.

Every action is acknowledged at once and handled right after (a lazy listener), because the
work is a call to Slack whose latency we do not control. Where the reply goes depends on
where the click happened:

- on a private (ephemeral) answer, the answer is re-rendered in place (`respond` with
  `replace_original`), so the reader's screen does not fill up;
- on a public message (a shared answer, a reply to a mention), nobody else's view changes:
  the clicker gets a private answer (`chat.postEphemeral` in the same thread);
- on the App Home tab, which has no `response_url`, the answer arrives as a direct message.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.glossary.roles import Role
from bot.slack import answering, blocks, messages
from bot.slack.blocks import Message
from bot.slack.deps import Deps
from bot.slack.listeners.home import publish_home

log = logging.getLogger(__name__)

# Slack answers these when the bot may not post in a conversation.
_NOT_ALLOWED_HERE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "cant_post_here"}
)


async def _ack(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, deps: Deps) -> None:
    async def share(body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        value = _value(body)
        slug = str(value.get("slug") or "")
        thread_ts = value.get("thread_ts") or None
        user_id = body["user"]["id"]
        role = deps.roles.find(value["role"]) if value.get("role") else None
        message = answering.term_message(
            deps,
            deps.glossary.current,
            slug,
            role,
            thread_ts=thread_ts,
            public=True,
            shared_by=user_id,
        )
        if message is None:
            await _private(respond, blocks.notice_message(messages.TERM_GONE), replace=False)
            return
        try:
            await client.chat_postMessage(
                channel=_channel_id(body), thread_ts=thread_ts, unfurl_links=False, **message
            )
        except SlackApiError as exc:
            if exc.response.get("error") not in _NOT_ALLOWED_HERE:
                raise
            await _private(respond, blocks.notice_message(messages.CANNOT_POST_HERE), replace=False)
            return
        # The private copy has done its job; leaving it would show the answer twice.
        await respond(delete_original=True)

    async def pick_role(
        body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        action = body["actions"][0]
        chosen = (action.get("selected_option") or {}).get("value")
        state = _json(action.get("block_id", ""))
        user_id = body["user"]["id"]
        if _on_home(body):
            # The Home tab's picker saves the reader's default role.
            saved = None if chosen == blocks.ROLE_NONE_VALUE else chosen
            await deps.saved_roles.set(user_id, saved)
            await publish_home(deps, client, user_id)
            return
        role = await answering.effective_role(deps, user_id, chosen)
        await _show_term(deps, body, respond, client, str(state.get("slug") or ""), role)

    async def show_term(
        body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        value = _value(body)
        role = await answering.effective_role(deps, body["user"]["id"], value.get("role"))
        await _show_term(deps, body, respond, client, str(value.get("slug") or ""), role)

    async def show_more(
        body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        value = _value(body)
        role = await answering.effective_role(deps, body["user"]["id"], value.get("role"))
        message = answering.long_def_message(
            deps, deps.glossary.current, str(value.get("slug") or ""), role
        )
        # A new private message under the answer: the answer itself stays as it was.
        await _send_private(
            deps,
            body,
            respond,
            client,
            message or blocks.notice_message(messages.TERM_GONE),
            replace=False,
        )

    async def request_term(body: dict[str, Any], client: AsyncWebClient) -> None:
        value = _value(body)
        await deps.intake.open_request_modal(
            client, body["trigger_id"], str(value.get("term") or ""), "new", None, None
        )

    async def suggest_clarification(body: dict[str, Any], client: AsyncWebClient) -> None:
        slug = str(_value(body).get("slug") or "")
        term = deps.glossary.current.get(slug)
        name = term.term if term is not None else slug
        await deps.intake.open_request_modal(
            client, body["trigger_id"], name, "clarification", slug, None
        )

    app.action(blocks.ACTION_SHARE)(ack=_ack, lazy=[share])
    app.action(blocks.ACTION_PICK_ROLE)(ack=_ack, lazy=[pick_role])
    app.action(blocks.SHOW_TERM_ACTION_ID)(ack=_ack, lazy=[show_term])
    app.action(blocks.ACTION_SHOW_MORE)(ack=_ack, lazy=[show_more])
    app.action(blocks.ACTION_REQUEST_TERM)(ack=_ack, lazy=[request_term])
    app.action(blocks.ACTION_SUGGEST_CLARIFICATION)(ack=_ack, lazy=[suggest_clarification])


async def _show_term(
    deps: Deps,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    slug: str,
    role: Role | None,
) -> None:
    """Answer about `slug`: in place on a private answer, privately anywhere else."""
    message = answering.term_message(
        deps, deps.glossary.current, slug, role, thread_ts=_thread_of(body)
    )
    await _send_private(
        deps,
        body,
        respond,
        client,
        message or blocks.notice_message(messages.TERM_GONE),
        replace=True,
    )


async def _send_private(
    deps: Deps,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    message: Message,
    *,
    replace: bool,
) -> None:
    """Show `message` to the clicker only: see the module docstring for where it goes."""
    user_id = body["user"]["id"]
    if _on_home(body) or not body.get("response_url"):
        await client.chat_postMessage(channel=user_id, unfurl_links=False, **message)
        return
    if _is_ephemeral(body):
        await _private(respond, message, replace=replace)
        return
    try:
        await client.chat_postEphemeral(
            channel=_channel_id(body), user=user_id, thread_ts=_thread_of(body), **message
        )
    except SlackApiError:
        log.warning("chat.postEphemeral failed; answering through response_url", exc_info=True)
        await _private(respond, message, replace=False)


async def _private(respond: AsyncRespond, message: Message, *, replace: bool) -> None:
    await respond(
        response_type="ephemeral",
        replace_original=replace,
        text=message["text"],
        blocks=message["blocks"],
    )


def _value(body: dict[str, Any]) -> dict[str, Any]:
    return _json(body["actions"][0].get("value") or "")


def _json(text: str) -> dict[str, Any]:
    """A button value or block_id written by blocks.py; anything else reads as empty."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _channel_id(body: dict[str, Any]) -> str:
    channel = body.get("channel") or {}
    return str(channel.get("id") or body.get("container", {}).get("channel_id") or "")


def _is_ephemeral(body: dict[str, Any]) -> bool:
    return bool(body.get("container", {}).get("is_ephemeral"))


def _on_home(body: dict[str, Any]) -> bool:
    view = body.get("view") or {}
    return view.get("type") == "home" or body.get("container", {}).get("type") == "view"


def _thread_of(body: dict[str, Any]) -> str | None:
    """The thread the clicked message lives in (None: the channel itself).

    Shared answers and replies to mentions are messages whose `thread_ts` names the thread;
    a private answer carries it in its role picker's block_id; Slack puts it in the container
    for messages inside threads.
    """
    message = body.get("message") or {}
    if message.get("thread_ts"):
        return str(message["thread_ts"])
    for block in message.get("blocks") or []:
        if block.get("type") == "actions":
            state = _json(block.get("block_id", ""))
            if state.get("thread_ts"):
                return str(state["thread_ts"])
    action = body["actions"][0] if body.get("actions") else {}
    state = _json(action.get("block_id", ""))
    if state.get("thread_ts"):
        return str(state["thread_ts"])
    thread_ts = body.get("container", {}).get("thread_ts")
    return str(thread_ts) if thread_ts else None
