"""The Web API methods the bot calls, answered from (and written to) the workspace.

Each method takes the call's arguments (query string, form fields or JSON, merged, with JSON
strings such as `blocks` decoded) and returns Slack's answer, or raises `WorkspaceError` with
Slack's error code. Checks follow Slack: an unknown channel is `channel_not_found`, blocks over
Block Kit's limits are `invalid_blocks` with the problems listed, an expired or reused trigger
is `expired_trigger_id` / `trigger_exchanged`, a stale view hash is `hash_conflict`. A method
the stand-in does not know answers `unknown_method`, and the page's activity panel shows it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.playground import blockkit
from bot.playground.workspace import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    TEAM_NAME,
    WORKSPACE_URL,
    Message,
    Workspace,
    WorkspaceError,
    with_ids,
)

Json = dict[str, Any]
Method = Callable[[Json], Json]

# Arguments that clients send JSON-encoded in form posts and query strings.
_JSON_ARGS = ("blocks", "attachments", "view", "metadata")


class InvalidArgumentsError(WorkspaceError):
    """Slack's `invalid_blocks` / `invalid_arguments`, with its list of problems."""

    def __init__(self, code: str, problems: list[str]) -> None:
        super().__init__(code, "; ".join(problems))
        self.problems = problems


def decode_args(args: Json) -> Json:
    """Decode the arguments that arrive as JSON strings; a malformed one is a Slack error."""
    out = dict(args)
    for key in _JSON_ARGS:
        value = out.get(key)
        if isinstance(value, str) and value:
            try:
                out[key] = json.loads(value)
            except ValueError:
                code = "invalid_blocks_format" if key == "blocks" else "invalid_arguments"
                raise InvalidArgumentsError(code, [f"[ERROR] {key} is not valid JSON"]) from None
    return out


