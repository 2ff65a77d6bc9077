"""Requests exactly as Slack sends them to `POST /slack/events`, signed with the v0 scheme.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 and the app's signing secret, and sends
the hex digest as `X-Slack-Signature: v0=...` beside `X-Slack-Request-Timestamp`. Slash commands
are form-encoded fields; interactivity (block_actions, view_submission, message_action,
shortcut) is one form field `payload` holding JSON; the Events API posts JSON envelopes and marks
redeliveries with `X-Slack-Retry-Num` / `X-Slack-Retry-Reason`.

`SlackSender` posts these to a running bot with the standard library only, so a test reads like
what Slack does: `sender.command("/define", "RAG")`, `sender.event({...}, retry_num=1)`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
TEAM_ID = "T0000FAKE"
API_APP_ID = "A0000FAKE"
USER_ID = "U0000ALICE"
CHANNEL_ID = "C0000GENERAL"

_counter = itertools.count(1)


def signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str,
    content_type: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(body, ts, secret),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter):06d}"


# --- bodies --------------------------------------------------------------------------------


def slash_command_body(
    text: str,
    *,
    response_url: str,
    command: str = "/define",
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    trigger_id: str | None = None,
) -> str:
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake-workspace",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or unique("13345224609.738474920.") + "abc",
        }
    )


def event_callback_body(event: dict[str, Any], *, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": API_APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or unique("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": "UBOT000001",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": unique("4-eyJldCI6ImFwcF9tZW50aW9uIn0-"),
        }
    )


def mention_event(
    text: str,
    *,
    user: str = USER_ID,
    channel: str = CHANNEL_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts or f"{int(time.time())}.{next(_counter):06d}",
        "channel": channel,
        "event_ts": f"{int(time.time())}.{next(_counter):06d}",
        "team": TEAM_ID,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm_event(
    text: str, *, user: str = USER_ID, channel: str = "D0000ALICE", **extra: Any
) -> dict[str, Any]:
    ts = f"{int(time.time())}.{next(_counter):06d}"
    return {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        "team": TEAM_ID,
        **extra,
    }


def interactive_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def block_actions_payload(
    action: dict[str, Any],
    *,
    message: dict[str, Any] | None = None,
    container: dict[str, Any] | None = None,
    response_url: str,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    trigger_id: str | None = None,
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A block_actions payload. `container` says where the clicked message lives: an
    ephemeral message has `is_ephemeral: true`; a public message carries `message_ts`."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": TEAM_ID,
        },
        "api_app_id": API_APP_ID,
        "token": "deprecated-verification-token",
        "container": container
        or {"type": "message", "channel_id": channel_id, "is_ephemeral": True},
        "trigger_id": trigger_id or unique("13345224609.738474920.") + "xyz",
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "enterprise": None,
        "is_enterprise_install": False,
        "response_url": response_url,
        "actions": [{"action_ts": f"{time.time():.6f}", **action}],
    }
    if view is None:
        payload["channel"] = {"id": channel_id, "name": "general"}
        if message is not None:
            payload["message"] = message
    else:
        payload["view"] = view
        payload.pop("response_url")
    return payload


def button(
    action_id: str, value: str, *, block_id: str = "b1", text: str = "button"
) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "text": {"type": "plain_text", "text": text, "emoji": True},
    }


def static_select(action_id: str, value: str, *, block_id: str = "b1") -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": action_id,
        "block_id": block_id,
        "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
        "placeholder": {"type": "plain_text", "text": "Pick"},
    }


def message_action_payload(
    callback_id: str,
    message: dict[str, Any],
    *,
    response_url: str,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "token": "deprecated-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "user": {"id": user_id, "name": user_id.lower(), "team_id": TEAM_ID},
        "channel": {"id": channel_id, "name": "general"},
        "is_enterprise_install": False,
        "callback_id": callback_id,
        "trigger_id": trigger_id or unique("13345224609.738474920.") + "msg",
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": message,
    }


def view_submission_payload(
    view: dict[str, Any],
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    user_id: str = USER_ID,
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": TEAM_ID,
        },
        "api_app_id": API_APP_ID,
        "token": "deprecated-verification-token",
        "trigger_id": unique("13345224609.738474920.") + "view",
        "view": {**view, "id": view.get("id", "V000000001"), "state": {"values": values}},
        "response_urls": [],
        "is_enterprise_install": False,
    }


# --- sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """The bot's HTTP answer to one request."""

    status: int
    body: str
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}


class SlackSender:
    """Posts signed requests to a bot's `/slack/events`, as Slack does."""

    def __init__(self, url: str, secret: str = SIGNING_SECRET) -> None:
        self.url = url
        self.secret = secret

    def post(
        self,
        body: str,
        content_type: str,
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = signed_headers(
            body, content_type, secret=secret or self.secret, timestamp=timestamp
        )
        if retry_num is not None:
            all_headers["X-Slack-Retry-Num"] = str(retry_num)
            all_headers["X-Slack-Retry-Reason"] = "http_timeout"
        all_headers.update(headers or {})
        request = urllib.request.Request(  # noqa: S310 - the bot under test, on 127.0.0.1
            self.url, data=body.encode(), headers=all_headers, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local test URL
                text = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as exc:
            text = exc.read().decode()
            status = exc.code
        return Reply(status, text, time.perf_counter() - started)

    def command(self, text: str, *, response_url: str, **fields: Any) -> Reply:
        body = slash_command_body(text, response_url=response_url, **fields)
        return self.post(body, "application/x-www-form-urlencoded")

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> Reply:
        body = event_callback_body(event, event_id=event_id)
        return self.post(body, "application/json", retry_num=retry_num)

    def interactive(self, payload: dict[str, Any]) -> Reply:
        return self.post(interactive_body(payload), "application/x-www-form-urlencoded")
