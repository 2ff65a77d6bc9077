"""The stand-in's HTTP side: Slack's Web API and response_urls for the bot, the page and its API.

Routes:

- `/api/{method}` (GET or POST): the Web API, for the bot's token only (`not_authed`,
  `invalid_auth` otherwise), answered by `webapi.py` and recorded in the activity panel.
- `POST /response/{token}`: response_urls, answered by `Interactions.respond`.
- `GET /` and `/static/...`: the page (no build step; nothing loaded from elsewhere).
- `/play/api/...`: the page's own JSON API: a long-polled snapshot of the workspace, and the
  things a person does (send, click, submit, close, open the app, preview a term).

The page's API takes JSON bodies only and refuses requests from other origins, so a web page
elsewhere cannot drive the playground from a visitor's browser.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from bot.playground.interactions import Interactions, PageError
from bot.playground.manifest import AppManifest
from bot.playground.preview import PreviewError, TermPreviewer
from bot.playground.webapi import InvalidArgumentsError, WebApi
from bot.playground.workspace import TEAM_NAME, WORKSPACE_URL, Workspace, WorkspaceError

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
LONG_POLL_SECONDS = 20.0
MAX_BODY_BYTES = 2 * 1024 * 1024
_NO_STORE = {"Cache-Control": "no-store"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Playground:
    """The stand-in's parts, wired together; `web_app()` serves them."""

    def __init__(
        self,
        *,
        bot_token: str,
        signing_secret: str,
        manifest: AppManifest,
        previewer: TermPreviewer,
        workspace: Workspace | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.manifest = manifest
        self.previewer = previewer
        self.workspace = workspace or Workspace(bot_name=manifest.bot_name)
        self.interactions = Interactions(self.workspace, manifest, signing_secret=signing_secret)
        self.api = WebApi(self.workspace, on_bot_message=self.interactions.bot_posted)

    def set_base_url(self, base_url: str) -> None:
        """Where the stand-in listens, as the bot reaches it (response_urls point there)."""
        self.interactions.base_url = base_url.rstrip("/")

    def set_app_url(self, events_url: str) -> None:
        """The app's `POST /slack/events`."""
        self.interactions.events_url = events_url

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/api/{method}", self.web_api)
        app.router.add_post("/response/{token}", self.response_url)
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", STATIC_DIR, append_version=False)
        page = {
            "send": self.page_send,
            "action": self.page_action,
            "shortcut": self.page_shortcut,
            "submit": self.page_submit,
            "close": self.page_close,
            "open-app": self.page_open_app,
            "dismiss": self.page_dismiss,
            "reset": self.page_reset,
            "preview": self.page_preview,
        }
        for name, handler in page.items():
            app.router.add_post(f"/play/api/{name}", _page_call(handler))
        app.router.add_get("/play/api/state", self.page_state)
        app.router.add_get("/play/api/info", self.page_info)
        app.router.add_get("/play/api/terms", self.page_terms)
        app.router.add_get("/play/api/activity/{id}", self.page_activity)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        await self.interactions.shutdown()

    # -- the Web API ---------------------------------------------------------------------------

    async def web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = token or str(args.pop("token", "") or "")
        args.pop("token", None)
        if not token:
            answer: dict[str, Any] = {"ok": False, "error": "not_authed"}
        elif token != self.bot_token:
            answer = {"ok": False, "error": "invalid_auth"}
        else:
            answer = self._call(method, args)
        detail = "ok" if answer.get("ok") else str(answer.get("error"))
        self.workspace.record(
            "from_app",
            method,
            ok=bool(answer.get("ok")),
            detail=detail,
            body={"args": args, "answer": answer},
        )
        return web.json_response(answer)

    def _call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.api.call(method, args)
        except InvalidArgumentsError as exc:
            return {
                "ok": False,
                "error": exc.code,
                "errors": exc.problems,
                "response_metadata": {"messages": exc.problems},
            }
        except WorkspaceError as exc:
            return {"ok": False, "error": exc.code}

    async def response_url(self, request: web.Request) -> web.Response:
        args = await _read_args(request)
        if isinstance(args.get("payload"), str):  # some clients post `payload=<json>`
            try:
                args = json.loads(args["payload"])
            except ValueError:
                args = {}
        try:
            status, answer = self.interactions.respond(request.match_info["token"], args)
        except (TypeError, ValueError, AttributeError):
            status, answer = 400, {"ok": False, "error": "invalid_payload"}
        ok = 200 <= status < 300
        detail = "ok" if ok else str(answer.get("error"))
        self.workspace.record(
            "from_app", "response_url", ok=ok, detail=detail, body={"args": args, "answer": answer}
        )
        if ok:
            return web.Response(text="ok")  # Slack answers a plain "ok"
        return web.json_response(answer, status=status)

    # -- the page --------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers=_NO_STORE)

    async def page_state(self, request: web.Request) -> web.Response:
        user = self._user(request.query.get("user"))
        try:
            after = int(request.query.get("after", "-1"))
        except ValueError:
            after = -1
        await self.workspace.wait_for_change(after, LONG_POLL_SECONDS)
        return web.json_response(self.workspace.snapshot(user), headers=_NO_STORE)

    async def page_info(self, request: web.Request) -> web.Response:
        try:
            examples = self.previewer.examples()
        except PreviewError:
            examples = ["/define help"]
        return web.json_response(
            {
                "app": self.manifest.as_page(),
                "workspace": {"name": TEAM_NAME, "url": WORKSPACE_URL},
                "examples": examples,
                "terms_dir": str(self.previewer.terms_dir),
                "app_running": bool(self.interactions.events_url),
            },
            headers=_NO_STORE,
        )

    async def page_terms(self, request: web.Request) -> web.Response:
        try:
            files = self.previewer.term_files()
        except PreviewError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True, "files": files}, headers=_NO_STORE)

    async def page_activity(self, request: web.Request) -> web.Response:
        wanted = request.match_info["id"]
        for item in self.workspace.activity:
            if str(item.id) == wanted:
                return web.json_response({**item.summary(), "body": item.body})
        return web.json_response({"ok": False, "error": "gone"}, status=404)

    def _user(self, user: Any) -> str:
        if isinstance(user, str) and user in {p.id for p in self.workspace.people}:
            return user
        return self.workspace.people[0].id

    async def page_send(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.interactions.send(
            self._user(body.get("user")),
            str(body.get("channel") or ""),
            str(body.get("text") or ""),
            str(body.get("thread_ts") or "") or None,
        )

    async def page_action(self, body: dict[str, Any]) -> dict[str, Any]:
        values = body.get("values")
        return await self.interactions.click(
            self._user(body.get("user")),
            block_id=str(body.get("block_id") or ""),
            action_id=str(body.get("action_id") or ""),
            selection=body.get("selection"),
            channel_id=str(body.get("channel") or "") or None,
            ts=str(body.get("ts") or "") or None,
            view_id=str(body.get("view_id") or "") or None,
            values=values if isinstance(values, dict) else None,
        )

    async def page_shortcut(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.interactions.shortcut(
            self._user(body.get("user")),
            str(body.get("callback_id") or ""),
            channel_id=str(body.get("channel") or "") or None,
            ts=str(body.get("ts") or "") or None,
        )

    async def page_submit(self, body: dict[str, Any]) -> dict[str, Any]:
        values = body.get("values")
        return await self.interactions.submit(
            self._user(body.get("user")),
            str(body.get("view_id") or ""),
            values if isinstance(values, dict) else {},
        )

    async def page_close(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.interactions.close_view(
            self._user(body.get("user")), str(body.get("view_id") or "")
        )

    async def page_open_app(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.interactions.open_app(
            self._user(body.get("user")), str(body.get("tab") or "home")
        )

    async def page_dismiss(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.interactions.dismiss(
            self._user(body.get("user")), str(body.get("channel") or ""), str(body.get("ts") or "")
        )

    async def page_reset(self, body: dict[str, Any]) -> dict[str, Any]:
        self.workspace.clear()
        return {"ok": True}

    async def page_preview(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("slug"):
            return {"ok": True, **self.previewer.preview_file(str(body["slug"]))}
        text = body.get("yaml")
        filename = body.get("filename")
        return {
            "ok": True,
            **self.previewer.preview_text(
                str(text or ""), str(filename) if isinstance(filename, str) else None
            ),
        }


PageHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _page_call(handler: PageHandler) -> Handler:
    """A page API route: same-origin JSON in, JSON out; a refused request says why."""

    async def route(request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.host:
            return web.json_response({"ok": False, "error": "cross-origin request"}, status=403)
        if request.content_type != "application/json":
            return web.json_response({"ok": False, "error": "send JSON"}, status=415)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "not JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"ok": False, "error": "send a JSON object"}, status=400)
        try:
            answer = await handler(body)
        except (PageError, PreviewError, WorkspaceError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response(answer, headers=_NO_STORE)

    return route


async def _read_args(request: web.Request) -> dict[str, Any]:
    """A Web API call's arguments: query string, then the form or JSON body."""
    args: dict[str, Any] = dict(request.query)
    raw = await request.text()
    if not raw:
        return args
    if request.content_type == "application/json":
        try:
            data = json.loads(raw)
        except ValueError:
            return args
        if isinstance(data, dict):
            args.update(data)
    else:
        args.update(parse_qsl(raw, keep_blank_values=True))
    return args
