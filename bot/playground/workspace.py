"""The stand-in's workspace: people, channels, messages, threads, modals and App Home, in memory.

Everything Slack would remember for the bot and the people in the page lives here, in plain
data: the stand-in's Web API (`webapi.py`) writes to it, the page reads it through
`snapshot(user)`, and `interactions.py` reads it to build the payloads Slack sends the app. It
does no I/O; every change bumps `version` and wakes the page's long poll (`wait_for_change`).

Ids look like Slack's (`C…` channels, `D…` direct messages, `U…` people, `V…` views), and
message timestamps are Slack's `seconds.micros` strings, unique and increasing.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import secrets
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

TEAM_ID = "T0PLAYGRND"
TEAM_NAME = "Glossary Playground"
TEAM_DOMAIN = "glossary-playground"
WORKSPACE_URL = f"https://{TEAM_DOMAIN}.slack.com/"
APP_ID = "A0GLOSSARY1"
BOT_ID = "B0GLOSSARY1"
BOT_USER_ID = "U0GLOSSARY1"
SLACKBOT_USER_ID = "USLACKBOT"

GENERAL_CHANNEL = "C0GENERAL01"
INTAKE_CHANNEL = "C0INTAKE001"
ALEX = "U0ALEX00001"
SAM = "U0SAM000001"

# Slack lets an app open a modal with a trigger_id for 3 seconds, once.
TRIGGER_TTL_SECONDS = 3.0
# A response_url takes at most 5 posts within 30 minutes.
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60
MAX_MODAL_STACK = 3
ACTIVITY_KEPT = 400
ACTIVITY_SHOWN = 120

Json = dict[str, Any]


@dataclass(frozen=True)
class Person:
    """Someone in the workspace: one of the people you can act as, the bot, or Slackbot."""

    id: str
    handle: str
    real_name: str
    is_bot: bool = False
    bot_id: str | None = None
    title: str = ""

    def as_slack(self) -> Json:
        """The `user` object of users.info."""
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.handle,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": {
                "display_name": self.handle,
                "real_name": self.real_name,
                "title": self.title,
                **({"bot_id": self.bot_id} if self.bot_id else {}),
            },
        }


@dataclass
class Channel:
    """A public channel, or the direct message between one person and the bot (`user`)."""

    id: str
    name: str
    kind: Literal["channel", "im"]
    user: str | None = None
    topic: str = ""
    purpose: str = ""  # "intake" for the channel the bot posts term requests to

    def as_slack(self) -> Json:
        if self.kind == "im":
            return {"id": self.id, "is_im": True, "user": self.user, "is_open": True}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_private": False,
            "is_member": True,
            "topic": {"value": self.topic},
        }


@dataclass
class Message:
    """One message; `visible_to` makes it ephemeral (only that person sees it)."""

    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[Json] = field(default_factory=list)
    attachments: list[Json] = field(default_factory=list)
    thread_ts: str | None = None
    bot_id: str | None = None
    metadata: Json | None = None
    visible_to: str | None = None
    edited: bool = False
    deleted: bool = False
    reply_broadcast: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def as_slack(self, *, with_metadata: bool = False) -> Json:
        """The message as conversations.history and interaction payloads carry it."""
        out: Json = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = APP_ID
        if self.blocks:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments:
            out["attachments"] = copy.deepcopy(self.attachments)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.ts}
        if self.reactions:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        if with_metadata and self.metadata is not None:
            out["metadata"] = copy.deepcopy(self.metadata)
        out["team"] = TEAM_ID
        return out


@dataclass
class View:
    """A modal in someone's stack, or their App Home. `body` is the view the app sent."""

    id: str
    user: str
    body: Json
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    values: dict[str, dict[str, Json]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    trouble: str = ""  # "We had some trouble connecting", shown on the modal

    @property
    def kind(self) -> str:
        return str(self.body.get("type", "modal"))

    def as_slack(self) -> Json:
        """The view as views.* answers and interaction payloads carry it."""
        view = copy.deepcopy(self.body)
        view.update(
            id=self.id,
            team_id=TEAM_ID,
            state={"values": copy.deepcopy(self.values)},
            hash=self.hash,
            root_view_id=self.root_view_id,
            previous_view_id=self.previous_view_id,
            app_id=APP_ID,
            app_installed_team_id=TEAM_ID,
            bot_id=BOT_ID,
        )
        for key, default in (
            ("private_metadata", ""),
            ("callback_id", ""),
            ("external_id", ""),
            ("clear_on_close", False),
            ("notify_on_close", False),
        ):
            view.setdefault(key, default)
        return view


@dataclass
class Trigger:
    user: str
    issued: float
    used: bool = False


@dataclass
class ResponseTarget:
    """Where posts to one response_url land, and how often it has been used."""

    channel: str
    user: str
    message_ts: str | None  # the message to replace or delete (None: nothing yet)
    thread_ts: str | None
    created: float
    uses: int = 0


@dataclass(frozen=True)
class Activity:
    """One request between the stand-in and the app, for the page's activity panel."""

    id: int
    at: float
    direction: Literal["to_app", "from_app"]
    kind: str
    ok: bool
    detail: str
    body: Any = None

    def summary(self) -> Json:
        return {
            "id": self.id,
            "at": self.at,
            "direction": self.direction,
            "kind": self.kind,
            "ok": self.ok,
            "detail": self.detail,
        }


class WorkspaceError(Exception):
    """A Web API error: `code` is Slack's error string (`channel_not_found`, ...)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code


def default_people(bot_name: str) -> list[Person]:
    return [
        Person(ALEX, "alex", "Alex Rivera", title="Glossary maintainer (triager)"),
        Person(SAM, "sam", "Sam Lee", title="Product manager"),
        Person(BOT_USER_ID, bot_name, bot_name, is_bot=True, bot_id=BOT_ID),
        Person(SLACKBOT_USER_ID, "slackbot", "Slackbot", is_bot=True),
    ]


def default_channels() -> list[Channel]:
    return [
        Channel(GENERAL_CHANNEL, "general", "channel", topic="Company-wide chat"),
        Channel(
            INTAKE_CHANNEL,
            "glossary-intake",
            "channel",
            topic="Term requests for triage",
            purpose="intake",
        ),
    ]


class Workspace:
    """Slack's memory, for one playground run. Not thread-safe: use it from one event loop."""

    def __init__(
        self,
        people: Sequence[Person] | None = None,
        channels: Sequence[Channel] | None = None,
        *,
        bot_name: str = "glossary",
        triagers: Iterable[str] = (ALEX,),
    ) -> None:
        self.bot_name = bot_name
        self.users: dict[str, Person] = {p.id: p for p in (people or default_people(bot_name))}
        self.triagers = tuple(triagers)
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[Message]] = {}
        for channel in channels or default_channels():
            self.add_channel(channel)
        self.views: dict[str, View] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.homes: dict[str, str] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseTarget] = {}
        self.activity: deque[Activity] = deque(maxlen=ACTIVITY_KEPT)
        self.notices: dict[str, list[str]] = {}
        self.version = 0
        self._activity_ids = itertools.count(1)
        self._view_ids = itertools.count(1)
        self._last_ts = 0
        self._changed: asyncio.Event | None = None

    # -- change notification -------------------------------------------------------------------

    def touch(self) -> None:
        """Record that something changed: the page's long poll answers."""
        self.version += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_for_change(self, after: int, timeout: float) -> int:
        """Wait until `version` passes `after` (or `timeout` seconds); return the version."""
        deadline = time.monotonic() + timeout
        while self.version <= after:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._changed is None:
                self._changed = asyncio.Event()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                break
        return self.version

    def record(
        self,
        direction: Literal["to_app", "from_app"],
        kind: str,
        *,
        ok: bool,
        detail: str = "",
        body: Any = None,
    ) -> Activity:
        item = Activity(next(self._activity_ids), time.time(), direction, kind, ok, detail, body)
        self.activity.append(item)
        self.touch()
        return item

    def notify(self, user: str, text: str) -> None:
        """A transient notice for one person (the app did not respond, a trigger expired...)."""
        self.notices.setdefault(user, []).append(text)
        self.touch()

    # -- ids -----------------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A new message timestamp: the current time in microseconds, strictly increasing."""
        now = time.time_ns() // 1000
        self._last_ts = max(now, self._last_ts + 1)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def new_view_id(self) -> str:
        return f"V{next(self._view_ids):010d}"

    @staticmethod
    def new_hash() -> str:
        return f"{time.time():.6f}.{secrets.token_hex(4)}"

    # -- people and channels --------------------------------------------------------------------

    @property
    def people(self) -> list[Person]:
        """The humans one can act as in the page."""
        return [p for p in self.users.values() if not p.is_bot]

    def add_channel(self, channel: Channel) -> Channel:
        self.channels[channel.id] = channel
        self.messages.setdefault(channel.id, [])
        return channel

    def dm_for(self, user_id: str) -> Channel:
        """The direct message between `user_id` and the bot (the app's Messages tab)."""
        for channel in self.channels.values():
            if channel.kind == "im" and channel.user == user_id:
                return channel
        if user_id not in self.users or self.users[user_id].is_bot:
            raise WorkspaceError("user_not_found")
        return self.add_channel(Channel("D" + user_id[1:], self.bot_name, "im", user=user_id))

    def channel_for(self, ref: str) -> Channel:
        """A channel named the ways the Web API accepts: its id, `#name`, or a user's id (DM)."""
        ref = ref.strip()
        if ref in self.channels:
            return self.channels[ref]
        if ref.startswith(("U", "W")) and ref in self.users:
            return self.dm_for(ref)
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.kind == "channel" and channel.name == name:
                return channel
        raise WorkspaceError("channel_not_found")

    def may_see(self, user_id: str, channel: Channel) -> bool:
        return channel.kind == "channel" or channel.user == user_id

    def person(self, user_id: str) -> Person:
        try:
            return self.users[user_id]
        except KeyError:
            raise WorkspaceError("user_not_found") from None

    # -- messages --------------------------------------------------------------------------------

    def post(self, message: Message) -> Message:
        """Add a message; a reply to a reply joins the thread of its parent."""
        if message.thread_ts:
            parent = self.find(message.channel, message.thread_ts)
            if parent is not None and parent.thread_ts and parent.thread_ts != parent.ts:
                message.thread_ts = parent.thread_ts
            elif parent is not None and not parent.visible_to:
                parent.thread_ts = parent.ts
        self.messages.setdefault(message.channel, []).append(message)
        self.touch()
        return message

    def find(self, channel: str, ts: str, *, viewer: str | None = None) -> Message | None:
        """The message `ts` of `channel`; ephemeral ones only for `viewer` (or when None)."""
        for message in self.messages.get(channel, []):
            if message.ts == ts and (
                message.visible_to is None or viewer is None or message.visible_to == viewer
            ):
                return message
        return None

    def remove(self, message: Message) -> None:
        """Delete a message; one with replies leaves a "This message was deleted." marker."""
        if message.visible_to is None and self.replies(message.channel, message.ts):
            message.deleted = True
            message.text, message.blocks, message.attachments = "", [], []
        else:
            self.messages[message.channel].remove(message)
        self.touch()

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [
            m
            for m in self.messages.get(channel, [])
            if m.thread_ts == thread_ts and m.ts != thread_ts and m.visible_to is None
        ]

    def history(self, channel: str) -> list[Message]:
        """Public top-level messages (and replies also sent to the channel), oldest first."""
        return [
            m
            for m in self.messages.get(channel, [])
            if m.visible_to is None and not m.deleted and (not m.is_reply or m.reply_broadcast)
        ]

    def all_messages(self) -> Iterator[Message]:
        for messages in self.messages.values():
            yield from messages

    def clear(self) -> None:
        """Forget every message, modal and home view (the people and channels stay)."""
        for messages in self.messages.values():
            messages.clear()
        self.views.clear()
        self.modal_stacks.clear()
        self.homes.clear()
        self.notices.clear()
        self.touch()

    # -- triggers and response_urls --------------------------------------------------------------

    def issue_trigger(self, user: str) -> str:
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Trigger(user, time.monotonic())
        return trigger_id

    def use_trigger(self, trigger_id: str) -> Trigger:
        """The trigger's owner; raises the error Slack answers for a bad, used or old trigger."""
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise WorkspaceError("invalid_trigger_id")
        if trigger.used:
            raise WorkspaceError("trigger_exchanged")
        if time.monotonic() - trigger.issued > TRIGGER_TTL_SECONDS:
            raise WorkspaceError("expired_trigger_id")
        trigger.used = True
        return trigger

    def issue_response_url(self, target: ResponseTarget) -> str:
        token = secrets.token_urlsafe(18)
        self.response_urls[token] = target
        return token

    def use_response_url(self, token: str) -> ResponseTarget:
        target = self.response_urls.get(token)
        if target is None:
            raise WorkspaceError("invalid_url")
        if time.monotonic() - target.created > RESPONSE_URL_TTL_SECONDS:
            raise WorkspaceError("expired_url")
        if target.uses >= RESPONSE_URL_USES:
            raise WorkspaceError("used_url")
        target.uses += 1
        return target

    # -- views -----------------------------------------------------------------------------------

    def modal_stack(self, user: str) -> list[View]:
        return [self.views[v] for v in self.modal_stacks.get(user, []) if v in self.views]

    def top_modal(self, user: str) -> View | None:
        stack = self.modal_stack(user)
        return stack[-1] if stack else None

    def open_modal(self, user: str, body: Json) -> View:
        """A new modal, replacing whatever modal `user` had open."""
        for view in self.modal_stack(user):
            self.views.pop(view.id, None)
        view_id = self.new_view_id()
        view = View(view_id, user, body, self.new_hash(), root_view_id=view_id)
        view.values = initial_values(body)
        self.views[view_id] = view
        self.modal_stacks[user] = [view_id]
        self.touch()
        return view

    def push_modal(self, user: str, body: Json) -> View:
        stack = self.modal_stack(user)
        if not stack:
            return self.open_modal(user, body)
        if len(stack) >= MAX_MODAL_STACK:
            raise WorkspaceError("push_limit_reached")
        view_id = self.new_view_id()
        view = View(
            view_id,
            user,
            body,
            self.new_hash(),
            root_view_id=stack[0].id,
            previous_view_id=stack[-1].id,
        )
        view.values = initial_values(body)
        self.views[view_id] = view
        self.modal_stacks[user].append(view_id)
        self.touch()
        return view

    def view_by(self, view_id: str | None, external_id: str | None) -> View:
        if view_id and view_id in self.views:
            return self.views[view_id]
        if external_id:
            for view in self.views.values():
                if view.body.get("external_id") == external_id:
                    return view
        raise WorkspaceError("not_found")

    def update_view(self, view: View, body: Json, expected_hash: str | None = None) -> View:
        if expected_hash and expected_hash != view.hash:
            raise WorkspaceError("hash_conflict")
        if body.get("type") != view.kind:
            raise WorkspaceError("invalid_arguments", "a view cannot change its type")
        # Slack keeps what was typed into input blocks whose block_id and action_id survive.
        inputs = {
            b.get("block_id")
            for b in body.get("blocks", [])
            if isinstance(b, dict) and b.get("type") == "input"
        }
        kept = {block: actions for block, actions in view.values.items() if block in inputs}
        view.body = body
        view.values = {**initial_values(body), **kept}
        view.hash = self.new_hash()
        view.errors = {}
        view.trouble = ""
        self.touch()
        return view

    def publish_home(self, user: str, body: Json, expected_hash: str | None = None) -> View:
        self.person(user)
        existing = self.views.get(self.homes.get(user, ""))
        if existing is not None:
            return self.update_view(existing, body, expected_hash)
        view_id = self.new_view_id()
        view = View(view_id, user, body, self.new_hash(), root_view_id=view_id)
        view.values = initial_values(body)
        self.views[view_id] = view
        self.homes[user] = view_id
        self.touch()
        return view

    def home_of(self, user: str) -> View | None:
        return self.views.get(self.homes.get(user, ""))

    def close_modal(self, user: str, *, everything: bool = False) -> list[View]:
        """Close the top modal (or all of them); returns the views closed."""
        ids = self.modal_stacks.get(user, [])
        closing = list(ids) if everything else ids[-1:]
        for view_id in closing:
            ids.remove(view_id)
        closed = [self.views.pop(v) for v in closing if v in self.views]
        self.touch()
        return closed

    # -- the page's view of the workspace --------------------------------------------------------

    def snapshot(self, user: str) -> Json:
        """Everything the page shows `user`: channels, messages, their modal and App Home."""
        channels = [c for c in self.channels.values() if c.kind == "channel"]
        channels.append(self.dm_for(user))
        messages = {
            c.id: [self._page_message(m) for m in self._visible(c.id, user)] for c in channels
        }
        modal = self.top_modal(user)
        home = self.home_of(user)
        return {
            "version": self.version,
            "me": user,
            "users": {
                p.id: {
                    "id": p.id,
                    "handle": p.handle,
                    "real_name": p.real_name,
                    "is_bot": p.is_bot,
                    "title": p.title,
                    "triager": p.id in self.triagers,
                }
                for p in self.users.values()
            },
            "people": [p.id for p in self.people],
            "bot": BOT_USER_ID,
            "channels": [
                {"id": c.id, "name": c.name, "kind": c.kind, "topic": c.topic, "purpose": c.purpose}
                for c in channels
            ],
            "messages": messages,
            "modal": _page_view(modal, depth=len(self.modal_stack(user))) if modal else None,
            "home": _page_view(home) if home else None,
            "notices": self.notices.pop(user, []),
            "activity": [a.summary() for a in list(self.activity)[-ACTIVITY_SHOWN:]],
        }

    def _visible(self, channel: str, user: str) -> list[Message]:
        return [
            m
            for m in self.messages.get(channel, [])
            if m.visible_to is None or m.visible_to == user
        ]

    def _page_message(self, m: Message) -> Json:
        replies = self.replies(m.channel, m.ts) if not m.is_reply else []
        return {
            "ts": m.ts,
            "user": m.user,
            "text": m.text,
            "blocks": m.blocks,
            "attachments": m.attachments,
            "thread_ts": m.thread_ts,
            "is_reply": m.is_reply,
            "reply_count": len(replies),
            "reply_users": list(dict.fromkeys(r.user for r in replies))[:5],
            "latest_reply": replies[-1].ts if replies else None,
            "ephemeral": m.visible_to is not None,
            "bot": m.bot_id is not None,
            "edited": m.edited,
            "deleted": m.deleted,
            "broadcast": m.reply_broadcast,
            "reactions": [{"name": k, "count": len(v)} for k, v in m.reactions.items()],
            "metadata_type": (m.metadata or {}).get("event_type"),
        }


