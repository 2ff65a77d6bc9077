"""End to end: term requests through the running bot, as people in Slack see them.

One `python -m bot serve` (a subprocess) with an intake channel, a triager, a low hourly limit
and its own copy of the test glossary; signed requests as Slack sends them; the fake Web API
over HTTP records what the bot posts. Each test uses its own terms and people, because the
bot's database lives for the whole module.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_fake import Call, FakeSlack, message_errors, texts_in, view_errors
from slack_harness import FIXTURE_TERMS, BotProcess, find_action, header_of, message_texts
from slack_signing import (
    Reply,
    SlackSender,
    block_actions_payload,
    message_action_payload,
    view_submission_payload,
)

INTAKE = "C0INTAKE01"
TRIAGER = "U0TRIAGE01"
PER_HOUR = 3
WAIT = 10.0
HOSTILE = "R&D <!channel> <https://evil.example|click here> <@U0VICTIM1> <!here>"
RAW_MARKUP = re.compile(r"<!|<https?://evil|<@U0VICTIM1")
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeSlack) -> FakeSlack:
    fake_server.reset()
    return fake_server


@pytest.fixture(scope="module")
def terms_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("terms")
    for path in FIXTURE_TERMS.glob("*.yml"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def bot_process(
    fake_server: FakeSlack, terms_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    env = {
        "GLOSSARY_INTAKE_CHANNEL": INTAKE,
        "GLOSSARY_TRIAGERS": TRIAGER,
        "GLOSSARY_REQUESTS_PER_HOUR": str(PER_HOUR),
        "GLOSSARY_OUTBOX_LEASE_SECONDS": "4",
        "GLOSSARY_WATCH": "false",  # reloads come from SIGHUP only, so tests control them
    }
    process = BotProcess(fake_server, tmp_path_factory.mktemp("bot"), terms_dir=terms_dir, env=env)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def bot(bot_process: BotProcess, fake: FakeSlack) -> BotProcess:
    return bot_process


@pytest.fixture
def slack(bot: BotProcess) -> SlackSender:
    return bot.sender()


# --- how a person uses the form ---------------------------------------------------------------


def fields(
    term: str,
    *,
    where: str = "",
    why: str = "",
    roles: tuple[str, ...] = (),
    urgency: str | None = None,
    links: str = "",
    anonymous: bool = False,
) -> dict[str, Any]:
    """The form's `state.values`, as Slack sends them on submit."""
    values: dict[str, Any] = {
        "term": {"value": {"type": "plain_text_input", "value": term}},
        "where_seen": {"value": {"type": "plain_text_input", "value": where or None}},
        "why": {"value": {"type": "plain_text_input", "value": why or None}},
        "links": {"value": {"type": "plain_text_input", "value": links or None}},
        "roles": {
            "value": {
                "type": "multi_static_select",
                "selected_options": [{"value": r} for r in roles],
            }
        },
        "urgency": {
            "value": {
                "type": "static_select",
                "selected_option": {"value": urgency} if urgency else None,
            }
        },
        "anonymous": {
            "value": {
                "type": "checkboxes",
                "selected_options": [{"value": "anonymous"}] if anonymous else [],
            }
        },
    }
    return values


def opened_form(fake: FakeSlack) -> dict[str, Any]:
    (call,) = fake.wait_for("views.open", timeout=WAIT)
    view = call.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert call.ok, call.response
    return dict(view)


def submit(
    slack: SlackSender,
    user: str,
    term: str,
    *,
    view: dict[str, Any] | None = None,
    **kw: Any,
) -> Reply:
    form = view or {"type": "modal", "callback_id": "term_request", "private_metadata": "{}"}
    reply = slack.interactive(view_submission_payload(form, fields(term, **kw), user_id=user))
    assert reply.status == 200, reply.body
    return reply


# --- what people see ----------------------------------------------------------------------------


def askers(term: str) -> tuple[str, str]:
    """Two people of the term's own, so one test's requests never count against another's
    hourly limit."""
    letters = "".join(c for c in term.upper() if c.isalnum())[:8]
    return f"U0{letters}A", f"U0{letters}B"


def dm_channel(user: str) -> str:
    return "D" + user.lstrip("U")  # what the fake's conversations.open answers


