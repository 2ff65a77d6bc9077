"""Term requests as pure functions: the form's checks, the dedupe key, outbox jobs, and the
Block Kit the flow produces (limits, escaping, anonymity)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from slack_fake import block_kit_errors, message_errors, texts_in, view_errors

from bot.glossary.roles import load_roles
from bot.intake import FormContext, RequestForm, read_decline_reason, read_form, request_key
from bot.intake.form import MAX_LINKS, MAX_TERM_CHARS, MAX_WHY_CHARS
from bot.intake.jobs import (
    IntakePostJob,
    RequesterDM,
    ScaffoldJob,
    ThreadNoteJob,
    read_job,
    to_message,
)
from bot.slack import intake_blocks
from bot.store import TermRequest

ROLES = load_roles()
KNOWN_ROLES = {role.name for role in ROLES}
HOSTILE = "R&D <!channel> <https://evil.example|click> <@U0VICTIM1> <!here>"
# What HOSTILE would become if it reached Slack unescaped (the builders' own mentions are fine).
RAW_MARKUP = re.compile(r"<!|<https?://evil|<@U0VICTIM1|<mailto:")
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def values(**fields: Any) -> dict[str, Any]:
    """Slack's view_submission `state.values` for the request form."""
    out: dict[str, Any] = {}
    for block, value in fields.items():
        if block in ("roles", "anonymous"):
            element = {"selected_options": [{"value": v} for v in value]}
        elif block == "urgency":
            element = {"selected_option": {"value": value}}
        else:
            element = {"type": "plain_text_input", "value": value}
        out[block] = {"value": element}
    return out


def mrkdwn_texts(node: Any) -> list[str]:
    """The text of every mrkdwn object (what Slack parses for markup)."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found.extend(mrkdwn_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(mrkdwn_texts(item))
    return found


def assert_escaped(message: dict[str, Any]) -> None:
    """No markup a person typed survives: no mention, broadcast or link, no bare `&`."""
    for text in [message["text"], *mrkdwn_texts(message["blocks"])]:
        assert not RAW_MARKUP.search(text), text
        assert not BARE_AMPERSAND.search(text), text
    for text in texts_in(message["blocks"]):  # plain_text too: no control sequence at all
        assert "<!channel>" not in text
        assert "<!here>" not in text


def request(**changes: Any) -> TermRequest:
    base: dict[str, Any] = {
        "id": 7,
        "kind": "new",
        "term": "prompt caching",
        "normalised_term": "prompt cach",
        "target_slug": None,
        "requester_id": "U0ALICE001",
        "where_seen": "design review",
        "why": "nobody could explain it",
        "affected_roles": ("product", "engineering"),
        "urgency": "this_quarter",
        "links": ("https://example.com/a?b=1&c=2",),
        "anonymous": False,
        "source_permalink": "https://acme.slack.com/archives/C1/p1700000000000100",
        "status": "open",
        "decline_reason": None,
        "status_changed_by": None,
        "created_at": datetime(2026, 3, 1, tzinfo=UTC),
        "updated_at": datetime(2026, 3, 1, tzinfo=UTC),
        "accepted_at": None,
        "declined_at": None,
        "published_at": None,
        "intake_channel": None,
        "intake_ts": None,
    }
    base.update(changes)
    return TermRequest(**base)


class TestReadForm:
    """A submission is trimmed and checked; each problem is reported on its own field."""

    def test_a_full_submission(self) -> None:
        form = read_form(
            values(
                term="  prompt   caching ",
                where_seen=" standup ",
                why="we pay for it",
                roles=["product", "not-a-role"],
                urgency="now",
                links="https://example.com/a\nhttp://example.org/b, https://example.com/a",
                anonymous=["anonymous"],
            ),
            FormContext(source="https://acme.slack.com/archives/C1/p1"),
            known_roles=KNOWN_ROLES,
        )
        assert form == RequestForm(
            term="prompt caching",
            where_seen="standup",
            why="we pay for it",
            roles=("product",),
            urgency="now",
            links=("https://example.com/a", "http://example.org/b"),
            anonymous=True,
            context=FormContext(source="https://acme.slack.com/archives/C1/p1"),
        )

    def test_only_the_term_is_required(self) -> None:
        form = read_form(values(term="RLHF"), FormContext(), known_roles=KNOWN_ROLES)
        assert isinstance(form, RequestForm)
        assert (form.term, form.links, form.anonymous, form.urgency) == ("RLHF", (), False, None)

    @pytest.mark.parametrize(
        ("fields", "block", "says"),
        [
            ({"term": "   "}, "term", "Write the term"),
            ({}, "term", "Write the term"),
            ({"term": "x" * (MAX_TERM_CHARS + 1)}, "term", f"under {MAX_TERM_CHARS}"),
            ({"term": "ok", "why": "y" * (MAX_WHY_CHARS + 1)}, "why", "under"),
            ({"term": "ok", "links": "ftp://example.com/file"}, "links", "isn't a web link"),
            ({"term": "ok", "links": "javascript:alert(1)"}, "links", "http:// or https://"),
            ({"term": "ok", "links": "example.com"}, "links", "isn't a web link"),
            ({"term": "ok", "links": "https://x.example/<!channel>"}, "links", "web link"),
            (
                {
                    "term": "ok",
                    "links": " ".join(f"https://e.com/{n}" for n in range(MAX_LINKS + 1)),
                },
                "links",
                f"at most {MAX_LINKS}",
            ),
        ],
    )
    def test_problems_are_reported_on_their_field(
        self, fields: dict[str, str], block: str, says: str
    ) -> None:
        errors = read_form(values(**fields), FormContext(), known_roles=KNOWN_ROLES)
        assert isinstance(errors, dict)
        assert block in errors
        assert says in errors[block]

    def test_several_problems_at_once(self) -> None:
        errors = read_form(values(term=" ", links="nope"), FormContext(), known_roles=KNOWN_ROLES)
        assert set(errors) == {"term", "links"}

    def test_decline_reason(self) -> None:
        assert read_decline_reason(values(reason="  out of scope ")) == "out of scope"
        assert "reason" in read_decline_reason(values(reason="  "))  # type: ignore[operator]


class TestFormContext:
    """private_metadata round-trips, and anything odd in it reads as a plain request."""

    def test_round_trip(self) -> None:
        context = FormContext("clarification", "rag", "https://acme.slack.com/archives/C1/p2")
        assert FormContext.from_metadata(context.to_metadata()) == context

    @pytest.mark.parametrize(
        "text",
        ["", "not json", "[1]", '{"kind": "evil", "source": "javascript:alert(1)", "slug": 3}'],
    )
    def test_odd_metadata(self, text: str) -> None:
        assert FormContext.from_metadata(text) == FormContext()


class TestRequestKey:
    """Two wordings of one term are one request (the resolver's normalisation)."""

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("KV-cache", "kv cache"),
            ("KV Caches", "kv-cache"),
            ("Prompt  caching", "prompt caching"),
            ("*RLHF*", "rlhf"),
            ("“guardrails”", "Guardrails"),
        ],
    )
    def test_same_key(self, a: str, b: str) -> None:
        assert request_key(a) == request_key(b)

    def test_different_terms_differ(self) -> None:
        assert request_key("prompt caching") != request_key("prompt injection")


