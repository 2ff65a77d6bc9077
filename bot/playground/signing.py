"""The requests Slack sends an app, built and signed exactly as Slack does.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 and the app's signing secret and sends
`X-Slack-Signature: v0=<hex digest>` beside `X-Slack-Request-Timestamp`. Slash commands are
form fields; interactivity (block_actions, view_submission, view_closed, message_action,
shortcut) is one form field `payload` holding JSON; the Events API posts JSON envelopes.

The builders return the body's fields as dicts; `encode` turns them into (body, content type).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any, Literal
from urllib.parse import urlencode

from bot.playground.workspace import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, Person

Json = dict[str, Any]
Kind = Literal["command", "event", "interactive"]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
# Slack's requests still carry the deprecated verification token; apps should ignore it.
VERIFICATION_TOKEN = "playground-verification-token"  # noqa: S105 - public, unused by apps


def new_signing_secret() -> str:
    """A fresh signing secret for one playground run (Slack's are 32 hex characters)."""
    return secrets.token_hex(16)


def signature(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    body: str,
    content_type: str,
    *,
    retry_num: int | None = None,
    retry_reason: str = "",
    now: float | None = None,
) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    headers = {
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(secret, timestamp, body),
    }
    if retry_num:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_error"
    return headers


def encode(kind: Kind, fields: Json) -> tuple[str, str]:
    """(raw body, content type) for a request of `kind`."""
    if kind == "command":
        return urlencode({k: str(v) for k, v in fields.items()}), FORM
    if kind == "interactive":
        return urlencode({"payload": json.dumps(fields)}), FORM
    return json.dumps(fields), JSON


def _user(person: Person) -> Json:
    return {
        "id": person.id,
        "username": person.handle,
        "name": person.handle,
        "team_id": TEAM_ID,
    }


def _team() -> Json:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def slash_command(
    person: Person,
    *,
    command: str,
    text: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> Json:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": person.id,
        "user_name": person.handle,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def event_callback(event: Json, *, event_id: str | None = None) -> Json:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def block_actions(
    person: Person,
    actions: list[Json],
    *,
    trigger_id: str,
    container: Json,
    channel: Json | None = None,
    message: Json | None = None,
    view: Json | None = None,
    response_url: str | None = None,
    state: Json | None = None,
) -> Json:
    """A click or a choice. From a message: `channel`, `response_url` and (for a public
    message) `message`; from a modal or App Home: `view` and no response_url."""
    payload: Json = {
        "type": "block_actions",
        "user": _user(person),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id,
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": actions,
    }
    if channel is not None:
        payload["channel"] = channel
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    if response_url is not None:
        payload["response_url"] = response_url
    if state is not None:
        payload["state"] = state
    return payload


def view_submission(person: Person, view: Json, *, trigger_id: str) -> Json:
    return {
        "type": "view_submission",
        "team": _team(),
        "user": _user(person),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(person: Person, view: Json, *, is_cleared: bool) -> Json:
    return {
        "type": "view_closed",
        "team": _team(),
        "user": _user(person),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "view": view,
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def message_action(
    person: Person,
    *,
    callback_id: str,
    channel: Json,
    message: Json,
    response_url: str,
    trigger_id: str,
) -> Json:
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": _team(),
        "user": _user(person),
        "channel": channel,
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": message,
    }


def global_shortcut(person: Person, *, callback_id: str, trigger_id: str) -> Json:
    return {
        "type": "shortcut",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": _team(),
        "user": _user(person),
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
    }
