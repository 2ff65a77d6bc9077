"""A fake of Slack's Web API, served over real HTTP on 127.0.0.1, that records every call.

The bot under test runs in its own process with `SLACK_API_URL` pointing here, so everything it
sends to Slack (Web API methods and `response_url` posts) crosses a socket exactly as in
production. The fake answers the way Slack does (same envelope, `ok`/`error`, generated `ts`
values, `Retry-After` on 429), checks the bearer token and the Block Kit limits Slack enforces,
and can be told to fail: `fake.fail("chat.postMessage", status=429, retry_after=1)`.

It runs its own event loop in a daemon thread, so synchronous and asynchronous tests can use it
alike. Use it as a context manager or call `start()` / `stop()`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
BOT_USER_ID = "UBOT000001"
BOT_ID = "BBOT000001"
TEAM_ID = "T0000FAKE"
RESPONSE_URL_METHOD = "response_url"

# Block Kit limits Slack enforces (https://docs.slack.dev/reference/block-kit/blocks).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_ACTIONS_ELEMENTS = 25
MAX_SELECT_OPTIONS = 100
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_MESSAGE_TEXT = 40000
MAX_TEXT_OBJECT = 3000  # any text object, context elements included
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_PLACEHOLDER = 150


@dataclass(frozen=True)
class Call:
    """One request the bot sent: a Web API method, or a post to a `response_url`."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    path: str
    at: float
    raw: str = ""
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok", True))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The message's blocks (or a view's), decoded if they were sent as a JSON string."""
        source: Any = self.args.get("view") or self.args
        if isinstance(source, str):
            source = json.loads(source)
        blocks = source.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    @property
    def text(self) -> str:
        return str(self.args.get("text") or "")

    def visible_text(self) -> str:
        """Everything a person could read in this call: fallback text and every text object."""
        return "\n".join([self.text, *texts_in(self.blocks)])

    def __str__(self) -> str:  # shows up in assertion messages
        return f"{self.method} {json.dumps(self.args, default=str)[:400]}"


@dataclass
class _Failure:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    remaining: int | None = 1  # None: forever
    channel: str | None = None  # only calls to this channel (None: any call)


def _snake(method: str) -> str:
    """`chat.postMessage` -> `chat_post_message`: the name of the fake's handler."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", method.replace(".", "_")).lower()


def texts_in(node: Any) -> Iterable[str]:
    """Every "text" string inside a Block Kit structure (blocks, elements, options, ...)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts_in(item)