class TestJobs:
    """Outbox jobs are plain JSON data that read back as they were written."""

    @pytest.mark.parametrize(
        "job",
        [
            IntakePostJob(3),
            ThreadNoteJob(3, None, 2, where_seen="x", links=("https://e.com",), roles=("legal",)),
            ScaffoldJob(3, "prompt caching", "U0TRIAGE01"),
            RequesterDM("U0ALICE001", "declined", 3, "prompt caching", reason="out of scope"),
        ],
    )
    def test_round_trip(self, job: Any) -> None:
        message = to_message(job)
        payload = json.loads(json.dumps(dict(message.payload)))  # as the store keeps it
        assert read_job(message.kind, payload) == job

    def test_unknown_rows_are_not_guessed_at(self) -> None:
        assert read_job("something_new", {"request_id": 1}) is None
        assert read_job("requester_dm", {"user_id": "U1"}) is None  # fields missing
        assert (
            read_job("requester_dm", {**vars(RequesterDM("U1", "filed", 1, "x")), "notice": "?"})
            is None
        )


class TestRequestModal:
    """The form has every field, each text input capped, within Slack's view limits."""

    def test_every_field_with_max_length(self) -> None:
        view = intake_blocks.request_modal(
            "prompt caching", "new", None, "https://acme.slack.com/archives/C1/p1", roles=ROLES
        )
        assert view_errors(view) == []
        inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
        assert set(inputs) == {
            "term",
            "where_seen",
            "why",
            "roles",
            "urgency",
            "links",
            "anonymous",
        }
        assert inputs["term"]["initial_value"] == "prompt caching"
        for element in inputs.values():
            if element["type"] == "plain_text_input":
                assert 0 < element["max_length"] <= 3000
        assert {o["value"] for o in inputs["roles"]["options"]} == KNOWN_ROLES
        assert {o["value"] for o in inputs["urgency"]["options"]} == {
            "now",
            "this_quarter",
            "evergreen",
        }
        assert json.loads(view["private_metadata"])["source"].startswith("https://")

    def test_clarification_names_the_term_and_escapes_it(self) -> None:
        view = intake_blocks.request_modal(HOSTILE, "clarification", "rag", None, roles=ROLES)
        assert view["title"]["text"] == "Suggest a clarification"
        assert view_errors(view) == []
        assert_escaped({"text": "", "blocks": view["blocks"]})
        assert json.loads(view["private_metadata"]) == {
            "kind": "clarification",
            "slug": "rag",
            "source": None,
        }

    def test_a_non_web_source_is_dropped(self) -> None:
        view = intake_blocks.request_modal("x", "new", None, "javascript:alert(1)")
        assert json.loads(view["private_metadata"])["source"] is None


