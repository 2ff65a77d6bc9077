"""What a person does in the page, turned into the signed requests Slack sends the app.

Typing `/define RAG` becomes a form-encoded slash command with a `response_url` and a
`trigger_id`; a message that mentions the bot becomes an `app_mention` event; a message in the
bot's DM a `message.im` event; a click a `block_actions` payload; submitting a modal a
`view_submission` whose answer (`response_action`: errors, update, push, clear) is applied as
Slack applies it. Posts to a `response_url` (`respond`) replace, delete or add messages.

Slack's timing is kept: the app has 3 seconds to answer any request; an event that fails or
times out is sent again with `X-Slack-Retry-Num` (Slack waits 1 and 5 minutes between retries;
the playground waits 6 and 30 seconds, so a retry is seen while you watch).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.playground import blockkit, signing
from bot.playground.manifest import AppManifest
from bot.playground.workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    SLACKBOT_USER_ID,
    TEAM_ID,
    Channel,
    Message,
    Person,
    ResponseTarget,
    View,
    Workspace,
    WorkspaceError,
    element_value,
    input_elements,
    with_ids,
)

log = logging.getLogger(__name__)

Json = dict[str, Any]

ACK_TIMEOUT_SECONDS = 3.0
EVENT_RETRY_DELAYS = (0.0, 6.0, 30.0)
TROUBLE = "We had some trouble connecting. Try again?"

_URL = re.compile(r"https?://[^\s<>&]+(?:&amp;[^\s<>&]+)*", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9._-]*)", re.IGNORECASE)
_CHANNEL = re.compile(r"(?<![\w#&])#([a-z0-9][a-z0-9_-]*)", re.IGNORECASE)
_SPECIAL = {"here": "<!here>", "channel": "<!channel>", "everyone": "<!everyone>"}


class PageError(Exception):
    """What the page asked for does not exist or is not allowed; the message says why."""


@dataclass(frozen=True)
class Delivery:
    """The app's answer to one request; status 0 when it never answered."""

    status: int
    body: str
    elapsed: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_slack_text(text: str, workspace: Workspace) -> str:
    """What Slack makes of typed text: `& < >` escaped, @names, #channels and links marked up."""
    escaped = slack_escape(text)
    by_handle = {p.handle.lower(): p.id for p in workspace.users.values()}
    by_channel = {c.name: c.id for c in workspace.channels.values() if c.kind == "channel"}
    pieces: list[str] = []
    last = 0
    for match in _URL.finditer(escaped):
        url = match.group(0).rstrip(".,;:!?)")
        pieces.append(_mark_names(escaped[last : match.start()], by_handle, by_channel))
        pieces.append(f"<{url}>")
        last = match.start() + len(url)
    pieces.append(_mark_names(escaped[last:], by_handle, by_channel))
    return "".join(pieces)