def block_kit_errors(blocks: list[dict[str, Any]], *, max_blocks: int) -> list[str]:
    """What Slack would reject in these blocks (`invalid_blocks`), as readable strings."""
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"{len(blocks)} blocks; at most {max_blocks}")
    block_ids: list[str] = []
    for index, block in enumerate(blocks):
        action_ids: list[str] = []  # Slack wants action_ids unique within a block
        where = f"blocks[{index}] ({block.get('type')})"
        if "block_id" in block:
            block_ids.append(block["block_id"])
            if len(block["block_id"]) > MAX_BLOCK_ID:
                errors.append(f"{where}: block_id longer than {MAX_BLOCK_ID}")
        kind = block.get("type")
        if kind == "header":
            text = block.get("text", {}).get("text", "")
            if len(text) > MAX_HEADER_TEXT:
                errors.append(f"{where}: header text {len(text)} chars > {MAX_HEADER_TEXT}")
            if block.get("text", {}).get("type") != "plain_text":
                errors.append(f"{where}: header text must be plain_text")
        if kind == "section":
            text = block.get("text", {}).get("text", "")
            if len(text) > MAX_SECTION_TEXT:
                errors.append(f"{where}: section text {len(text)} chars > {MAX_SECTION_TEXT}")
            fields = block.get("fields") or []
            if len(fields) > MAX_FIELDS:
                errors.append(f"{where}: {len(fields)} fields > {MAX_FIELDS}")
            for f in fields:
                if len(f.get("text", "")) > MAX_FIELD_TEXT:
                    errors.append(f"{where}: field text > {MAX_FIELD_TEXT}")
            if not text and not fields:
                errors.append(f"{where}: section needs text or fields")
        if kind == "context" and len(block.get("elements", [])) > MAX_CONTEXT_ELEMENTS:
            errors.append(f"{where}: more than {MAX_CONTEXT_ELEMENTS} context elements")
        if kind == "context":
            for element in block.get("elements", []):
                text = element.get("text", "") if isinstance(element, dict) else ""
                if isinstance(text, str) and len(text) > MAX_TEXT_OBJECT:
                    errors.append(f"{where}: context text {len(text)} chars > {MAX_TEXT_OBJECT}")
        if kind == "actions" and len(block.get("elements", [])) > MAX_ACTIONS_ELEMENTS:
            errors.append(f"{where}: more than {MAX_ACTIONS_ELEMENTS} elements")
        elements = list(block.get("elements", []))
        if "accessory" in block:
            elements.append(block["accessory"])
        if "element" in block:
            elements.append(block["element"])
        for element in elements:
            if not isinstance(element, dict):
                continue
            if "action_id" in element:
                action_ids.append(element["action_id"])
                if len(element["action_id"]) > MAX_ACTION_ID:
                    errors.append(f"{where}: action_id longer than {MAX_ACTION_ID}")
            if element.get("type") == "button":
                label = element.get("text", {}).get("text", "")
                if len(label) > MAX_BUTTON_TEXT:
                    errors.append(f"{where}: button text {len(label)} chars > {MAX_BUTTON_TEXT}")
                if len(element.get("value", "")) > MAX_BUTTON_VALUE:
                    errors.append(f"{where}: button value > {MAX_BUTTON_VALUE}")
            options = element.get("options")
            if options is not None and len(options) > MAX_SELECT_OPTIONS:
                errors.append(f"{where}: {len(options)} options > {MAX_SELECT_OPTIONS}")
            for option in [
                *(options or []),
                *([element["initial_option"]] if "initial_option" in element else []),
            ]:
                label = option.get("text", {}).get("text", "")
                if len(label) > MAX_OPTION_TEXT:
                    errors.append(f"{where}: option text {len(label)} chars > {MAX_OPTION_TEXT}")
                if len(option.get("value", "")) > MAX_OPTION_VALUE:
                    errors.append(f"{where}: option value > {MAX_OPTION_VALUE}")
            placeholder = element.get("placeholder", {}).get("text", "")
            if len(placeholder) > MAX_PLACEHOLDER:
                errors.append(f"{where}: placeholder {len(placeholder)} chars > {MAX_PLACEHOLDER}")
        repeated = sorted({i for i in action_ids if action_ids.count(i) > 1})
        if repeated:
            errors.append(f"{where}: repeated action_ids {', '.join(repeated)}")
    repeated = sorted({i for i in block_ids if block_ids.count(i) > 1})
    if repeated:
        errors.append(f"repeated block_ids: {', '.join(repeated)}")
    return errors