def posts_about(fake: FakeSlack, term: str) -> list[dict[str, Any]]:
    """Top-level intake posts whose title names `term`."""
    return [m for m in fake.messages_in(INTAKE) if term.lower() in str(m.get("text")).lower()]


def wait_post(fake: FakeSlack, term: str) -> dict[str, Any]:
    fake.wait_for(lambda _: bool(posts_about(fake, term)), timeout=WAIT)
    fake.quiet(0.3)
    (post,) = posts_about(fake, term)
    return post


def wait_dms(fake: FakeSlack, user: str, count: int = 1) -> list[dict[str, Any]]:
    fake.wait_for(lambda _: len(fake.messages_in(dm_channel(user))) >= count, timeout=WAIT)
    return fake.messages_in(dm_channel(user))


def text_of(message: dict[str, Any]) -> str:
    return message_texts(message)


def current(fake: FakeSlack, post: dict[str, Any]) -> dict[str, Any]:
    """The post as it reads now (after any chat.update)."""
    (now,) = [m for m in fake.messages_in(INTAKE) if m["ts"] == post["ts"]]
    return now


def click(
    slack: SlackSender, fake: FakeSlack, post: dict[str, Any], action_id: str, user: str
) -> Reply:
    button = find_action(post, action_id)
    payload = block_actions_payload(
        {**button, "block_id": "triage"},
        message=post,
        container={
            "type": "message",
            "channel_id": INTAKE,
            "message_ts": post["ts"],
            "is_ephemeral": False,
        },
        response_url=fake.response_url(f"click-{action_id}"),
        user_id=user,
        channel_id=INTAKE,
    )
    reply = slack.interactive(payload)
    assert reply.status == 200
    return reply


def public_calls(fake: FakeSlack) -> list[Call]:
    """Everything the bot said where others can read it: the intake channel and threads."""
    return [
        c
        for c in fake.all_calls()
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == INTAKE
    ]


def all_messages_valid(fake: FakeSlack) -> None:
    for call in fake.all_calls():
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            assert message_errors(call.args) == [], call
        if call.method == "views.open":
            assert view_errors(call.args["view"]) == [], call


# --- the tests ------------------------------------------------------------------------------------