def _mark_names(text: str, by_handle: dict[str, str], by_channel: dict[str, str]) -> str:
    def user(match: re.Match[str]) -> str:
        name = match.group(1).lower().rstrip("._-")
        rest = match.group(1)[len(name) :]
        if name in _SPECIAL:
            return _SPECIAL[name] + rest
        user_id = by_handle.get(name)
        return f"<@{user_id}>{rest}" if user_id else match.group(0)

    def channel(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        channel_id = by_channel.get(name)
        return f"<#{channel_id}|{name}>" if channel_id else match.group(0)

    return _CHANNEL.sub(channel, _HANDLE.sub(user, text))


class Interactions:
    """The stand-in's side of the conversation with the app."""

    def __init__(
        self,
        workspace: Workspace,
        manifest: AppManifest,
        *,
        signing_secret: str,
        base_url: str = "",
        events_url: str = "",
    ) -> None:
        self.workspace = workspace
        self.manifest = manifest
        self.signing_secret = signing_secret
        self.base_url = base_url  # where response_urls point (the stand-in itself)
        self.events_url = events_url  # the app's POST /slack/events
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- plumbing ----------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop delivering events and close the HTTP session."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for events being delivered (tests use it to know the app has been asked)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def deliver(
        self,
        kind: signing.Kind,
        fields: Json,
        label: str,
        *,
        retry_num: int = 0,
        retry_reason: str = "",
    ) -> Delivery:
        """Sign and send one request to the app, waiting at most Slack's 3 seconds."""
        if not self.events_url:
            delivery = Delivery(0, "", 0.0, "the app is not running")
            self._record(label, fields, delivery, retry_num)
            return delivery
        body, content_type = signing.encode(kind, fields)
        headers = signing.signed_headers(
            self.signing_secret,
            body,
            content_type,
            retry_num=retry_num or None,
            retry_reason=retry_reason,
        )
        started = time.perf_counter()
        try:
            async with self._session_now().post(
                self.events_url,
                data=body.encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=ACK_TIMEOUT_SECONDS),
            ) as response:
                text = await response.text()
                delivery = Delivery(response.status, text, time.perf_counter() - started)
        except TimeoutError:
            delivery = Delivery(0, "", time.perf_counter() - started, "operation_timeout")
        except aiohttp.ClientError as exc:
            log.info("could not reach the app: %s", exc)
            delivery = Delivery(0, "", time.perf_counter() - started, "connection_failed")
        self._record(label, fields, delivery, retry_num)
        return delivery

    def _record(self, label: str, fields: Json, delivery: Delivery, retry_num: int) -> None:
        took = f"{delivery.elapsed * 1000:.0f} ms"
        detail = f"{delivery.status} in {took}" if delivery.status else f"{delivery.error} ({took})"
        if retry_num:
            detail = f"retry {retry_num}: {detail}"
        self.workspace.record("to_app", label, ok=delivery.ok, detail=detail, body=fields)

    def _person(self, user: str) -> Person:
        person = self.workspace.users.get(user)
        if person is None or person.is_bot:
            raise PageError(f"no such person: {user}")
        return person

    def _channel(self, user: str, channel_id: str) -> Channel:
        channel = self.workspace.channels.get(channel_id)
        if channel is None or not self.workspace.may_see(user, channel):
            raise PageError(f"no such channel: {channel_id}")
        return channel

    def _response_url(self, target: ResponseTarget) -> str:
        return f"{self.base_url}/response/{self.workspace.issue_response_url(target)}"

    def _slackbot(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> None:
        self.workspace.post(
            Message(
                channel=channel,
                ts=self.workspace.next_ts(),
                user=SLACKBOT_USER_ID,
                text=text,
                thread_ts=thread_ts,
                visible_to=user,
            )
        )

    # -- typing ------------------------------------------------------------------------------------

    async def send(
        self, user: str, channel_id: str, text: str, thread_ts: str | None = None
    ) -> Json:
        """A message typed in the page: a slash command, or a message (maybe an event)."""
        self._person(user)
        channel = self._channel(user, channel_id)
        text = text.strip()
        if not text:
            raise PageError("nothing to send")
        if text.startswith("/"):
            return await self.command(user, channel, text, thread_ts)
        message = self.workspace.post(
            Message(
                channel=channel.id,
                ts=self.workspace.next_ts(),
                user=user,
                text=to_slack_text(text, self.workspace),
                thread_ts=thread_ts or None,
            )
        )
        event = self._message_event(message, channel)
        if event is not None:
            self._spawn(self._deliver_event(event))
        return {"ok": True, "ts": message.ts}

    def _message_event(self, message: Message, channel: Channel) -> Json | None:
        """The event Slack would send for a new message, given what the app subscribes to."""
        base: Json = {
            "user": message.user,
            "text": message.text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel": channel.id,
            "team": TEAM_ID,
        }
        if message.thread_ts and message.thread_ts != message.ts:
            base["thread_ts"] = message.thread_ts
        if message.bot_id:
            base["bot_id"] = message.bot_id
            base["app_id"] = APP_ID
            base["bot_profile"] = {"id": BOT_ID, "name": self.workspace.bot_name}
        else:
            base["client_msg_id"] = str(uuid.uuid4())
        events = self.manifest.bot_events
        if channel.kind == "im":
            if "message.im" in events:
                return {"type": "message", "channel_type": "im", **base}
            return None
        if f"<@{BOT_USER_ID}>" in message.text and not message.bot_id and "app_mention" in events:
            return {"type": "app_mention", **base}
        if "message.channels" in events:
            return {"type": "message", "channel_type": "channel", **base}
        return None

    def bot_posted(self, message: Message) -> None:
        """Slack tells the app about its own messages in DMs too (the app must ignore them)."""
        if message.visible_to is not None:
            return
        channel = self.workspace.channels.get(message.channel)
        if channel is None or channel.kind != "im":
            return
        event = self._message_event(message, channel)
        if event is not None:
            self._spawn(self._deliver_event(event))

    async def _deliver_event(self, event: Json) -> None:
        fields = signing.event_callback(event)
        label = f"event {event['type']}"
        if event["type"] == "message":
            label = f"event message.{event.get('channel_type', 'channels')}"
        reason = ""
        for attempt in range(len(EVENT_RETRY_DELAYS) + 1):
            if attempt:
                await asyncio.sleep(EVENT_RETRY_DELAYS[attempt - 1])
            delivery = await self.deliver(
                "event", fields, label, retry_num=attempt, retry_reason=reason
            )
            if delivery.ok:
                return
            reason = "http_timeout" if delivery.error == "operation_timeout" else "http_error"
            if not self.events_url:
                return

    # -- slash commands ----------------------------------------------------------------------------

    async def command(
        self, user: str, channel: Channel, typed: str, thread_ts: str | None = None
    ) -> Json:
        name, _, text = typed.partition(" ")
        if not name[1:]:
            raise PageError("nothing to send")
        spec = self.manifest.command(name)
        if spec is None:
            self._slackbot(
                user,
                channel.id,
                f"{slack_escape(name)} is not a valid command. In Slack, all messages that "
                "start with the \u201c/\u201d character are interpreted as commands.",
                thread_ts,
            )
            return {"ok": True}
        person = self._person(user)
        target = ResponseTarget(channel.id, user, None, thread_ts, time.monotonic())
        fields = signing.slash_command(
            person,
            command=name,
            text=slack_escape(text.strip()),
            channel_id=channel.id,
            channel_name=channel.name if channel.kind == "channel" else "directmessage",
            response_url=self._response_url(target),
            trigger_id=self.workspace.issue_trigger(user),
        )
        delivery = await self.deliver("command", fields, f"slash command {name}")
        if not delivery.ok:
            error = delivery.error or "http_service_error"
            if error == "connection_failed":
                error = "dispatch_failed"
            self._slackbot(
                user, channel.id, f"{name} failed with the error \u201c{error}\u201d", thread_ts
            )
            return {"ok": True}
        self._show_ack(user, channel, typed, delivery, target)
        return {"ok": True}

    def _show_ack(
        self, user: str, channel: Channel, typed: str, delivery: Delivery, target: ResponseTarget
    ) -> None:
        """A slash command's HTTP answer, shown as Slack shows it."""
        answer = delivery.json()
        if answer is None:
            if delivery.body.strip():
                answer = {"text": delivery.body.strip()}
            else:
                return
        if not isinstance(answer, dict) or not (answer.get("text") or answer.get("blocks")):
            return
        problems = blockkit.message_problems(answer)
        if problems:
            self._slackbot(
                user,
                channel.id,
                "The app's answer was refused by Slack (invalid_blocks):\n" + "\n".join(problems),
                target.thread_ts,
            )
            return
        public = answer.get("response_type") == "in_channel"
        if public:
            # Slack shows the command itself above an in_channel answer.
            self.workspace.post(
                Message(
                    channel=channel.id,
                    ts=self.workspace.next_ts(),
                    user=user,
                    text=slack_escape(typed),
                )
            )
        message = self.workspace.post(
            Message(
                channel=channel.id,
                ts=self.workspace.next_ts(),
                user=BOT_USER_ID,
                text=str(answer.get("text") or ""),
                blocks=with_ids(answer.get("blocks") or []),
                attachments=list(answer.get("attachments") or []),
                thread_ts=None if public else target.thread_ts,
                bot_id=BOT_ID,
                visible_to=None if public else user,
            )
        )
        target.message_ts = message.ts

    # -- clicks and choices ------------------------------------------------------------------------

    async def click(
        self,
        user: str,
        *,
        block_id: str,
        action_id: str,
        selection: Any = None,
        channel_id: str | None = None,
        ts: str | None = None,
        view_id: str | None = None,
        values: dict[str, dict[str, Any]] | None = None,
    ) -> Json:
        """A button pressed or an option chosen, in a message, a modal or App Home."""
        person = self._person(user)
        trigger_id = self.workspace.issue_trigger(user)
        if view_id:
            view = self._view(user, view_id)
            element = _find_element(view.body.get("blocks") or [], block_id, action_id)
            if values is not None:
                view.values = state_values(view.body.get("blocks") or [], values)
            action = build_action(element, block_id, selection)
            payload = signing.block_actions(
                person,
                [action],
                trigger_id=trigger_id,
                container={"type": "view", "view_id": view.id},
                view=view.as_slack(),
            )
        else:
            channel = self._channel(user, channel_id or "")
            message = self.workspace.find(channel.id, ts or "", viewer=user)
            if message is None or message.deleted:
                raise PageError("that message is gone")
            element = _find_element(message.blocks, block_id, action_id)
            action = build_action(element, block_id, selection)
            container: Json = {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel.id,
                "is_ephemeral": message.visible_to is not None,
            }
            if message.thread_ts:
                container["thread_ts"] = message.thread_ts
            target = ResponseTarget(
                channel.id, user, message.ts, message.thread_ts, time.monotonic()
            )
            payload = signing.block_actions(
                person,
                [action],
                trigger_id=trigger_id,
                container=container,
                channel={"id": channel.id, "name": _channel_name(channel)},
                # Slack leaves the message out of clicks on ephemeral messages.
                message=None if message.visible_to else message.as_slack(),
                response_url=self._response_url(target),
                state={"values": state_values(message.blocks, values or {})},
            )
        delivery = await self.deliver("interactive", payload, f"block_actions {action_id}")
        if not delivery.ok:
            self.workspace.notify(user, self._no_answer(delivery))
        return {"ok": True}

    def _no_answer(self, delivery: Delivery) -> str:
        why = delivery.error or f"HTTP {delivery.status}"
        return f"{self.manifest.name} did not respond ({why})."

    def _view(self, user: str, view_id: str) -> View:
        view = self.workspace.views.get(view_id)
        if view is None or view.user != user:
            raise PageError("that view is closed")
        return view

    async def shortcut(
        self,
        user: str,
        callback_id: str,
        *,
        channel_id: str | None = None,
        ts: str | None = None,
    ) -> Json:
        """A message shortcut (from a message's menu) or a global shortcut."""
        person = self._person(user)
        kinds = {s.callback_id: s.type for s in self.manifest.shortcuts}
        if callback_id not in kinds:
            raise PageError(f"the app has no shortcut {callback_id}")
        trigger_id = self.workspace.issue_trigger(user)
        if kinds[callback_id] == "global":
            payload = signing.global_shortcut(
                person, callback_id=callback_id, trigger_id=trigger_id
            )
        else:
            channel = self._channel(user, channel_id or "")
            message = self.workspace.find(channel.id, ts or "")
            if message is None or message.visible_to is not None or message.deleted:
                raise PageError("shortcuts work on messages everyone can see")
            target = ResponseTarget(channel.id, user, None, message.thread_ts, time.monotonic())
            payload = signing.message_action(
                person,
                callback_id=callback_id,
                channel={"id": channel.id, "name": _channel_name(channel)},
                message=message.as_slack(),
                response_url=self._response_url(target),
                trigger_id=trigger_id,
            )
        delivery = await self.deliver("interactive", payload, f"{payload['type']} {callback_id}")
        if not delivery.ok:
            self.workspace.notify(user, self._no_answer(delivery))
        return {"ok": True}

    # -- modals and App Home -----------------------------------------------------------------------

    async def submit(self, user: str, view_id: str, values: dict[str, dict[str, Any]]) -> Json:
        """The modal's submit button; the app's answer decides what the modal does next."""
        person = self._person(user)
        view = self._view(user, view_id)
        if view is not self.workspace.top_modal(user):
            raise PageError("only the modal on top can be submitted")
        view.values = state_values(view.body.get("blocks") or [], values)
        payload = signing.view_submission(
            person, view.as_slack(), trigger_id=self.workspace.issue_trigger(user)
        )
        callback = view.body.get("callback_id") or view.id
        delivery = await self.deliver("interactive", payload, f"view_submission {callback}")
        if not delivery.ok:
            view.trouble = TROUBLE
            self.workspace.touch()
            return {"ok": True, "outcome": "trouble"}
        return {"ok": True, "outcome": self._apply_submission_answer(user, view, delivery)}

    def _apply_submission_answer(self, user: str, view: View, delivery: Delivery) -> str:
        answer = delivery.json()
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action is None:
            self.workspace.close_modal(user)
            return "closed"
        assert isinstance(answer, dict)
        if action == "errors":
            errors = answer.get("errors")
            view.errors = (
                {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}
            )
            view.trouble = "" if view.errors else TROUBLE
            self.workspace.touch()
            return "errors"
        if action == "clear":
            self.workspace.close_modal(user, everything=True)
            return "cleared"
        if action in ("update", "push"):
            body = answer.get("view")
            problems = blockkit.view_problems(body)
            if problems:
                view.trouble = f"{TROUBLE} (the app's view was invalid: {problems[0]})"
                self.workspace.touch()
                return "trouble"
            assert isinstance(body, dict)
            body = {**body, "blocks": with_ids(body.get("blocks") or [])}
            if action == "update":
                self.workspace.update_view(view, body)
                return "updated"
            try:
                self.workspace.push_modal(user, body)
            except WorkspaceError:
                view.trouble = TROUBLE
                self.workspace.touch()
                return "trouble"
            return "pushed"
        view.trouble = TROUBLE
        self.workspace.touch()
        return "trouble"

    async def close_view(self, user: str, view_id: str) -> Json:
        """The modal's close button (or ×); the app hears of it if it asked to."""
        person = self._person(user)
        view = self._view(user, view_id)
        everything = bool(view.body.get("clear_on_close"))
        self.workspace.close_modal(user, everything=everything)
        if view.body.get("notify_on_close"):
            payload = signing.view_closed(person, view.as_slack(), is_cleared=everything)
            self._spawn(self.deliver("interactive", payload, "view_closed"))
        return {"ok": True}

    async def open_app(self, user: str, tab: str) -> Json:
        """Someone opened the app's Home or Messages tab: `app_home_opened`."""
        self._person(user)
        if "app_home_opened" not in self.manifest.bot_events:
            return {"ok": True}
        dm = self.workspace.dm_for(user)
        event: Json = {
            "type": "app_home_opened",
            "user": user,
            "channel": dm.id,
            "tab": "home" if tab == "home" else "messages",
            "event_ts": f"{time.time():.6f}",
        }
        home = self.workspace.home_of(user)
        if home is not None and tab == "home":
            event["view"] = home.as_slack()
        self._spawn(self._deliver_event(event))
        return {"ok": True}

    def dismiss(self, user: str, channel_id: str, ts: str) -> Json:
        """Dismiss an ephemeral message: it goes, and the app is not told (as in Slack)."""
        message = self.workspace.find(channel_id, ts, viewer=user)
        if message is None or message.visible_to != user:
            raise PageError("only your own ephemeral messages can be dismissed")
        self.workspace.remove(message)
        return {"ok": True}

    # -- response_url ------------------------------------------------------------------------------

    def respond(self, token: str, body: Json) -> tuple[int, Json]:
        """A post to a response_url: replace or delete the original, or add a message."""
        try:
            target = self.workspace.use_response_url(token)
        except WorkspaceError as exc:
            return 404, {"ok": False, "error": exc.code}
        problems = blockkit.message_problems(body)
        if problems:
            return 400, {
                "ok": False,
                "error": "invalid_blocks",
                "response_metadata": {"messages": problems},
            }
        original = (
            self.workspace.find(target.channel, target.message_ts, viewer=target.user)
            if target.message_ts
            else None
        )
        if _truthy(body.get("delete_original")):
            if original is None:
                return 404, {"ok": False, "error": "message_not_found"}
            self.workspace.remove(original)
            return 200, {"ok": True}
        text = str(body.get("text") or "")
        blocks = body.get("blocks") or []
        attachments = body.get("attachments") or []
        if not text and not blocks and not attachments:
            return 400, {"ok": False, "error": "no_text"}
        if _truthy(body.get("replace_original")) and original is not None:
            original.text, original.blocks = text, with_ids(blocks)
            original.attachments = list(attachments)
            self.workspace.touch()
            return 200, {"ok": True}
        public = body.get("response_type") == "in_channel"
        thread_ts = str(body.get("thread_ts") or "") or (None if public else target.thread_ts)
        message = self.workspace.post(
            Message(
                channel=target.channel,
                ts=self.workspace.next_ts(),
                user=BOT_USER_ID,
                text=text,
                blocks=with_ids(blocks),
                attachments=list(attachments),
                thread_ts=thread_ts,
                bot_id=BOT_ID,
                visible_to=None if public else target.user,
            )
        )
        if target.message_ts is None:
            target.message_ts = message.ts
        if public:
            self.bot_posted(message)
        return 200, {"ok": True}


# --- payload pieces ---------------------------------------------------------------------------


def _channel_name(channel: Channel) -> str:
    return channel.name if channel.kind == "channel" else "directmessage"


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true")


def _find_element(blocks: list[Json], block_id: str, action_id: str) -> Json:
    for block in blocks:
        if block.get("block_id") != block_id:
            continue
        candidates = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    raise PageError("that button or menu is no longer there")


def build_action(element: Json, block_id: str, selection: Any) -> Json:
    """The `actions[0]` entry of a block_actions payload for `element`."""
    kind = str(element.get("type", ""))
    action: Json = {
        "type": kind,
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        action["text"] = element.get("text")
        for key in ("value", "style", "url"):
            if key in element:
                action[key] = element[key]
        return action
    if kind == "overflow":
        options = element.get("options") or []
        action["selected_option"] = next((o for o in options if o.get("value") == selection), None)
        return action
    state = element_value(element, selection)
    state.pop("type", None)
    action.update(state)
    if "placeholder" in element:
        action["placeholder"] = element["placeholder"]
    if kind in ("static_select", "radio_buttons") and "initial_option" in element:
        action["initial_option"] = element["initial_option"]
    return action


def state_values(blocks: list[Json], raw: dict[str, dict[str, Any]]) -> dict[str, dict[str, Json]]:
    """`state.values` for every stateful element of `blocks`, from what the page reports."""
    values: dict[str, dict[str, Json]] = {}
    for block_id, element in input_elements(blocks):
        action_id = str(element.get("action_id", ""))
        reported = raw.get(block_id, {})
        selection = reported.get(action_id) if action_id in reported else None
        values.setdefault(block_id, {})[action_id] = element_value(element, selection)
    return values