def _page_view(view: View, *, depth: int = 0) -> Json:
    return {
        "id": view.id,
        "hash": view.hash,
        "view": view.body,
        "values": view.values,
        "errors": view.errors,
        "trouble": view.trouble,
        "depth": depth,
    }


# --- block and action ids ---------------------------------------------------------------------


def _random_id() -> str:
    return secrets.token_hex(3)


def with_ids(blocks: Sequence[Json]) -> list[Json]:
    """A copy of `blocks` where every block has a block_id and every element an action_id.

    Slack fills in missing ids when it stores a message or view, so a click can always name
    the block and element it came from.
    """
    filled = copy.deepcopy(list(blocks))
    for block in filled:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", _random_id())
        for element in _elements(block):
            if isinstance(element, dict) and element.get("type") not in (
                "plain_text",
                "mrkdwn",
                "image",
            ):
                element.setdefault("action_id", _random_id())
    return filled


def _elements(block: Json) -> list[Any]:
    found: list[Any] = []
    if block.get("type") in ("actions", "context"):
        found.extend(block.get("elements") or [])
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            found.append(block[key])
    return found


def input_elements(blocks: Sequence[Json]) -> Iterator[tuple[str, Json]]:
    """(block_id, element) of every element that holds state: inputs, selects, pickers."""
    for block in blocks:
        for element in _elements(block):
            if isinstance(element, dict) and element.get("type") in STATEFUL_ELEMENTS:
                yield str(block.get("block_id", "")), element


