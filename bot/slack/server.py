"""The HTTP side: `POST /slack/events` into Bolt, and `GET /healthz` for load balancers.

Every Slack request (slash commands, events, interactivity) arrives at one URL. Bolt's
request verification middleware runs first: a bad signature, or a timestamp more than five
minutes old, gets 401 before any listener, store or Web API call.

/healthz answers 200 `{"status": "ok", "terms": N, ...}` while the bot can answer, with
`"degraded"` and a list of `problems` when something needs an operator but look-ups still
work (the store unreachable, glossary files with errors, or anything a registered health check
reports), and 503 when it cannot answer at all (no terms loaded, or shutting down).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.config import Settings
from bot.slack.deps import Deps
from bot.slack.runtime import StartupError, start_runtime, stop_on_signals

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
STORE_PING_TIMEOUT = 2.0
MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are far smaller
# How long in-flight requests may take to finish once shutdown starts.
SHUTDOWN_GRACE_SECONDS = 10.0


@dataclass
class ServerState:
    """Set `stopping` when shutdown begins, so /healthz turns load balancers away."""

    stopping: bool = False


STATE_KEY: web.AppKey[ServerState] = web.AppKey("glossary_state", ServerState)


def build_web_app(app: AsyncApp, deps: Deps) -> web.Application:
    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    state = ServerState()
    web_app[STATE_KEY] = state

    async def slack_events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        body, status = await health(deps, stopping=state.stopping)
        return web.json_response(body, status=status)

    web_app.router.add_post(EVENTS_PATH, slack_events)
    web_app.router.add_get(HEALTH_PATH, healthz)
    return web_app


async def health(deps: Deps, *, stopping: bool = False) -> tuple[dict[str, Any], int]:
    """The /healthz body and status code."""
    holder = deps.glossary
    terms = len(holder.current.terms)
    problems: list[str] = []
    store_ok = await _ping(deps)
    if not store_ok:
        problems.append("store: the database does not answer (saved roles and dedupe are off)")
    if holder.error_count:
        problems.append(
            f"glossary: {holder.error_count} errors in term files (see the log for path:line)"
        )
    for check in deps.health_checks:
        try:
            problems.extend(await check())
        except Exception:
            log.exception("a health check failed")
            problems.append("health check failed: see the log")
    body: dict[str, Any] = {
        "status": "ok" if not problems else "degraded",
        "terms": terms,
        "loaded_at": holder.loaded_at.isoformat(timespec="seconds"),
        "glossary_errors": holder.error_count,
        "store": "ok" if store_ok else "unreachable",
        "background_tasks": deps.background.pending,
    }
    if problems:
        body["problems"] = problems
    if stopping:
        body["status"] = "stopping"
        return body, 503
    if terms == 0:
        body["status"] = "unavailable"
        body.setdefault("problems", []).append("glossary: no terms loaded")
        return body, 503
    return body, 200


async def _ping(deps: Deps) -> bool:
    try:
        return await asyncio.wait_for(deps.store.ping(), STORE_PING_TIMEOUT)
    except Exception:
        log.warning("store ping failed", exc_info=True)
        return False


async def run_http(settings: Settings, host: str, port: int, terms_dir: Path | None) -> int:
    """Serve until SIGTERM/SIGINT, then finish in-flight work and close cleanly."""
    runtime = await start_runtime(settings, terms_dir=terms_dir)
    web_app = build_web_app(runtime.app, runtime.deps)
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
    await runner.setup()
    site = web.TCPSite(runner, host, port, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        await runtime.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = _bound_port(runner, port)
    # One line on stdout, so a supervisor (or a test) started with --port 0 learns the port.
    print(f"listening on http://{host}:{bound} ({EVENTS_PATH}, {HEALTH_PATH})", flush=True)
    stop = asyncio.Event()
    with stop_on_signals(stop):
        await stop.wait()
    log.info("shutting down: finishing in-flight requests")
    web_app[STATE_KEY].stopping = True
    await runner.cleanup()  # stops accepting, then waits for requests in progress
    await runtime.close()
    log.info("stopped")
    return 0


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