class TestSubmit:
    """A submitted request is posted once, with every field, and its requester told."""

    def test_form_post_and_dm(self, slack: SlackSender, fake: FakeSlack) -> None:
        user = "U0ALICE001"
        reply = slack.command(
            "request prompt caching", response_url=fake.response_url("rq"), user_id=user
        )
        assert reply.status == 200
        view = opened_form(fake)
        blocks = {b.get("block_id") for b in view["blocks"]}
        assert {"term", "where_seen", "why", "roles", "urgency", "links", "anonymous"} <= blocks
        assert "prompt caching" in json.dumps(view)
        view["private_metadata"] = json.dumps(
            {"kind": "new", "slug": None, "source": "https://acme.slack.com/archives/C1/p17"}
        )
        answer = submit(
            slack,
            user,
            "prompt caching",
            view=view,
            where="the architecture review",
            why="we pay for the same tokens twice",
            roles=("product", "engineering"),
            urgency="this_quarter",
            links="https://example.com/caching",
        )
        assert answer.body in ("", "{}")  # the form closes
        post = wait_post(fake, "prompt caching")
        text = text_of(post)
        for expected in (
            "Term request: prompt caching",
            f"<@{user}>",
            "Open",
            "1 person",
            "the architecture review",
            "we pay for the same tokens twice",
            "Product manager",
            "This quarter",
            "<https://example.com/caching|https://example.com/caching>",
            "<https://acme.slack.com/archives/C1/p17|",
        ):
            assert expected in text, expected
        assert post["metadata"]["event_type"] == "glossary_term_request"
        (dm,) = wait_dms(fake, user)
        assert "prompt caching" in dm["text"]
        assert "I'll message you" in dm["text"]
        assert len(posts_about(fake, "prompt caching")) == 1
        all_messages_valid(fake)

    def test_form_checks_inline_and_keeps_the_form(
        self, slack: SlackSender, fake: FakeSlack
    ) -> None:
        reply = submit(slack, "U0TYPO0001", "   ", links="ftp://files.example/x")
        body = reply.json()
        assert body["response_action"] == "errors"
        assert set(body["errors"]) == {"term", "links"}
        assert "http" in body["errors"]["links"]
        fake.quiet(0.5)
        assert fake.messages_in(INTAKE) == []

    def test_existing_term_is_shown_instead(self, slack: SlackSender, fake: FakeSlack) -> None:
        reply = slack.command(
            "request RAG", response_url=fake.response_url("x"), user_id="U0EXIST01"
        )
        answer = reply.json()
        assert header_of(answer) == "retrieval-augmented generation"
        assert "already in the glossary" in text_of(answer)
        shown = submit(slack, "U0EXIST01", "retrieval augmented generation").json()
        assert shown["response_action"] == "update"
        assert "retrieval-augmented generation" in json.dumps(shown["view"])
        assert view_errors(shown["view"]) == []
        fake.quiet(0.5)
        assert fake.messages_in(INTAKE) == []

    def test_clarification_of_an_existing_term(self, slack: SlackSender, fake: FakeSlack) -> None:
        answer = slack.command("LLM", response_url=fake.response_url("a"), user_id="U0CLARIFY1")
        button = find_action(answer.json(), "suggest_clarification")
        slack.interactive(
            block_actions_payload(button, response_url=fake.response_url("c"), user_id="U0CLARIFY1")
        )
        view = opened_form(fake)
        assert view["title"]["text"] == "Suggest a clarification"
        reply = submit(
            slack, "U0CLARIFY1", "large language model", view=view, why="context window?"
        )
        assert reply.body in ("", "{}")  # filed, not "already in the glossary"
        post = wait_post(fake, "large language model")
        text = text_of(post)
        assert "Clarification: large language model" in text
        assert "large-language-model" in text  # the term it is about
        assert "context window?" in text

    def test_shortcut_carries_the_message_link(self, slack: SlackSender, fake: FakeSlack) -> None:
        message = {
            "type": "message",
            "user": "U0OTHER01",
            "ts": "1700000800.000800",
            "text": "MoE?",
        }
        payload = message_action_payload(
            "request_definition", message, response_url=fake.response_url("sc"), user_id="U0SHORT01"
        )
        slack.interactive(payload)
        view = opened_form(fake)
        submit(slack, "U0SHORT01", "mixture of experts", view=view)
        post = wait_post(fake, "mixture of experts")
        assert "p1700000800000800" in json.dumps(post["blocks"])


class TestAnonymous:
    """Asking anonymously: nothing public names the person; they still hear privately."""

    def test_nobody_is_named_in_public(self, slack: SlackSender, fake: FakeSlack) -> None:
        shy, shyer = "U0SHY00001", "U0SHY00002"
        submit(slack, shy, "data poisoning", why="for the audit", anonymous=True)
        post = wait_post(fake, "data poisoning")
        submit(slack, shyer, "Data-Poisoning", where="a vendor pitch", anonymous=True)
        fake.wait_for(lambda _: bool(fake.messages_in(INTAKE, thread_ts=post["ts"])), timeout=WAIT)
        fake.quiet(0.5)
        public = json.dumps([c.args for c in public_calls(fake)])
        assert "a vendor pitch" in public  # the context is shared...
        assert shy not in public  # ...but nobody's name
        assert shyer not in public
        assert "Anonymous" in text_of(current(fake, post))
        assert wait_dms(fake, shy)
        assert wait_dms(fake, shyer)


class TestOncePerTerm:
    """A second request for the same term posts nothing new; it joins and is told the count."""

    def test_second_request_joins(self, slack: SlackSender, fake: FakeSlack) -> None:
        submit(slack, "U0FIRST001", "KV-cache")
        post = wait_post(fake, "KV-cache")
        submit(slack, "U0SECOND01", "kv cache", why="the latency numbers mention it")
        wait_dms(fake, "U0SECOND01")
        fake.wait_for(lambda _: "2 people" in text_of(current(fake, post)), timeout=WAIT)
        assert len(fake.messages_in(INTAKE)) == 1  # no second post
        (note,) = fake.messages_in(INTAKE, thread_ts=post["ts"])
        assert "<@U0SECOND01>" in text_of(note)
        assert "the latency numbers mention it" in text_of(note)
        (dm,) = wait_dms(fake, "U0SECOND01")
        assert "already asked" in dm["text"]
        assert "2 people waiting" in dm["text"]