STATEFUL_ELEMENTS = frozenset(
    {
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "static_select",
        "multi_static_select",
        "external_select",
        "users_select",
        "multi_users_select",
        "conversations_select",
        "channels_select",
        "checkboxes",
        "radio_buttons",
        "datepicker",
        "timepicker",
    }
)


def initial_values(body: Json) -> dict[str, dict[str, Json]]:
    """A view's `state.values` before anyone types: each element's initial value."""
    values: dict[str, dict[str, Json]] = {}
    for block_id, element in input_elements(body.get("blocks") or []):
        values.setdefault(block_id, {})[str(element.get("action_id", ""))] = element_value(
            element, None
        )
    return values


def element_value(element: Json, raw: Any) -> Json:
    """The `state.values` entry Slack sends for `element` holding `raw` (None: its initial).

    `raw` is what the page reports: a string, a list of strings (multi-selects, checkboxes),
    or None for "not set"; option values that the element does not offer are dropped.
    """
    kind = str(element.get("type", ""))
    out: Json = {"type": kind}
    options = _options(element)
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        value = element.get("initial_value") if raw is None else str(raw)
        out["value"] = value if value not in ("", None) else None
    elif kind in ("static_select", "external_select", "radio_buttons"):
        if raw is None:
            out["selected_option"] = element.get("initial_option")
        else:
            out["selected_option"] = next((o for o in options if o.get("value") == raw), None)
    elif kind in ("multi_static_select", "checkboxes"):
        if raw is None:
            out["selected_options"] = list(element.get("initial_options") or [])
        else:
            wanted = [str(v) for v in raw] if isinstance(raw, list) else [str(raw)]
            out["selected_options"] = [o for o in options if o.get("value") in wanted]
    elif kind == "datepicker":
        out["selected_date"] = element.get("initial_date") if raw is None else (raw or None)
    elif kind == "timepicker":
        out["selected_time"] = element.get("initial_time") if raw is None else (raw or None)
    elif kind == "users_select":
        out["selected_user"] = element.get("initial_user") if raw is None else (raw or None)
    elif kind == "multi_users_select":
        out["selected_users"] = list(element.get("initial_users") or []) if raw is None else raw
    elif kind == "conversations_select":
        initial = element.get("initial_conversation")
        out["selected_conversation"] = initial if raw is None else (raw or None)
    elif kind == "channels_select":
        out["selected_channel"] = element.get("initial_channel") if raw is None else (raw or None)
    return out


def _options(element: Json) -> list[Json]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return options
