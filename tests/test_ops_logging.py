"""Log output: JSON lines or text, and no secret survives the redaction filter.

These drive real `logging` records through the handler `configure_logging` installs; the
end-to-end proof over a running bot is in test_ops_e2e_observe.py.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import logs
from bot.config import load_settings
from bot.logs import REDACTED, JsonFormatter, Redactor, configure_logging
from bot.slack.observe import describe, outcome_of
from bot.slack.runtime import secret_values

SIGNING = "s1gning-secret-value-42"
DB_PASSWORD = "pg-pa55word"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's output, configured as the bot configures it, restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_hooks = sys.excepthook, threading.excepthook
    stream = io.StringIO()
    handler = configure_logging("DEBUG", "json", [SIGNING, DB_PASSWORD])
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved_handlers:
            root.addHandler(h)
        root.setLevel(saved_level)
        sys.excepthook, threading.excepthook = saved_hooks


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class TestRedactor:
    """Known secret values and token shapes are replaced wherever they appear."""

    @pytest.mark.parametrize(
        ("text", "gone"),
        [
            ("token xoxb-1234-5678-abcdef used", "xoxb-1234-5678-abcdef"),
            ("user token xoxp-9-9-9-zz", "xoxp-9-9-9-zz"),
            ('{"text": "find \\u201cxoxp-9-9-9-zz\\u201d"}', "xoxp-9-9-9-zz"),
            ("app xapp-1-A0-123-ff", "xapp-1-A0-123-ff"),
            ("rotating xoxe.xoxp-1-Mi0yLTE", "Mi0yLTE"),
            ("refresh xoxe-1-My0xLTE", "My0xLTE"),
            ("postgresql://bot:hunter22@db:5432/g", "hunter22"),
            ("token=verif1cation&team_id=T1", "verif1cation"),
            ("{'token': 'verif1cation', 'x': 1}", "verif1cation"),
            ('{"token": "verif1cation"}', "verif1cation"),
            ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
            ("POST https://hooks.slack.com/commands/T1/123/AbCdEf failed", "AbCdEf"),
            (f"the secret is {SIGNING}!", SIGNING),
            (f"password={DB_PASSWORD};", DB_PASSWORD),
        ],
    )
    def test_removed(self, text: str, gone: str) -> None:
        redacted = Redactor([SIGNING, DB_PASSWORD])(text)
        assert gone not in redacted
        assert REDACTED in redacted

    @pytest.mark.parametrize(
        ("text", "gone"),
        [
            (
                "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F123%2FSeCrEt&x=1",
                "SeCrEt",
            ),
            (
                '{"response_url": "https:\\/\\/hooks.slack.com\\/actions\\/T1\\/9\\/SeCrEt"}',
                "SeCrEt",
            ),
            ("payload=%7B%22token%22%3A%22verif1cation%22%2C%22x%22%3A1%7D", "verif1cation"),
            (
                "payload=%7B%22response_url%22%3A%22https%3A%5C%2F%5C%2Fhooks.slack.com"
                "%5C%2Factions%5C%2FT1%5C%2F9%5C%2FSeCrEt%22%7D",
                "SeCrEt",
            ),
            ("text=the+secret+is+s1gning%2Dsecret%2Dvalue%2D42", "s1gning-secret-value-42"),
        ],
    )
    def test_encoded_secrets_are_found(self, text: str, gone: str) -> None:
        redacted = Redactor([SIGNING])(text)
        assert gone not in redacted
        assert REDACTED in redacted

    def test_ordinary_text_is_untouched(self) -> None:
        text = "glossary: 44 terms loaded from /app/terms in 0.2 s (http://127.0.0.1:3000/x)"
        assert Redactor([SIGNING])(text) == text

    def test_tiny_values_are_not_treated_as_secrets(self) -> None:
        assert Redactor(["a"])("a cat") == "a cat"

    @pytest.mark.parametrize(
        "text", ["TOKEN=verif1cation", "to\u212aen: verif1cation", "BEARER abc", "XAPP-1-2"]
    )
    def test_shapes_are_found_in_any_letter_case(self, text: str) -> None:
        # "\u212a" is the Kelvin sign, which (?i) matches as "k".
        ungated = text
        for _, pattern, replacement in logs._PATTERNS:
            ungated = pattern.sub(replacement, ungated)
        assert Redactor()(text) == ungated

    @settings(max_examples=400, deadline=None)
    @given(
        st.lists(
            st.sampled_from(
                [
                    "xoxb-",
                    "xox",
                    "XOXP-",
                    "xapp-",
                    "://",
                    "u:",
                    "pw@",
                    "token",
                    "To\u212aEN",
                    "=",
                    ": ",
                    '"',
                    "'",
                    "bearer ",
                    "Bearer\t",
                    "hooks.slack.com/",
                    "commands/",
                    "T1/2/x",
                    "abc",
                    " ",
                    "-",
                    "[redacted]",
                    "é",
                    "İ",
                ]
            ),
            max_size=12,
        ).map("".join)
    )
    def test_keyword_gates_never_skip_a_match(self, text: str) -> None:
        """Searching only text that holds a keyword redacts exactly what searching all text does."""
        ungated = text
        for _, pattern, replacement in logs._PATTERNS:
            ungated = pattern.sub(replacement, ungated)
        assert Redactor()(text) == ungated


class TestFilter:
    """Every part of a record that reaches the output is redacted."""

    def test_an_unverified_request_is_logged_without_its_body(self, captured: io.StringIO) -> None:
        # As Bolt's request verification logs it, at INFO.
        logging.getLogger("slack_bolt.AsyncRequestVerification").info(
            "Invalid request signature detected (signature: v0=abc, timestamp: 1700000000, "
            "body: token=t0k3n&text=my+private+question&response_url=https%3A%2F%2Fx)"
        )
        (line,) = _lines(captured)
        assert line["message"] == (
            "Invalid request signature detected (signature: v0=abc, timestamp: 1700000000, "
            "body not logged)"
        )

    def test_message_arguments_fields_and_tracebacks(self, captured: io.StringIO) -> None:
        log = logging.getLogger("tests.ops")
        log.info("sent %s", "xoxb-1-2-secretpart", extra={"fields": {"k": SIGNING}})
        try:
            raise RuntimeError(f"failed with {DB_PASSWORD}")
        except RuntimeError:
            log.exception("boom")
        output = captured.getvalue()
        for secret in ("secretpart", SIGNING, DB_PASSWORD):
            assert secret not in output
        first, second = _lines(captured)
        assert first["message"] == f"sent xoxb-{REDACTED}"
        assert first["k"] == REDACTED
        assert "RuntimeError" in second["exc"]

    def test_uncaught_exceptions_are_logged_redacted(self, captured: io.StringIO) -> None:
        try:
            raise ValueError(f"bad {SIGNING}")
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)

        def crash() -> None:
            raise RuntimeError(f"thread saw {DB_PASSWORD}")

        thread = threading.Thread(target=crash, name="worker")
        thread.start()
        thread.join()
        lines = _lines(captured)
        assert [line["message"] for line in lines] == [
            "uncaught exception",
            "uncaught exception in thread worker",
        ]
        assert "ValueError" in lines[0]["exc"]
        assert SIGNING not in captured.getvalue()
        assert DB_PASSWORD not in captured.getvalue()

    def test_settings_secrets_feed_the_filter(self) -> None:
        settings = load_settings(
            SLACK_BOT_TOKEN="xoxb-abc-def",
            SLACK_SIGNING_SECRET=SIGNING,
            GLOSSARY_DATABASE_URL=f"postgresql://bot:{DB_PASSWORD}%21@db/g",
        )
        values = secret_values(settings)
        assert {"xoxb-abc-def", SIGNING, f"{DB_PASSWORD}%21", f"{DB_PASSWORD}!"} <= set(values)


class TestFormats:
    """JSON lines parse one by one; text stays readable."""

    def test_json_line_fields(self, captured: io.StringIO) -> None:
        logging.getLogger("bot.requests").info(
            "command /define: found (200) in 3.0 ms",
            extra={"fields": {"kind": "command", "outcome": "found", "latency_ms": 3.0}},
        )
        (line,) = _lines(captured)
        assert line["level"] == "INFO"
        assert line["logger"] == "bot.requests"
        assert line["kind"] == "command"
        assert line["outcome"] == "found"
        assert line["latency_ms"] == 3.0
        assert line["ts"].endswith("+00:00")

    def test_multiline_messages_stay_one_json_line(self, captured: io.StringIO) -> None:
        logging.getLogger("x").warning("one\ntwo")
        assert len(captured.getvalue().splitlines()) == 1
        assert _lines(captured)[0]["message"] == "one\ntwo"

    def test_fields_never_override_the_basics(self) -> None:
        record = logging.LogRecord("n", logging.INFO, "f", 1, "real", None, None)
        record.fields = {"message": "fake", "level": "fake"}
        data = json.loads(JsonFormatter().format(record))
        assert data["message"] == "real"
        assert data["level"] == "INFO"


class TestRequestNames:
    """Each Slack payload is named by kind and id in its log line, never by its text."""

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"command": "/define", "text": "RAG"}, ("command", "/define")),
            (
                {"type": "event_callback", "event": {"type": "app_mention", "text": "hi"}},
                ("event", "app_mention"),
            ),
            (
                {"type": "block_actions", "actions": [{"action_id": "share_answer"}]},
                ("action", "share_answer"),
            ),
            (
                {"type": "view_submission", "view": {"callback_id": "term_request"}},
                ("view", "term_request"),
            ),
            (
                {"type": "message_action", "callback_id": "define_terms"},
                ("shortcut", "define_terms"),
            ),
            ({"type": "shortcut", "callback_id": "glossary"}, ("shortcut", "glossary")),
            ({"type": "url_verification"}, ("other", "url_verification")),
            ({}, ("other", "unknown")),
        ],
    )
    def test_describe(self, body: dict, expected: tuple[str, str]) -> None:
        assert describe(body) == expected

    @pytest.mark.parametrize(
        ("status", "noted", "outcome"),
        [
            (200, None, "ok"),
            (200, "found", "found"),
            (200, "error", "error"),
            (401, None, "rejected"),
            (401, "found", "rejected"),
            (404, None, "unhandled"),
            (500, None, "error"),
        ],
    )
    def test_outcome(self, status: int, noted: str | None, outcome: str) -> None:
        assert outcome_of(status, noted) == outcome