class TestTriage:
    """Accept, decline (with a reason) and published; only triagers; everyone is told."""

    def file_with_two(self, slack: SlackSender, fake: FakeSlack, term: str) -> dict[str, Any]:
        """A request two people wait on (askers(term); the second asked anonymously)."""
        first, second = askers(term)
        submit(slack, first, term)
        post = wait_post(fake, term)
        submit(slack, second, term, anonymous=True)
        fake.wait_for(lambda _: "2 people" in text_of(current(fake, post)), timeout=WAIT)
        return current(fake, post)

    def test_non_triager_is_told_privately(self, slack: SlackSender, fake: FakeSlack) -> None:
        post = self.file_with_two(slack, fake, "model collapse")
        updates = len(fake.calls_to("chat.update"))
        click(slack, fake, post, "intake_accept", "U0RANDOM01")
        (refusal,) = fake.wait_for("chat.postEphemeral", timeout=WAIT)
        assert refusal.args["user"] == "U0RANDOM01"
        assert "Only the glossary triagers" in refusal.visible_text()
        fake.quiet(0.5)
        assert len(fake.calls_to("chat.update")) == updates
        assert "Open" in text_of(current(fake, post))

    def test_accept_posts_the_scaffold_and_tells_everyone(
        self, slack: SlackSender, fake: FakeSlack
    ) -> None:
        post = self.file_with_two(slack, fake, "prompt injection")
        click(slack, fake, post, "intake_accept", TRIAGER)
        fake.wait_for(lambda _: "Accepted by" in text_of(current(fake, post)), timeout=WAIT)
        assert "intake_accept" not in json.dumps(current(fake, post)["blocks"])
        fake.wait_for(
            lambda _: any(
                "```" in text_of(m) for m in fake.messages_in(INTAKE, thread_ts=post["ts"])
            ),
            timeout=WAIT,
        )
        (scaffold,) = [
            m for m in fake.messages_in(INTAKE, thread_ts=post["ts"]) if "```" in text_of(m)
        ]
        assert "terms/prompt-injection.yml" in text_of(scaffold)
        assert "term: prompt injection" in text_of(scaffold)
        for user in askers("prompt injection"):
            fake.wait_for(
                lambda _, u=user: any("accepted" in m["text"] for m in wait_dms(fake, u)),
                timeout=WAIT,
            )
        all_messages_valid(fake)

    def test_decline_asks_for_a_reason(self, slack: SlackSender, fake: FakeSlack) -> None:
        post = self.file_with_two(slack, fake, "vibe coding")
        click(slack, fake, post, "intake_decline", TRIAGER)
        view = opened_form(fake)
        assert view["callback_id"] == "term_request_decline"
        empty = slack.interactive(
            view_submission_payload(
                view,
                {"reason": {"value": {"type": "plain_text_input", "value": " "}}},
                user_id=TRIAGER,
            )
        ).json()
        assert empty["response_action"] == "errors"
        reason = "A team nickname, not a concept: see the engineering wiki"
        done = slack.interactive(
            view_submission_payload(
                view,
                {"reason": {"value": {"type": "plain_text_input", "value": reason}}},
                user_id=TRIAGER,
            )
        )
        assert done.body in ("", "{}")
        fake.wait_for(lambda _: "Declined by" in text_of(current(fake, post)), timeout=WAIT)
        assert reason in text_of(current(fake, post))
        for user in askers("vibe coding"):
            fake.wait_for(
                lambda _, u=user: any(reason in text_of(m) for m in wait_dms(fake, u)),
                timeout=WAIT,
            )

    def test_published_tells_everyone(self, slack: SlackSender, fake: FakeSlack) -> None:
        post = self.file_with_two(slack, fake, "agentic workflow")
        click(slack, fake, post, "intake_published", TRIAGER)
        fake.wait_for(lambda _: "Published by" in text_of(current(fake, post)), timeout=WAIT)
        for user in askers("agentic workflow"):
            fake.wait_for(
                lambda _, u=user: any("published" in m["text"] for m in wait_dms(fake, u)),
                timeout=WAIT,
            )
        # a click on a stale copy of the post changes nothing and says so privately
        click(slack, fake, post, "intake_accept", TRIAGER)
        (notice,) = fake.wait_for("chat.postEphemeral", timeout=WAIT)
        assert "already published" in notice.visible_text()