class TestIntakePost:
    """The post shows every field and its status, escaped, and names nobody when anonymous."""

    def test_fields_status_and_buttons(self) -> None:
        message = intake_blocks.intake_post(request(), 3, ROLES)
        assert message_errors(message) == []
        text = "\n".join(texts_in(message["blocks"]))
        for expected in (
            "prompt caching",
            "<@U0ALICE001>",
            "Open",
            "3 people",
            "This quarter",
            "Product manager",
            "design review",
            "nobody could explain it",
            "<https://example.com/a?b=1&amp;c=2|https://example.com/a?b=1&amp;c=2>",
            "<https://acme.slack.com/archives/C1/p1700000000000100|",
            "Request #7",
        ):
            assert expected in text, expected
        actions = [e.get("action_id") for b in message["blocks"] for e in b.get("elements", [])]
        assert {"intake_accept", "intake_decline", "intake_published"} <= set(actions)

    def test_anonymous_names_nobody(self) -> None:
        message = intake_blocks.intake_post(request(anonymous=True), 1, ROLES)
        assert "U0ALICE001" not in json.dumps(message)
        assert "Anonymous" in "\n".join(texts_in(message["blocks"]))

    @pytest.mark.parametrize(
        ("status", "buttons"),
        [
            ("open", {"intake_accept", "intake_decline", "intake_published"}),
            ("accepted", {"intake_decline", "intake_published"}),
            ("declined", set()),
            ("published", set()),
        ],
    )
    def test_buttons_follow_the_status(self, status: str, buttons: set[str]) -> None:
        message = intake_blocks.intake_post(
            request(status=status, status_changed_by="U0TRIAGE01", decline_reason="dup"), 1, ROLES
        )
        actions = {
            e["action_id"]
            for b in message["blocks"]
            for e in b.get("elements", [])
            if "action_id" in e
        }
        assert actions == buttons

    def test_declined_shows_who_and_why(self) -> None:
        message = intake_blocks.intake_post(
            request(status="declined", status_changed_by="U0TRIAGE01", decline_reason=HOSTILE),
            1,
            ROLES,
        )
        text = "\n".join(texts_in(message["blocks"]))
        assert "Declined by <@U0TRIAGE01>" in text
        assert "R&amp;D &lt;!channel&gt;" in text
        assert_escaped(message)

    def test_hostile_text_is_escaped_and_long_text_fits(self) -> None:
        long = HOSTILE + " " + "word " * 2000
        message = intake_blocks.intake_post(
            request(term=HOSTILE, where_seen=long, why=long, requester_id="<!channel>"), 1, ROLES
        )
        assert message_errors(message) == []
        assert_escaped(message)


class TestThreadAndDMs:
    """Thread notes, the scaffold and requester DMs: escaped, within limits, anonymous-safe."""

    def test_anonymous_plus_one_names_nobody(self) -> None:
        note = intake_blocks.thread_note(ThreadNoteJob(7, None, 4, where_seen=HOSTILE), ROLES)
        assert message_errors(note) == []
        assert "<@" not in json.dumps(note)
        assert "4 people waiting" in note["text"]
        assert_escaped(note)

    def test_named_plus_one(self) -> None:
        note = intake_blocks.thread_note(ThreadNoteJob(7, "U0BOB0001", 2, why=HOSTILE), ROLES)
        assert "<@U0BOB0001>" in json.dumps(note)
        assert_escaped(note)

    def test_scaffold_is_a_code_block_within_limits(self) -> None:
        message = intake_blocks.scaffold_message(
            HOSTILE + " x" * 40, date(2026, 3, 1), "U0TRIAGE01"
        )
        assert message_errors(message) == []
        assert_escaped(message)
        code = [t for t in mrkdwn_texts(message["blocks"]) if t.startswith("```")]
        assert code
        assert all(t.endswith("```") and len(t) <= 3000 for t in code)
        yaml_text = "\n".join(t.strip("`\n") for t in code)
        assert "term: R&amp;D &lt;!channel&gt;" in yaml_text
        assert "last_reviewed: 2026-03-01" in yaml_text

    @pytest.mark.parametrize(
        ("notice", "says"),
        [
            ("filed", "passed your request"),
            ("joined", "already asked"),
            ("already_waiting", "already waiting"),
            ("accepted", "accepted"),
            ("declined", "declined"),
            ("published", "has been published"),
        ],
    )
    def test_dm_says_what_happened(self, notice: Any, says: str) -> None:
        job = RequesterDM("U1", notice, 7, HOSTILE, waiting=3, reason=HOSTILE)
        message = intake_blocks.requester_dm(job)
        assert message_errors(message) == []
        assert says in message["text"]
        assert_escaped(message)

    def test_block_kit_helpers_agree(self) -> None:
        view = intake_blocks.decline_modal(request(term=HOSTILE))
        assert view_errors(view) == []
        assert block_kit_errors(view["blocks"], max_blocks=100) == []
        assert_escaped({"text": "", "blocks": view["blocks"]})
