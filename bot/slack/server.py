"""The HTTP side: `POST /slack/events` into Bolt, `GET /healthz` and `GET /metrics`.

Every Slack request (slash commands, events, interactivity) arrives at one URL. Bolt's
request verification middleware runs first: a bad signature, or a timestamp more than five
minutes old, gets 401 before any listener, store or Web API call.

/healthz answers 200 `{"status": "ok", "terms": N, ...}` while the bot can answer, with
`"degraded"` and a list of `problems` when something needs an operator but look-ups still
work (the store unreachable, glossary files with errors, a failed reload, intake posts stuck in
the outbox, or anything a registered health check reports), and 503 when it cannot answer at
all (no terms loaded, or shutting down). Beside `terms` it reports the last (re)load (when, why,
its `path:line` errors, which broken files are served from their last good version) and the
outbox backlog.

/metrics is Prometheus' text format (see `metrics.py` for the series). Neither endpoint says
anything secret, but both describe the deployment: let the load balancer expose only
/slack/events to the internet.
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
from bot.glossary.problems import Problem, Severity
from bot.glossary.reload import ReloadOutcome
from bot.slack.deps import Deps
from bot.slack.metrics import CONTENT_TYPE
from bot.slack.reloading import display_path
from bot.slack.runtime import StartupError, start_runtime, stop_on_signals
from bot.store import OutboxStats

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
STORE_PING_TIMEOUT = 2.0
MAX_HEALTH_ERRORS = 20  # path:line errors listed in /healthz (the log has them all)
# An intake post older than this has waited too long: the outbox needs an operator.
OUTBOX_STALE_SECONDS = 15 * 60
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

    async def metrics(request: web.Request) -> web.Response:
        await deps.metrics.refresh(deps.store, deps.glossary)
        return web.Response(body=deps.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    web_app.router.add_post(EVENTS_PATH, slack_events)
    web_app.router.add_get(HEALTH_PATH, healthz)
    web_app.router.add_get(METRICS_PATH, metrics)
    return web_app


async def health(deps: Deps, *, stopping: bool = False) -> tuple[dict[str, Any], int]:
    """The /healthz body and status code."""
    holder = deps.glossary
    terms = len(holder.current.terms)
    problems: list[str] = []
    store_ok = await _ping(deps)
    if not store_ok:
        problems.append("store: the database does not answer (saved roles and dedupe are off)")
    outbox = await _outbox_stats(deps) if store_ok else None
    last = holder.last_reload
    if last is not None and last.failure is not None:
        problems.append(
            f"glossary: the last reload failed ({last.failure}); still serving the glossary "
            f"loaded at {holder.loaded_at.isoformat(timespec='seconds')}"
        )
    if holder.error_count:
        problems.append(_glossary_problem(holder.problems, last.kept if last else ()))
    if outbox is not None:
        problems.extend(_outbox_problems(outbox))
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
    if last is not None:
        body["reload"] = _reload_body(last, holder.problems)
    if outbox is not None:
        body["outbox"] = _outbox_body(outbox)
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


def _glossary_problem(problems: tuple[Problem, ...], kept: tuple[str, ...]) -> str:
    errors = [p for p in problems if p.severity is Severity.ERROR]
    files = sorted({p.path for p in errors})
    first = errors[0]
    where = f"{display_path(first.path)}:{first.line}"
    served = f"; {len(kept)} served from their last good version" if kept else ""
    return (
        f"glossary: {len(errors)} errors in {len(files)} term files (first: {where}){served}"
        " - see `reload.errors` or the log for path:line"
    )


def _reload_body(last: ReloadOutcome, problems: tuple[Problem, ...]) -> dict[str, Any]:
    errors = [p for p in problems if p.severity is Severity.ERROR]
    body: dict[str, Any] = {
        "at": last.at.isoformat(timespec="milliseconds"),
        "reason": last.reason,
        "ok": last.ok,
        "seconds": round(last.seconds, 3),
        "errors": [str(p) for p in errors[:MAX_HEALTH_ERRORS]],
        "kept": list(last.kept),
        "left_out": list(last.left_out),
    }
    if last.failure is not None:
        body["failure"] = last.failure
    return body


def _outbox_body(stats: OutboxStats) -> dict[str, Any]:
    age = stats.oldest_pending_age
    return {
        "pending": stats.pending,
        "due": stats.due,
        "retrying": stats.retrying,
        "failed": stats.failed,
        "oldest_pending_seconds": round(age.total_seconds()) if age is not None else None,
        "last_error": stats.last_error,
    }


def _outbox_problems(stats: OutboxStats) -> list[str]:
    # Which delivery errors need an operator is the outbox worker's call (its health check
    # names them); here only a backlog that has waited too long, whatever the cause (no
    # worker running, Slack refusing every post), since any replica can see it.
    problems: list[str] = []
    age = stats.oldest_pending_age
    if age is not None and age.total_seconds() > OUTBOX_STALE_SECONDS:
        problems.append(
            f"outbox: the oldest of {stats.pending} pending Slack posts has waited "
            f"{int(age.total_seconds() // 60)} minutes"
        )
    return problems


async def _outbox_stats(deps: Deps) -> OutboxStats | None:
    try:
        return await asyncio.wait_for(deps.store.outbox_stats(), STORE_PING_TIMEOUT)
    except Exception:
        log.warning("outbox stats unavailable", exc_info=True)
        return None


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
    stop = asyncio.Event()
    # Caught before the port is announced and until the very end: a signal the moment the
    # bot is up, or a second one while it drains, never cuts the drain short.
    with stop_on_signals(stop):
        # One line on stdout, so a supervisor (or a test) started with --port 0 learns the port.
        print(f"listening on http://{host}:{bound} ({EVENTS_PATH}, {HEALTH_PATH})", flush=True)
        runtime.warm_up()
        await stop.wait()
        web_app[STATE_KEY].stopping = True  # /healthz answers 503 from now on
        delay = settings.GLOSSARY_SHUTDOWN_DELAY_SECONDS
        if delay:
            log.info("shutting down: still serving for %g s while /healthz says stopping", delay)
            await asyncio.sleep(delay)
        log.info("shutting down: finishing in-flight requests")
        await runner.cleanup()  # stops accepting, then waits for requests in progress
        await runtime.close()
    log.info("stopped")
    return 0


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