class TestClosingTheLoop:
    """When a reload brings the term, the request is published and everyone gets it by DM."""

    def test_reload_publishes_and_sends_the_definition(
        self, slack: SlackSender, fake: FakeSlack, bot: BotProcess, terms_dir: Path
    ) -> None:
        submit(slack, "U0WAITER01", "guardrails", why="legal keeps saying it")
        post = wait_post(fake, "guardrails")
        source = (terms_dir / "vector-database.yml").read_text()
        shipped = source.replace("term: vector database", "term: guardrails", 1)
        shipped = shipped.replace("- vector store", "- safety rails", 1)
        shipped = re.sub(
            r"short_def: .*?\n(?=long_def)",
            "short_def: Checks around a model that stop unsafe input and output.\n",
            shipped,
            flags=re.S,
        )
        (terms_dir / "guardrails.yml").write_text(shipped)
        assert bot.process is not None
        bot.process.send_signal(signal.SIGHUP)
        fake.wait_for(
            lambda _: any(
                "Checks around a model" in text_of(m)
                for m in fake.messages_in(dm_channel("U0WAITER01"))
            ),
            timeout=WAIT,
        )
        fake.wait_for(lambda _: "Published" in text_of(current(fake, post)), timeout=WAIT)
        all_messages_valid(fake)

    def test_published_before_the_term_ships(
        self, slack: SlackSender, fake: FakeSlack, bot: BotProcess, terms_dir: Path
    ) -> None:
        """A triager marks it published before the glossary has it: the requester is told it
        comes with the next reload; that reload sends the definition, once."""
        user = "U0EARLY001"
        submit(slack, user, "speculative decoding")
        post = wait_post(fake, "speculative decoding")
        wait_dms(fake, user)  # "filed"
        click(slack, fake, post, "intake_published", TRIAGER)
        fake.wait_for(lambda _: "Published by" in text_of(current(fake, post)), timeout=WAIT)
        soon = wait_dms(fake, user, 2)[-1]
        assert "as soon as the glossary reloads" in text_of(soon)
        assert "now in the glossary" not in text_of(soon)

        source = (terms_dir / "vector-database.yml").read_text()
        shipped = source.replace("term: vector database", "term: speculative decoding", 1)
        shipped = shipped.replace("- vector store", "- draft-model decoding", 1)
        shipped = re.sub(
            r"short_def: .*?\n(?=long_def)",
            "short_def: A small model drafts tokens that the large model then checks.\n",
            shipped,
            flags=re.S,
        )
        (terms_dir / "speculative-decoding.yml").write_text(shipped)
        self.reload(bot)
        fake.wait_for(lambda _: len(fake.messages_in(dm_channel(user))) >= 3, timeout=WAIT)
        definition = fake.messages_in(dm_channel(user))[-1]
        assert "“speculative decoding” is now in the glossary" in text_of(definition)
        assert "A small model drafts tokens" in text_of(definition)

        self.reload(bot)  # another reload: nothing new for anyone
        fake.quiet(1.0)
        assert len(fake.messages_in(dm_channel(user))) == 3
        all_messages_valid(fake)

    @staticmethod
    def reload(bot: BotProcess) -> None:
        """SIGHUP, and wait until the bot says it reloaded (its hooks then run at once)."""
        before = bot.healthz()[1]["reload"]["at"]
        assert bot.process is not None
        bot.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + WAIT
        while bot.healthz()[1]["reload"]["at"] == before:
            assert time.monotonic() < deadline, "the bot did not reload"
            time.sleep(0.05)


