"""`create_app`: the Bolt AsyncApp with its Web API client, error handler and listeners.

Choices that shape every request:

- `process_before_response=True`. Without it, Bolt runs each listener as a separate task and
  the request handler polls every 10 ms until `ack()` has been called, which adds up to 10 ms
  to every answer, and the HTTP response carries only what `ack` had at that moment. With it,
  the listener's ack function runs to completion inside the request, so `/define` answers in
  the ack body itself, with no second call to Slack. Whatever may be slow (calls to Slack on
  a button click, a shortcut, Home) is a *lazy* listener: Bolt acks first, then starts it in
  the background (tracked by `Background`, so it is logged properly and drained at shutdown).
  Events are answered before their ack, within a budget; see `dedupe.py` for why.
- The Web API client points at `SLACK_API_URL` and retries what is worth retrying: rate
  limits (honouring Retry-After), 500/503 answers and dropped connections.
- Nothing here talks to Slack at start-up. (Bolt's AsyncApp, unlike the sync App, has no
  start-up token check to turn off: it calls auth.test once, on the first request, and caches
  the bot's own user id from it.)
- One error handler for everything: it logs the stack trace and tells the person, in plain
  words, that something went wrong; exception text never reaches Slack.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError, Settings
from bot.glossary.roles import RoleDirectory
from bot.slack import blocks, messages
from bot.slack.background import Background, TrackedLazyListenerRunner
from bot.slack.deps import Deps, GlossaryHolder, IntakeHook
from bot.slack.listeners import register_listeners
from bot.slack.listeners.intake import SlackIntake
from bot.slack.metrics import note_error
from bot.slack.observe import InstrumentedApp
from bot.store import Store
from bot.store.lookup_log import LookupLog
from bot.store.saved_roles import SavedRoles

log = logging.getLogger(__name__)

WEB_API_TIMEOUT_SECONDS = 10


def web_client(settings: Settings) -> AsyncWebClient:
    """The Slack Web API client: SLACK_API_URL, the bot token, and retries."""
    return AsyncWebClient(
        token=settings.secret("SLACK_BOT_TOKEN"),
        base_url=settings.SLACK_API_URL,
        timeout=WEB_API_TIMEOUT_SECONDS,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_deps(
    settings: Settings,
    glossary: GlossaryHolder,
    store: Store,
    *,
    roles: RoleDirectory | None = None,
    intake: IntakeHook | None = None,
    background: Background | None = None,
) -> Deps:
    roles = roles if roles is not None else settings.roles()
    return Deps(
        settings=settings,
        glossary=glossary,
        store=store,
        roles=roles,
        intake=intake if intake is not None else SlackIntake(settings, glossary, store, roles),
        background=background if background is not None else Background(),
        saved_roles=SavedRoles(store, settings.GLOSSARY_ROLE_CACHE_SECONDS),
        lookups=LookupLog(store),
    )


def create_app(
    settings: Settings,
    glossary: GlossaryHolder,
    store: Store,
    *,
    socket_mode: bool = False,
    roles: RoleDirectory | None = None,
    intake: IntakeHook | None = None,
) -> AsyncApp:
    """The Bolt app for HTTP mode (signatures verified) or Socket Mode (no signing secret)."""
    deps = build_deps(settings, glossary, store, roles=roles, intake=intake)
    return app_for(deps, socket_mode=socket_mode)


def app_for(deps: Deps, *, socket_mode: bool = False) -> AsyncApp:
    """The Bolt app wired to `deps` (use this when the caller keeps the deps, as the server
    does for /healthz)."""
    settings = deps.settings
    secret = settings.SLACK_SIGNING_SECRET
    if not socket_mode and secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is required for `serve` (HTTP mode)")
    bolt_logger = logging.getLogger("bot.slack.bolt")
    bolt_logger.addFilter(_quiet_token_warning)
    app = InstrumentedApp(
        metrics=deps.metrics,
        name="glossary-bot",
        logger=bolt_logger,
        client=web_client(settings),
        signing_secret=secret.get_secret_value() if secret is not None else "",
        # Socket Mode requests arrive over an authenticated WebSocket and carry no signature.
        request_verification_enabled=not socket_mode,
        process_before_response=True,
    )
    app.listener_runner.lazy_listener_runner = TrackedLazyListenerRunner(
        deps.background, app.logger
    )
    deps.background.report_error = _report_background_error
    app.error(_on_error)
    register_listeners(app, deps)
    return app


def _quiet_token_warning(record: logging.LogRecord) -> bool:
    # AsyncApp also reads SLACK_BOT_TOKEN from the environment and warns that the client's
    # token wins; that is exactly what we want, so the warning is only noise.
    return "`token` will be unused" not in record.getMessage()


def _describe(body: dict[str, Any]) -> str:
    """What a request was, for logs: its kind and ids, never its text or tokens."""
    if body.get("command"):
        return f"command {body['command']} from {body.get('user_id')}"
    kind = body.get("type", "request")
    if kind == "event_callback":
        event = body.get("event") or {}
        return f"event {event.get('type')} {body.get('event_id')}"
    user = (body.get("user") or {}).get("id")
    action = ((body.get("actions") or [{}])[0]).get("action_id") or body.get("callback_id")
    return f"{kind} {action or ''} from {user}".strip()


async def _on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
    """Every error a listener or middleware raises: logged with its trace, never shown."""
    log.error("error while handling %s", _describe(body), exc_info=error)
    note_error()  # the request's log line and metrics say "error", even when we answer 200
    if body.get("command"):
        # A slash command's error would otherwise reach the user as Slack's own cryptic
        # "failed with the error" line; answer privately in the ack body instead.
        reply = {"response_type": "ephemeral", **blocks.notice_message(messages.GENERIC_ERROR)}
        return BoltResponse(
            status=200, body=json.dumps(reply), headers={"content-type": "application/json"}
        )
    return None  # events get a 500, so Slack redelivers them


async def _report_background_error(error: BaseException, request: AsyncBoltRequest | None) -> None:
    """A lazy listener failed after the ack: log it; tell the person where we can."""
    body = request.body if request is not None else {}
    log.error("error while handling %s (after ack)", _describe(body), exc_info=error)
    response_url = request.context.response_url if request is not None else None
    if not response_url:
        return
    notice = blocks.notice_message(messages.GENERIC_ERROR)
    try:
        await AsyncRespond(response_url=response_url)(
            text=notice["text"],
            blocks=notice["blocks"],
            response_type="ephemeral",
            replace_original=False,
        )
    except Exception:
        log.warning("could not tell the user about an error", exc_info=True)
