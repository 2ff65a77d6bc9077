"""Mentions (answered in a thread) and direct messages (answered in the DM), once each.

The bot subscribes to `app_mention` for channels and `message.im` for DMs, never to
`message.channels`, which would deliver every mention a second time as a plain message. Bot
messages (ours included), edits, deletions and every other message subtype are ignored. Each
delivery goes through `EventGate`, so a retried event is answered exactly once.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import answering, grammar
from bot.slack.blocks import Message
from bot.slack.dedupe import EventGate
from bot.slack.deps import Deps

_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def register(app: AsyncApp, deps: Deps) -> None:
    gate = EventGate(deps.store, deps.background)

    async def on_mention(
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> BoltResponse | None:
        if _ignored(event, context.bot_user_id):
            return None
        # In a thread, answer in that thread; otherwise start one under the question.
        thread_ts = event.get("thread_ts") or event.get("ts")
        text = strip_mentions(event.get("text") or "", context.bot_user_id)

        async def reply() -> None:
            message = await _reply_to_text(deps, text, event["user"], thread_ts)
            await client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, **message)

        return await gate.run_once(body.get("event_id"), reply)

    async def on_message(
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> BoltResponse | None:
        if event.get("channel_type") != "im" or _ignored(event, context.bot_user_id):
            return None
        thread_ts = event.get("thread_ts")  # a threaded DM stays in its thread
        text = strip_mentions(event.get("text") or "", context.bot_user_id)

        async def reply() -> None:
            message = await _reply_to_text(deps, text, event["user"], thread_ts)
            await client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, **message)

        return await gate.run_once(body.get("event_id"), reply)

    app.event("app_mention")(on_mention)
    app.event("message")(on_message)


# A person's message with a file attached, or a thread reply also sent to the conversation,
# is still a person asking; every other subtype is an edit, a deletion, a join or a bot's post.
_PEOPLES_SUBTYPES = frozenset({"file_share", "thread_broadcast"})


def _ignored(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """Bot posts, our own messages, edits, deletions, joins and the other subtypes."""
    subtype = event.get("subtype")
    return bool(
        event.get("bot_id")
        or (subtype and subtype not in _PEOPLES_SUBTYPES)
        or event.get("bot_profile")
        or not event.get("user")
        or event.get("user") == bot_user_id
    )


def strip_mentions(text: str, bot_user_id: str | None) -> str:
    """The question without the bot's own mention (other people's mentions stay)."""

    def keep_others(match: re.Match[str]) -> str:
        return "" if bot_user_id is None or match.group(1) == bot_user_id else match.group(0)

    return " ".join(_USER_MENTION.sub(keep_others, text).split())


async def _reply_to_text(deps: Deps, text: str, user_id: str, thread_ts: str | None) -> Message:
    glossary = deps.glossary.current
    parsed = grammar.parse_define(text, deps.roles, is_term=answering.is_term(glossary))
    return await answering.reply_for(
        deps, glossary, parsed, user_id, thread_ts=thread_ts, public=True
    )