class TestLimitsAndLists:
    """The hourly limit, my requests, and the triagers' stats."""

    def test_hourly_limit_is_kind(self, slack: SlackSender, fake: FakeSlack) -> None:
        user = "U0EAGER001"
        for n in range(PER_HOUR):
            assert submit(slack, user, f"eager term {n}").body in ("", "{}")
        limited = submit(slack, user, "one more term").json()
        assert limited["response_action"] == "errors"
        assert "in the last hour" in limited["errors"]["term"]
        reply = slack.command(
            "request yet another", response_url=fake.response_url("l"), user_id=user
        )
        assert "in the last hour" in text_of(reply.json())
        assert not fake.calls_to("views.open")

    def test_my_requests_and_stats(self, slack: SlackSender, fake: FakeSlack) -> None:
        user = "U0LISTER01"
        submit(slack, user, "context window")
        submit(slack, user, "tool calling")
        post = wait_post(fake, "tool calling")
        mine = slack.command("requests", response_url=fake.response_url("m"), user_id=user).json()
        assert "context window: Open" in text_of(mine)
        assert "tool calling: Open" in text_of(mine)
        # More people wait on these two than on any request of the other tests (the bot and
        # its database serve the whole module), so they head the list.
        for joiner in ("U0LISTER02", "U0LISTER03", "U0LISTER04"):
            submit(slack, joiner, "Context windows")
        for joiner in ("U0LISTER02", "U0LISTER03"):
            submit(slack, joiner, "tool-calling")
        fake.wait_for(lambda _: "3 people" in text_of(current(fake, post)), timeout=WAIT)
        click(slack, fake, post, "intake_accept", TRIAGER)
        fake.wait_for(lambda _: "Accepted by" in text_of(current(fake, post)), timeout=WAIT)
        slack.command("quantum annealing", response_url=fake.response_url("miss"), user_id=user)
        refused = slack.command("stats", response_url=fake.response_url("s"), user_id=user).json()
        assert "Only the glossary triagers" in text_of(refused)
        stats = slack.command("stats", response_url=fake.response_url("s"), user_id=TRIAGER)
        requested = section_lines(stats.json(), "Most requested (open and accepted)")
        # each row: rank, the term as first asked for, its status, how many people wait
        assert requested[:2] == ["1. context window (open): 4", "2. tool calling (accepted): 3"]
        missed = section_lines(stats.json(), "Most frequent look-ups that found nothing")
        assert any(re.fullmatch(r"\d+\. quantum annealing: 1", row) for row in missed), missed


class TestEscaping:
    """Odd and hostile text is escaped in every call the bot makes."""

    def test_hostile_request(self, slack: SlackSender, fake: FakeSlack) -> None:
        submit(
            slack,
            "U0HOSTILE1",
            HOSTILE,
            where=HOSTILE,
            why=HOSTILE,
            links="https://example.com/a?b=1&c=2",
        )
        post = wait_post(fake, "R&amp;D")
        submit(slack, "U0HOSTILE2", HOSTILE, why=HOSTILE)
        click(slack, fake, post, "intake_accept", TRIAGER)
        fake.wait_for(
            lambda _: len(fake.messages_in(INTAKE, thread_ts=post["ts"])) >= 2, timeout=WAIT
        )
        fake.quiet(0.5)
        checked = 0
        for call in fake.all_calls():
            if call.method not in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
                continue
            for text in [call.text, *mrkdwn_texts(call.blocks)]:
                assert not RAW_MARKUP.search(text), (call.method, text)
                assert not BARE_AMPERSAND.search(text), (call.method, text)
                checked += 1
            for text in texts_in(call.blocks):
                assert "<!channel>" not in text
                assert "<!here>" not in text
        assert checked > 10
        assert "R&amp;D &lt;!channel&gt;" in text_of(post)
        all_messages_valid(fake)


def section_lines(message: dict[str, Any], title: str) -> list[str]:
    """The lines under a section's bold title (`*title*`), as the reader sees them."""
    for block in message.get("blocks") or []:
        text = (block.get("text") or {}).get("text", "")
        heading, _, body = text.partition("\n")
        if heading.strip("*").startswith(title):
            return body.splitlines()
    raise AssertionError(f"no section {title!r} in {message}")


def mrkdwn_texts(node: Any) -> list[str]:
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
