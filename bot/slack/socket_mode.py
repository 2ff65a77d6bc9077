"""Socket Mode: the same app over an outgoing WebSocket, for hosts Slack cannot reach.

It needs SLACK_BOT_TOKEN and an app-level SLACK_APP_TOKEN (xapp-, connections:write) and
Socket Mode switched on in the app's settings. Slack sends no signatures over the socket, and
there is no HTTP endpoint unless `health_port` asks for one (GET /healthz on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.slack.runtime import StartupError, start_runtime, stop_on_signals
from bot.slack.server import STATE_KEY, build_web_app

log = logging.getLogger(__name__)


async def run_socket(settings: Settings, terms_dir: Path | None, health_port: int | None) -> int:
    """Stay connected until SIGTERM/SIGINT, then disconnect and close cleanly."""
    runtime = await start_runtime(settings, terms_dir=terms_dir, socket_mode=True)
    handler = AsyncSocketModeHandler(runtime.app, app_token=settings.secret("SLACK_APP_TOKEN"))
    try:
        # Ask for the WebSocket URL ourselves: the client's own connect() retries a refused
        # token forever, and an operator should hear about a bad token at once.
        handler.client.wss_uri = await handler.client.issue_new_wss_url()
    except SlackApiError as exc:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await runtime.close()
        error = exc.response.get("error", "refused")
        raise StartupError(f"SLACK_APP_TOKEN: Slack refused the connection ({error})") from None
    await handler.connect_async()  # type: ignore[no-untyped-call]  # unannotated in Bolt
    web_app = build_web_app(runtime.app, runtime.deps)
    runner: web.AppRunner | None = None
    if health_port is not None:
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", health_port).start()
        except OSError as exc:
            await handler.close_async()  # type: ignore[no-untyped-call]
            await runner.cleanup()
            await runtime.close()
            raise StartupError(
                f"cannot listen on 127.0.0.1:{health_port}: {exc.strerror}"
            ) from None
    stop = asyncio.Event()
    with stop_on_signals(stop):  # until the end, as in `serve`: see run_http
        print("connected to Slack in Socket Mode", flush=True)
        await stop.wait()
        log.info("shutting down: closing the Socket Mode connection")
        web_app[STATE_KEY].stopping = True
        await handler.close_async()  # type: ignore[no-untyped-call]
        if runner is not None:
            await runner.cleanup()
        await runtime.close()
    log.info("stopped")
    return 0