def message_errors(args: dict[str, Any]) -> list[str]:
    """Block Kit and size problems of a message payload (chat.* or response_url)."""
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    errors = block_kit_errors(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
    if len(str(args.get("text") or "")) > MAX_MESSAGE_TEXT:
        errors.append(f"text longer than {MAX_MESSAGE_TEXT}")
    return errors


def view_errors(view: Any) -> list[str]:
    if isinstance(view, str):
        view = json.loads(view)
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["view must be a modal or home view"]
    errors = block_kit_errors(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS)
    title = view.get("title", {}).get("text", "")
    if view["type"] == "modal" and not 0 < len(title) <= 24:
        errors.append("modal title must be 1 to 24 characters")
    return errors


class FakeSlack:
    """Slack's Web API and response_url receiver, recording every call. Thread-safe."""

    def __init__(
        self, *, token: str = BOT_TOKEN, app_token: str = APP_TOKEN, bot_user_id: str = BOT_USER_ID
    ) -> None:
        self.token = token
        self.app_token = app_token
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._envelopes = itertools.count(1)
        self.bot_user_id = bot_user_id
        self.calls: list[Call] = []
        self.history: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.users: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._last_ts = 0  # microseconds of the last message ts handed out
        self._view_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What to put in SLACK_API_URL."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        """A response_url that records posts under `name` (give each slash command its own)."""
        return f"{self.base_url}/response/{name}"

    def start(self) -> FakeSlack:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-slack", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Slack did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_get("/socket-mode", self._socket_mode)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- test controls -----------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        times: int | None = 1,
        channel: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail (None: until `clear_failures`).

        status=429 answers `ratelimited` with a Retry-After header (default 1 s); status=500/503
        answers a server error; status=200 with `error` answers `{"ok": false, "error": ...}`
        like `channel_not_found`; `delay` holds the answer back that many seconds (a call that
        succeeds has already taken effect, e.g. the message is in the channel, while the caller
        still waits). `channel` limits the failure to calls naming that channel.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures[method].append(
                _Failure(status, error, retry_after, delay, times, channel)
            )

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def reset(self) -> None:
        """Forget recorded calls, channel history and failures (between tests)."""
        with self._lock:
            self.calls.clear()
            self.history.clear()
            self._failures.clear()

    def add_user(self, user_id: str, name: str, *, is_bot: bool = False) -> None:
        self.users[user_id] = {"name": name, "is_bot": is_bot}

    def add_message(self, channel: str, text: str, *, user: str = "U0OTHER01", **extra: Any) -> str:
        """Put a message in a channel's history, as if a person had posted it; returns its ts."""
        ts = self._next_ts()
        with self._lock:
            self.history[channel].append(
                {"type": "message", "user": user, "text": text, "ts": ts, **extra}
            )
        return ts

    # -- queries -----------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def responses(self, name: str | None = None) -> list[Call]:
        """Posts to response_urls (all, or those made to `response_url(name)`)."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == RESPONSE_URL_METHOD and (name is None or c.path.endswith(f"/{name}"))
            ]

    def all_calls(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    def wait_for(
        self,
        predicate: Callable[[list[Call]], bool] | str,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Block until `count` calls of a method (or `predicate(all calls)`) are recorded."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.all_calls()
            if isinstance(predicate, str):
                matching = [c for c in calls if c.method == predicate]
                if len(matching) >= count:
                    return matching
            elif predicate(calls):
                return calls
            if time.monotonic() > deadline:
                summary = "\n  ".join(str(c) for c in calls) or "(none)"
                raise AssertionError(f"timed out waiting for {predicate!r}; calls:\n  {summary}")
            time.sleep(0.01)

    def quiet(self, seconds: float = 0.5) -> list[Call]:
        """Wait until no new call has arrived for `seconds`, then return every call."""
        last = -1
        while True:
            count = len(self.all_calls())
            if count == last:
                return self.all_calls()
            last = count
            time.sleep(seconds)

    # -- the fake API ------------------------------------------------------------------------

    def _next_ts(self) -> str:
        """A message ts as Slack makes them: the wall-clock time (seconds.microseconds),
        unique and increasing, so `oldest`/`latest` filters behave as they do in Slack."""
        with self._lock:
            now = int(time.time() * 1_000_000)
            self._last_ts = max(now, self._last_ts + 1)
            return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    async def _read_args(self, request: web.Request) -> tuple[dict[str, Any], str]:
        raw = await request.text()
        args: dict[str, Any] = dict(request.query)
        ctype = request.content_type
        if ctype == "application/json" and raw:
            args.update(json.loads(raw))
        elif raw:
            args.update(parse_qsl(raw, keep_blank_values=True))
        return args, raw

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _take_failure(self, method: str, args: dict[str, Any] | None = None) -> _Failure | None:
        channel = (args or {}).get("channel")
        with self._lock:
            queue = self._failures.get(method)
            if not queue:
                return None
            for failure in queue:
                if failure.channel is None or failure.channel == channel:
                    break
            else:
                return None
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    queue.remove(failure)
            return failure

    async def _response_url(self, request: web.Request) -> web.Response:
        args, raw = await self._read_args(request)
        errors = message_errors(args)
        failure = self._take_failure(RESPONSE_URL_METHOD)
        body: dict[str, Any] = {"ok": not errors}
        if errors:
            body["error"] = "invalid_blocks"
            body["errors"] = errors
        self._record(
            Call(
                RESPONSE_URL_METHOD,
                args,
                dict(request.headers),
                request.path,
                time.time(),
                raw,
                body,
            )
        )
        if failure is not None:
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.status >= 400:
                return web.Response(status=failure.status, text="error")
        # Slack answers response_url posts with a bare "ok" or a JSON error.
        if errors:
            return web.json_response(body, status=400)
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, raw = await self._read_args(request)
        headers = dict(request.headers)
        failure = self._take_failure(method, args)
        body, status, extra_headers = self._answer(method, args, headers, failure)
        self._record(Call(method, args, headers, request.path, time.time(), raw, body))
        if failure is not None and failure.delay:
            await asyncio.sleep(failure.delay)
        return web.json_response(body, status=status, headers=extra_headers)

    def _answer(
        self,
        method: str,
        args: dict[str, Any],
        headers: dict[str, str],
        failure: _Failure | None,
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        if failure is not None and failure.status == 429:
            return (
                {"ok": False, "error": "ratelimited"},
                429,
                {"Retry-After": str(failure.retry_after or 1)},
            )
        if failure is not None and failure.status >= 500:
            return {"ok": False, "error": "internal_error"}, failure.status, {}
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip() or args.get(
            "token"
        )
        if not token:
            return {"ok": False, "error": "not_authed"}, 200, {}
        expected = self.app_token if method == "apps.connections.open" else self.token
        if token != expected:
            return {"ok": False, "error": "invalid_auth"}, 200, {}
        if failure is not None and failure.error:
            return {"ok": False, "error": failure.error}, 200, {}
        handler = getattr(self, "_m_" + _snake(method), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}, 200, {}
        result: dict[str, Any] = handler(args)
        return result, 200, {}

    # Each _m_<method in snake case> returns Slack's JSON answer for valid input.

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "glossary",
            "team_id": TEAM_ID,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message_checks(self, args: dict[str, Any]) -> dict[str, Any] | None:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        errors = message_errors(args)
        if errors:
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        return None

    def _m_chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        problem = self._message_checks(args)
        if problem:
            return problem
        ts = self._next_ts()
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": BOT_ID,
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
            "ts": ts,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if args.get("metadata"):
            metadata = args["metadata"]
            message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        with self._lock:
            self.history[args["channel"]].append(message)
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def _m_chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        problem = self._message_checks(args)
        if problem:
            return problem
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        problem = self._message_checks(args)
        if problem:
            return problem
        with self._lock:
            for message in self.history.get(args["channel"], []):
                if message["ts"] == args.get("ts"):
                    message.update(text=args.get("text", ""), blocks=args.get("blocks", []))
                    return {
                        "ok": True,
                        "channel": args["channel"],
                        "ts": args["ts"],
                        "text": args.get("text", ""),
                        "message": message,
                    }
        return {"ok": False, "error": "message_not_found"}

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            messages = self.history.get(args.get("channel", ""), [])
            for message in messages:
                if message["ts"] == args.get("ts"):
                    messages.remove(message)
                    return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def _m_chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel", ""), args.get("message_ts", "")
        if not channel or not ts:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://fake-workspace.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _view_answer(self, args: dict[str, Any], kind: str) -> dict[str, Any]:
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        errors = view_errors(view)
        if errors:
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {"messages": errors},
            }
        if kind in ("open", "push") and not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view_id = args.get("view_id") or f"V{next(self._view_ids):09d}"
        return {
            "ok": True,
            "view": {**view, "id": view_id, "team_id": TEAM_ID, "hash": f"h{time.time_ns()}"},
        }

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view_answer(args, "open")

    def _m_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view_answer(args, "push")

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("view_id") and not args.get("external_id"):
            return {"ok": False, "error": "not_found"}
        return self._view_answer(args, "update")

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("user_id"):
            return {"ok": False, "error": "user_not_found"}
        return self._view_answer(args, "publish")

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user", "")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        known = self.users.get(user_id, {"name": f"user-{user_id.lower()}", "is_bot": False})
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": known["name"],
                "real_name": known["name"].title(),
                "is_bot": known["is_bot"],
                "tz": "Europe/London",
                "profile": {"display_name": known["name"], "real_name": known["name"].title()},
            },
        }

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("U")}}

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        with self._lock:
            messages = [dict(m) for m in reversed(self.history.get(channel, []))]
        oldest = float(args.get("oldest") or 0)
        messages = [m for m in messages if float(m["ts"]) > oldest]
        if str(args.get("include_all_metadata", "")).lower() not in ("true", "1"):
            for m in messages:
                m.pop("metadata", None)
        limit = int(args.get("limit") or 100)
        return {
            "ok": True,
            "messages": messages[:limit],
            "has_more": len(messages) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent, then its replies, oldest first (as Slack orders them)."""
        channel, parent = args.get("channel", ""), str(args.get("ts", ""))
        with self._lock:
            messages = [
                dict(m)
                for m in self.history.get(channel, [])
                if m["ts"] == parent or m.get("thread_ts") == parent
            ]
        if not any(m["ts"] == parent for m in messages):
            return {"ok": False, "error": "thread_not_found"}
        oldest = float(args.get("oldest") or 0)
        messages = [m for m in messages if m["ts"] == parent or float(m["ts"]) > oldest]
        if str(args.get("include_all_metadata", "")).lower() not in ("true", "1"):
            for m in messages:
                m.pop("metadata", None)
        limit = int(args.get("limit") or 100)
        return {
            "ok": True,
            "messages": messages[:limit],
            "has_more": len(messages) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def messages_in(self, channel: str, *, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """What a person sees in a channel now (top-level posts), or in one thread."""
        with self._lock:
            messages = [dict(m) for m in self.history.get(channel, [])]
        if thread_ts is None:
            return [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
        return [m for m in messages if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]

    # -- Socket Mode ---------------------------------------------------------------------------

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket-mode"}

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        hello = {
            "type": "hello",
            "num_connections": len(self._sockets),
            "connection_info": {"app_id": "A0000FAKE"},
            "debug_info": {"host": "fake", "approximate_connection_time": 3600},
        }
        await ws.send_json(hello)
        try:
            async for frame in ws:
                if frame.type.name != "TEXT":
                    continue
                data = json.loads(frame.data)
                self._record(
                    Call("socket_mode.ack", data, {}, "/socket-mode", time.time(), frame.data, {})
                )
                waiter = self._acks.pop(str(data.get("envelope_id")), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(data)
        finally:
            self._sockets.remove(ws)
        return ws

    @property
    def socket_connections(self) -> int:
        return len(self._sockets)

    def socket_send(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Send one Socket Mode envelope (`slash_commands`, `events_api`, `interactive`) to
        the connected bot and return its acknowledgement (with `payload` when it has one)."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(
            self._socket_send(kind, payload, retry_attempt, timeout), self._loop
        )
        return future.result(timeout + 1)

    async def _socket_send(
        self, kind: str, payload: dict[str, Any], retry_attempt: int, timeout: float
    ) -> dict[str, Any]:
        if not self._sockets:
            raise AssertionError("no Socket Mode connection")
        envelope_id = f"env-{next(self._envelopes):06d}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = waiter
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return await asyncio.wait_for(waiter, timeout)