class WebApi:
    """Slack's Web API for one bot token, over one workspace."""

    def __init__(self, workspace: Workspace, *, on_bot_message: Callable[[Message], None]) -> None:
        self.workspace = workspace
        self._on_bot_message = on_bot_message
        self.methods: dict[str, Method] = {
            "api.test": lambda args: {"ok": True, "args": args},
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.getPermalink": self.chat_get_permalink,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "conversations.open": self.conversations_open,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.info": self.conversations_info,
            "conversations.join": self.conversations_join,
            "conversations.list": self.conversations_list,
            "users.info": self.users_info,
            "users.list": self.users_list,
            "reactions.add": self.reactions_add,
            "reactions.remove": self.reactions_remove,
        }

    def call(self, method: str, args: Json) -> Json:
        handler = self.methods.get(method)
        if handler is None:
            raise WorkspaceError("unknown_method")
        return handler(decode_args(args))

    # -- auth ------------------------------------------------------------------------------------

    def auth_test(self, args: Json) -> Json:
        return {
            "ok": True,
            "url": WORKSPACE_URL,
            "team": TEAM_NAME,
            "user": self.workspace.bot_name,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    # -- chat ------------------------------------------------------------------------------------

    def _content(self, args: Json) -> tuple[str, list[Json], list[Json]]:
        text = str(args.get("text") or "")
        blocks = args.get("blocks") or []
        attachments = args.get("attachments") or []
        if not text and not blocks and not attachments:
            raise WorkspaceError("no_text")
        if not isinstance(attachments, list):
            raise InvalidArgumentsError("invalid_attachments", ["[ERROR] must be an array"])
        problems = blockkit.message_problems({"text": text, "blocks": blocks})
        if problems:
            raise InvalidArgumentsError("invalid_blocks", problems)
        return text, with_ids(blocks), attachments

    def chat_post_message(self, args: Json) -> Json:
        channel = self.workspace.channel_for(str(args.get("channel") or ""))
        text, blocks, attachments = self._content(args)
        metadata = args.get("metadata")
        if metadata is not None and not (isinstance(metadata, dict) and metadata.get("event_type")):
            raise InvalidArgumentsError(
                "invalid_metadata_format", ["[ERROR] metadata needs event_type and event_payload"]
            )
        thread_ts = str(args.get("thread_ts") or "") or None
        message = self.workspace.post(
            Message(
                channel=channel.id,
                ts=self.workspace.next_ts(),
                user=BOT_USER_ID,
                text=text,
                blocks=blocks,
                attachments=attachments,
                thread_ts=thread_ts,
                bot_id=BOT_ID,
                metadata=metadata,
                reply_broadcast=_truthy(args.get("reply_broadcast")) and thread_ts is not None,
            )
        )
        self._on_bot_message(message)
        return {
            "ok": True,
            "channel": channel.id,
            "ts": message.ts,
            "message": message.as_slack(with_metadata=True),
        }

    def chat_post_ephemeral(self, args: Json) -> Json:
        channel = self.workspace.channel_for(str(args.get("channel") or ""))
        user = str(args.get("user") or "")
        if user not in self.workspace.users:
            raise WorkspaceError("user_not_found")
        if not self.workspace.may_see(user, channel):
            raise WorkspaceError("user_not_in_channel")
        text, blocks, attachments = self._content(args)
        message = self.workspace.post(
            Message(
                channel=channel.id,
                ts=self.workspace.next_ts(),
                user=BOT_USER_ID,
                text=text,
                blocks=blocks,
                attachments=attachments,
                thread_ts=str(args.get("thread_ts") or "") or None,
                bot_id=BOT_ID,
                visible_to=user,
            )
        )
        return {"ok": True, "message_ts": message.ts}

    def _own_message(self, args: Json, ts_key: str = "ts") -> Message:
        channel = self.workspace.channel_for(str(args.get("channel") or ""))
        message = self.workspace.find(channel.id, str(args.get(ts_key) or ""))
        if message is None or message.visible_to is not None or message.deleted:
            raise WorkspaceError("message_not_found")
        if message.user != BOT_USER_ID:
            raise WorkspaceError("cant_update_message")
        return message

    def chat_update(self, args: Json) -> Json:
        message = self._own_message(args)
        text, blocks, attachments = self._content(
            {"text": args.get("text"), "blocks": args.get("blocks"), **_keep(args, "attachments")}
        )
        message.text, message.blocks = text, blocks
        if "attachments" in args:
            message.attachments = attachments
        if "metadata" in args and isinstance(args["metadata"], dict):
            message.metadata = args["metadata"]
        message.edited = True
        self.workspace.touch()
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.as_slack(),
        }

    def chat_delete(self, args: Json) -> Json:
        message = self._own_message(args)
        self.workspace.remove(message)
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def chat_get_permalink(self, args: Json) -> Json:
        channel = self.workspace.channel_for(str(args.get("channel") or ""))
        ts = str(args.get("message_ts") or "")
        if self.workspace.find(channel.id, ts) is None:
            raise WorkspaceError("message_not_found")
        return {"ok": True, "channel": channel.id, "permalink": permalink(channel.id, ts)}

    # -- views -----------------------------------------------------------------------------------

    def _view_body(self, args: Json) -> Json:
        view = args.get("view")
        problems = blockkit.view_problems(view)
        if problems:
            raise InvalidArgumentsError("invalid_arguments", problems)
        assert isinstance(view, dict)  # view_problems rejects anything else
        return {**view, "blocks": with_ids(view.get("blocks") or [])}

    def views_open(self, args: Json) -> Json:
        body = self._view_body(args)
        if body.get("type") != "modal":
            raise InvalidArgumentsError("invalid_arguments", ["[ERROR] views.open opens modals"])
        trigger = self.workspace.use_trigger(str(args.get("trigger_id") or ""))
        view = self.workspace.open_modal(trigger.user, body)
        return {"ok": True, "view": view.as_slack()}

    def views_push(self, args: Json) -> Json:
        body = self._view_body(args)
        trigger = self.workspace.use_trigger(str(args.get("trigger_id") or ""))
        view = self.workspace.push_modal(trigger.user, body)
        return {"ok": True, "view": view.as_slack()}

    def views_update(self, args: Json) -> Json:
        view = self.workspace.view_by(
            str(args.get("view_id") or "") or None, str(args.get("external_id") or "") or None
        )
        body = self._view_body(args)
        updated = self.workspace.update_view(view, body, str(args.get("hash") or "") or None)
        return {"ok": True, "view": updated.as_slack()}

    def views_publish(self, args: Json) -> Json:
        body = self._view_body(args)
        if body.get("type") != "home":
            raise InvalidArgumentsError(
                "invalid_arguments", ["[ERROR] views.publish takes a home view"]
            )
        user = str(args.get("user_id") or "")
        view = self.workspace.publish_home(user, body, str(args.get("hash") or "") or None)
        return {"ok": True, "view": view.as_slack()}

    # -- conversations ---------------------------------------------------------------------------

    def conversations_open(self, args: Json) -> Json:
        if args.get("channel"):
            channel = self.workspace.channel_for(str(args["channel"]))
            return {"ok": True, "channel": channel.as_slack()}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise WorkspaceError("users_list_not_supplied")
        if len(users) > 1:
            raise WorkspaceError("not_supported", "group DMs are not part of the playground")
        return {"ok": True, "channel": self.workspace.dm_for(users[0]).as_slack()}

    def conversations_history(self, args: Json) -> Json:
        channel = self.workspace.channel_for(str(args.get("channel") or ""))
        messages = list(reversed(self.workspace.history(channel.id)))
        return self._page(messages, args, newest_first=True)

    def conversations_replies(self, args: Json) -> Json:
        channel = self.workspace.channel_for(str(args.get("channel") or ""))
        ts = str(args.get("ts") or "")
        parent = self.workspace.find(channel.id, ts)
        if parent is None or parent.visible_to is not None:
            raise WorkspaceError("thread_not_found")
        root = parent.thread_ts or parent.ts
        head = self.workspace.find(channel.id, root)
        thread = ([head] if head is not None else []) + self.workspace.replies(channel.id, root)
        return self._page(thread, args, newest_first=False)

    def _page(self, messages: list[Message], args: Json, *, newest_first: bool) -> Json:
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or 0) or float("inf")
        inclusive = _truthy(args.get("inclusive"))

        def inside(m: Message) -> bool:
            ts = float(m.ts)
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        chosen = [m for m in messages if inside(m)]
        try:
            start = int(str(args.get("cursor") or "0") or 0)
        except ValueError:
            raise WorkspaceError("invalid_cursor") from None
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        page = chosen[start : start + limit]
        more = start + limit < len(chosen)
        with_metadata = _truthy(args.get("include_all_metadata"))
        answer: Json = {
            "ok": True,
            "messages": [m.as_slack(with_metadata=with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }
        if newest_first:
            answer["pin_count"] = 0
        return answer

    def conversations_info(self, args: Json) -> Json:
        channel = self.workspace.channel_for(str(args.get("channel") or ""))
        return {"ok": True, "channel": channel.as_slack()}

    def conversations_join(self, args: Json) -> Json:
        channel = self.workspace.channel_for(str(args.get("channel") or ""))
        return {"ok": True, "channel": channel.as_slack()}

    def conversations_list(self, args: Json) -> Json:
        channels = [c.as_slack() for c in self.workspace.channels.values() if c.kind == "channel"]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    # -- users and reactions ---------------------------------------------------------------------

    def users_info(self, args: Json) -> Json:
        return {"ok": True, "user": self.workspace.person(str(args.get("user") or "")).as_slack()}

    def users_list(self, args: Json) -> Json:
        members = [p.as_slack() for p in self.workspace.users.values()]
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}

    def _reacted(self, args: Json) -> tuple[Message, str]:
        channel = self.workspace.channel_for(str(args.get("channel") or ""))
        message = self.workspace.find(channel.id, str(args.get("timestamp") or ""))
        if message is None or message.visible_to is not None:
            raise WorkspaceError("message_not_found")
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise WorkspaceError("invalid_name")
        return message, name

    def reactions_add(self, args: Json) -> Json:
        message, name = self._reacted(args)
        users = message.reactions.setdefault(name, [])
        if BOT_USER_ID in users:
            raise WorkspaceError("already_reacted")
        users.append(BOT_USER_ID)
        self.workspace.touch()
        return {"ok": True}

    def reactions_remove(self, args: Json) -> Json:
        message, name = self._reacted(args)
        users = message.reactions.get(name, [])
        if BOT_USER_ID not in users:
            raise WorkspaceError("no_reaction")
        users.remove(BOT_USER_ID)
        if not users:
            del message.reactions[name]
        self.workspace.touch()
        return {"ok": True}


def permalink(channel: str, ts: str) -> str:
    """A link to a message in Slack's form; the page opens such links in place."""
    return f"{WORKSPACE_URL}archives/{channel}/p{ts.replace('.', '')}"


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


def _keep(args: Json, key: str) -> Json:
    return {key: args[key]} if key in args else {}
