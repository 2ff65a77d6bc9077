"""Log set-up: readable text or one JSON object a line, with secrets removed from both.

`configure_logging` sends every record to stderr through one handler. Its `RedactingFilter`
rewrites each record before any formatter sees it, so a secret cannot reach the output whatever
logged it (our code, Bolt, the Web API client, an exception's text or traceback):

- Slack tokens by their shape (`xoxb-`, `xoxp-`, `xoxe.xoxp-`, `xoxe-`, `xapp-`, ...);
- the values of the secrets the bot was configured with (tokens, signing secret, the
  database password), wherever they appear;
- passwords in URLs (`scheme://user:password@host`), `token=...` / `"token": "..."` pairs
  (Slack payloads carry a verification token) and `Bearer ...` credentials;
- Slack's `response_url` webhooks, which let anyone holding them post as the bot.

Structured fields travel in `extra={"fields": {...}}`: the JSON format puts them beside
`message`; the text format shows the message alone, which already reads well.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote

LogFormat = Literal["text", "json"]

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MIN_SECRET_LENGTH = 6  # shorter "secrets" would redact ordinary words

# Each shape with keywords (lower case), one of which any match contains: every request logs a
# line of several fields, and substring tests are far cheaper than regex scans, so a shape is
# only searched for in text holding one of its keywords. They are tested against the text
# lowered by `str.lower`, which maps every letter that (?i) would match to its lower case
# (the Kelvin sign to "k", say), so a gate never hides a match.
_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    # Slack tokens: xoxb- (bot), xoxp- (user), xoxa-/xoxr-/xoxs-/xoxc-/xoxd-, rotating
    # xoxe.xoxp- access and xoxe- refresh tokens, and xapp- app-level tokens. No word
    # boundary in front: in JSON a token may follow an escape such as \u201c.
    (
        ("xox", "xapp-"),
        re.compile(r"(xox[a-z](?:\.xox[a-z])?-|xapp-)[A-Za-z0-9-]+"),
        rf"\g<1>{REDACTED}",
    ),
    # user:password@ in URLs (database URLs above all).
    (("://",), re.compile(r"(://[^:/@\s]*:)[^@\s/]+@"), rf"\g<1>{REDACTED}@"),
    # token=..., "token": "...", 'token': '...' (form bodies, JSON, Python reprs).
    (
        ("token",),
        re.compile(r"""(?i)(\b[a-z_]*token["']?\s*[:=]\s*["']?)(?!\[redacted\])[^\s"'&,;}]+"""),
        rf"\g<1>{REDACTED}",
    ),
    (("bearer",), re.compile(r"(?i)(\bbearer\s+)[^\s\"',;}]+"), rf"\g<1>{REDACTED}"),
    # response_url and incoming webhooks: the path is the credential.
    (
        ("hooks.slack.com/",),
        re.compile(r"(hooks\.slack\.com/(?:commands|actions|services|triggers|workflows)/)\S+"),
        rf"\g<1>{REDACTED}",
    ),
)


class Redactor:
    """Removes secrets from text: known values first (longest first), then known shapes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = _decoded(text)
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        lowered = text.lower()
        for keywords, pattern, replacement in _PATTERNS:
            if any(keyword in lowered for keyword in keywords):
                text = pattern.sub(replacement, text)
                lowered = text.lower()
        return text


def _decoded(text: str) -> str:
    """The text with percent-escapes and JSON's escaped slashes undone, where it has any.

    Secrets travel encoded: a form body holds `response_url=https%3A%2F%2Fhooks.slack.com...`,
    an interactive payload is JSON inside a form field (`%5C%2F`, encoded twice over), and
    JSON may write "/" as "\\/". Decoded, they have the shapes the patterns know.
    """
    for _ in range(3):  # a payload in a form body is encoded twice; allow one more
        if "%" not in text:
            break
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text.replace("\\/", "/") if "\\/" in text else text


# Bolt logs a request whose signature fails, body and all, at INFO: anyone who can reach the
# bot can send one, and a body holds what someone typed and a response_url. The line stays,
# the body goes.
_UNVERIFIED_BODY = re.compile(
    r"^(Invalid request signature detected \(.*?), body: .*\)$", re.DOTALL
)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, fields, exception and stack text without secrets.

    The message is rendered here (args merged in) so a secret passed as an argument is caught
    too; the exception is rendered here for the same reason (formatters reuse `exc_text`)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact
        self._plain = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        if message.startswith("Invalid request signature"):
            message = _UNVERIFIED_BODY.sub(r"\1, body not logged)", message)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {key: self._clean(value) for key, value in fields.items()}
        return True

    def _clean(self, value: Any) -> Any:
        return self.redact(value) if isinstance(value, str) else value


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, the record's fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                data.setdefault(str(key), value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(
    level: str, fmt: LogFormat = "text", secrets: Iterable[str] = ()
) -> logging.Handler:
    """Send every log record to stderr, redacted, as text or JSON lines. Returns the handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    # An exception nobody caught would be printed raw by Python, unredacted and not as JSON.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    # The Web API client logs every request and response body at DEBUG; keep it quieter.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # watchfiles announces every change it sees; the reloader logs what it does about them.
    logging.getLogger("watchfiles").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    return handler


def _log_uncaught(
    kind: type[BaseException], value: BaseException, trace: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, trace)
        return
    logging.getLogger("bot").critical("uncaught exception", exc_info=(kind, value, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("bot").error(
        "uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
