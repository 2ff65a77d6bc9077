"""The playground's stand-in for Slack, over real HTTP: what it sends an app, and how it answers.

The stand-in runs in this process on 127.0.0.1; the "app" here is a small HTTP server that
records each request (headers and raw body) and answers what a test tells it to. Signatures
are checked with slack_sdk's own verifier, so the stand-in's signing is judged independently.
The real bot against the stand-in is covered by test_playground_cli.py and the browser tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.glossary.roles import load_roles
from bot.playground.interactions import to_slack_text
from bot.playground.manifest import AppManifest, load_manifest
from bot.playground.preview import TermPreviewer
from bot.playground.server import Playground
from bot.playground.workspace import (
    ALEX,
    BOT_USER_ID,
    GENERAL_CHANNEL,
    INTAKE_CHANNEL,
    SAM,
    Workspace,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURE_TERMS = REPO / "tests" / "fixtures" / "slack" / "terms"
TOKEN = "xoxb-1-2-standin-test-token"
SECRET = "0123456789abcdef0123456789abcdef"


@dataclass
class Received:
    headers: dict[str, str]
    body: str

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body, keep_blank_values=True).items()}

    @property
    def payload(self) -> dict[str, Any]:
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return dict(json.loads(self.body))
        return dict(json.loads(self.form["payload"]))


@dataclass
class RecordingApp:
    """Stands in for the bot's POST /slack/events: records, and answers as told."""

    received: list[Received] = field(default_factory=list)
    answers: list[web.Response] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.text()))
        self.arrived.set()
        return self.answers.pop(0) if self.answers else web.Response(status=200)

    async def next_request(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        async def enough() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.received


@dataclass
class Standin:
    playground: Playground
    app: RecordingApp
    url: str
    session: aiohttp.ClientSession

    @property
    def workspace(self) -> Workspace:
        return self.playground.workspace

    async def api(self, method: str, token: str | None = TOKEN, **args: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.post(f"{self.url}/api/{method}", json=args, headers=headers) as r:
            return dict(await r.json())

    async def page(self, route: str, **body: Any) -> tuple[int, dict[str, Any]]:
        async with self.session.post(f"{self.url}/play/api/{route}", json=body) as r:
            return r.status, dict(await r.json())


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def standin() -> AsyncIterator[Standin]:
    recording = RecordingApp()
    app = web.Application()
    app.router.add_post("/slack/events", recording.handle)
    app_runner, app_url = await _serve(app)
    playground = Playground(
        bot_token=TOKEN,
        signing_secret=SECRET,
        manifest=load_manifest(),
        previewer=TermPreviewer(FIXTURE_TERMS, load_roles()),
    )
    runner, url = await _serve(playground.web_app())
    playground.set_base_url(url)
    playground.set_app_url(f"{app_url}/slack/events")
    async with aiohttp.ClientSession() as session:
        yield Standin(playground, recording, url, session)
    await runner.cleanup()
    await app_runner.cleanup()


def _verified(received: Received, secret: str = SECRET) -> bool:
    return SignatureVerifier(secret).is_valid(
        body=received.body,
        timestamp=received.headers["X-Slack-Request-Timestamp"],
        signature=received.headers["X-Slack-Signature"],
    )


def _texts(messages: list[Any]) -> list[str]:
    return [m.text for m in messages]


class TestSignedRequests:
    """What the stand-in sends the app is signed and shaped as Slack's requests are."""

    async def test_a_slash_command_is_form_encoded_and_signed_with_the_run_secret(
        self, standin: Standin
    ) -> None:
        await standin.page("send", user=ALEX, channel=GENERAL_CHANNEL, text="/define R&D <x>")
        (request,) = await standin.app.next_request()
        assert _verified(request)
        assert not _verified(request, secret="another-secret-entirely-000000000")
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = request.form
        assert form["command"] == "/define"
        assert form["text"] == "R&amp;D &lt;x&gt;"  # Slack escapes & < > in what people type
        assert form["user_id"] == ALEX
        assert form["channel_id"] == GENERAL_CHANNEL
        assert form["response_url"].startswith(f"{standin.url}/response/")
        assert form["trigger_id"]

    async def test_a_mention_becomes_an_app_mention_event(self, standin: Standin) -> None:
        await standin.page("send", user=SAM, channel=GENERAL_CHANNEL, text="@glossary what is RAG?")
        (request,) = await standin.app.next_request()
        assert _verified(request)
        envelope = request.payload
        assert envelope["type"] == "event_callback"
        assert envelope["event_id"].startswith("Ev")
        event = envelope["event"]
        assert event["type"] == "app_mention"
        assert event["text"] == f"<@{BOT_USER_ID}> what is RAG?"
        assert event["user"] == SAM
        assert "X-Slack-Retry-Num" not in request.headers

    async def test_a_channel_message_without_a_mention_is_not_sent(self, standin: Standin) -> None:
        """The app subscribes to app_mention, not message.channels (as its manifest says)."""
        await standin.page("send", user=ALEX, channel=GENERAL_CHANNEL, text="lunch?")
        await standin.playground.interactions.drain()
        assert standin.app.received == []
        assert _texts(standin.workspace.history(GENERAL_CHANNEL)) == ["lunch?"]

    async def test_a_direct_message_becomes_a_message_im_event(self, standin: Standin) -> None:
        dm = standin.workspace.dm_for(ALEX).id
        await standin.page("send", user=ALEX, channel=dm, text="LLM")
        (request,) = await standin.app.next_request()
        event = request.payload["event"]
        assert (event["type"], event["channel_type"], event["channel"]) == ("message", "im", dm)

    async def test_a_failed_event_is_sent_again_marked_as_a_retry(self, standin: Standin) -> None:
        standin.app.answers.append(web.Response(status=503))
        await standin.page("send", user=ALEX, channel=GENERAL_CHANNEL, text="@glossary RAG")
        first, retry = await standin.app.next_request(2)
        assert retry.headers["X-Slack-Retry-Num"] == "1"
        assert retry.headers["X-Slack-Retry-Reason"] == "http_error"
        assert retry.payload["event_id"] == first.payload["event_id"]
        assert _verified(retry)

    async def test_a_click_on_an_ephemeral_message_carries_no_message(
        self, standin: Standin
    ) -> None:
        """Slack leaves the message out of block_actions from ephemeral messages."""
        answer = {
            "response_type": "ephemeral",
            "text": "RAG",
            "blocks": [
                {
                    "type": "actions",
                    "block_id": "b1",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "share_answer",
                            "text": {"type": "plain_text", "text": "Share"},
                            "value": '{"slug": "rag"}',
                        }
                    ],
                }
            ],
        }
        standin.app.answers.append(web.json_response(answer))
        await standin.page("send", user=ALEX, channel=GENERAL_CHANNEL, text="/define RAG")
        (message,) = standin.workspace.messages[GENERAL_CHANNEL]
        assert message.visible_to == ALEX
        await standin.page(
            "action",
            user=ALEX,
            channel=GENERAL_CHANNEL,
            ts=message.ts,
            block_id="b1",
            action_id="share_answer",
        )
        _, click = await standin.app.next_request(2)
        payload = click.payload
        assert payload["type"] == "block_actions"
        assert payload["container"]["is_ephemeral"] is True
        assert "message" not in payload
        assert payload["actions"][0]["value"] == '{"slug": "rag"}'
        assert payload["actions"][0]["action_id"] == "share_answer"
        assert payload["response_url"].startswith(f"{standin.url}/response/")


class TestSlashCommandAnswers:
    """A slash command's HTTP answer is shown as Slack shows it."""

    async def test_an_ephemeral_answer_is_only_visible_to_the_person(
        self, standin: Standin
    ) -> None:
        standin.app.answers.append(web.json_response({"text": "just for you"}))
        await standin.page("send", user=ALEX, channel=GENERAL_CHANNEL, text="/define RAG")
        alex = standin.workspace.snapshot(ALEX)["messages"][GENERAL_CHANNEL]
        sam = standin.workspace.snapshot(SAM)["messages"][GENERAL_CHANNEL]
        assert [(m["text"], m["ephemeral"]) for m in alex] == [("just for you", True)]
        assert sam == []

    async def test_an_app_that_does_not_answer_in_time_gets_slacks_error(
        self, standin: Standin
    ) -> None:
        standin.app.answers.append(web.Response(status=500))
        await standin.page("send", user=ALEX, channel=GENERAL_CHANNEL, text="/define RAG")
        (notice,) = standin.workspace.messages[GENERAL_CHANNEL]
        assert notice.visible_to == ALEX
        assert "/define failed with the error" in notice.text

    async def test_an_unknown_command_is_not_sent_to_the_app(self, standin: Standin) -> None:
        await standin.page("send", user=ALEX, channel=GENERAL_CHANNEL, text="/weather")
        assert standin.app.received == []
        (notice,) = standin.workspace.messages[GENERAL_CHANNEL]
        assert "/weather is not a valid command" in notice.text


class TestResponseUrl:
    """Posts to a response_url replace, delete or add messages, at most five times."""

    async def _command(self, standin: Standin) -> str:
        standin.app.answers.append(web.json_response({"text": "first answer"}))
        await standin.page("send", user=ALEX, channel=GENERAL_CHANNEL, text="/define RAG")
        (request,) = await standin.app.next_request()
        return request.form["response_url"]

    async def _respond(self, standin: Standin, url: str, **body: Any) -> tuple[int, str]:
        async with standin.session.post(url, json=body) as response:
            return response.status, await response.text()

    async def test_replace_original_rewrites_the_answer_in_place(self, standin: Standin) -> None:
        url = await self._command(standin)
        status, text = await self._respond(
            standin, url, replace_original=True, text="second answer"
        )
        assert (status, text) == (200, "ok")
        (message,) = standin.workspace.messages[GENERAL_CHANNEL]
        assert (message.text, message.visible_to) == ("second answer", ALEX)

    async def test_delete_original_removes_it(self, standin: Standin) -> None:
        url = await self._command(standin)
        assert (await self._respond(standin, url, delete_original=True))[0] == 200
        assert standin.workspace.messages[GENERAL_CHANNEL] == []

    async def test_in_channel_posts_publicly_and_ephemeral_privately(
        self, standin: Standin
    ) -> None:
        url = await self._command(standin)
        await self._respond(standin, url, response_type="in_channel", text="for all")
        await self._respond(standin, url, text="for me")
        seen_by_sam = standin.workspace.snapshot(SAM)["messages"][GENERAL_CHANNEL]
        assert [m["text"] for m in seen_by_sam] == ["for all"]
        seen_by_alex = standin.workspace.snapshot(ALEX)["messages"][GENERAL_CHANNEL]
        assert [m["text"] for m in seen_by_alex] == ["first answer", "for all", "for me"]

    async def test_a_response_url_takes_five_posts(self, standin: Standin) -> None:
        url = await self._command(standin)
        statuses = [(await self._respond(standin, url, text=f"n{i}"))[0] for i in range(6)]
        assert statuses == [200] * 5 + [404]

    async def test_blocks_over_slacks_limits_are_refused(self, standin: Standin) -> None:
        url = await self._command(standin)
        header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
        status, text = await self._respond(standin, url, text="t", blocks=[header])
        assert status == 400
        answer = json.loads(text)
        assert answer["error"] == "invalid_blocks"
        assert "/blocks/0/text/text" in answer["response_metadata"]["messages"][0]


class TestWebApi:
    """The Web API answers as Slack does, for the bot's token only, and records each call."""

    async def test_calls_need_the_bot_token(self, standin: Standin) -> None:
        assert (await standin.api("auth.test", token=None))["error"] == "not_authed"
        assert (await standin.api("auth.test", token="xoxb-wrong"))["error"] == "invalid_auth"
        assert (await standin.api("auth.test"))["user_id"] == BOT_USER_ID

    async def test_post_message_to_a_channel_a_person_or_nowhere(self, standin: Standin) -> None:
        posted = await standin.api("chat.postMessage", channel=INTAKE_CHANNEL, text="new request")
        assert posted["ok"]
        assert posted["channel"] == INTAKE_CHANNEL
        assert _texts(standin.workspace.history(INTAKE_CHANNEL)) == ["new request"]
        dm = await standin.api("chat.postMessage", channel=SAM, text="your term shipped")
        assert dm["channel"] == standin.workspace.dm_for(SAM).id
        missing = await standin.api("chat.postMessage", channel="C0NOSUCH01", text="x")
        assert missing == {"ok": False, "error": "channel_not_found"}
        kinds = [a.kind for a in standin.workspace.activity]
        assert kinds.count("chat.postMessage") == 3

    async def test_invalid_blocks_name_the_field(self, standin: Standin) -> None:
        button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b"}}
        blocks = [{"type": "actions", "elements": [button, dict(button)]}]
        answer = await standin.api("chat.postMessage", channel=GENERAL_CHANNEL, blocks=blocks)
        assert answer["error"] == "invalid_blocks"
        assert any("duplicate action_id a" in m for m in answer["errors"])

    async def test_history_carries_metadata_only_when_asked(self, standin: Standin) -> None:
        metadata = {"event_type": "term_request", "event_payload": {"request_id": 7}}
        await standin.api(
            "chat.postMessage", channel=INTAKE_CHANNEL, text="request", metadata=metadata
        )
        await standin.api("chat.postMessage", channel=GENERAL_CHANNEL, text="elsewhere")
        plain = await standin.api("conversations.history", channel=INTAKE_CHANNEL)
        assert [m.get("metadata") for m in plain["messages"]] == [None]
        full = await standin.api(
            "conversations.history", channel=INTAKE_CHANNEL, include_all_metadata=True
        )
        assert [m["metadata"] for m in full["messages"]] == [metadata]

    async def test_update_changes_the_message_everyone_sees(self, standin: Standin) -> None:
        posted = await standin.api("chat.postMessage", channel=INTAKE_CHANNEL, text="open")
        updated = await standin.api(
            "chat.update", channel=INTAKE_CHANNEL, ts=posted["ts"], text="accepted"
        )
        assert updated["ok"]
        assert _texts(standin.workspace.history(INTAKE_CHANNEL)) == ["accepted"]
        gone = await standin.api("chat.update", channel=INTAKE_CHANNEL, ts="1.000001", text="x")
        assert gone["error"] == "message_not_found"

    async def test_a_trigger_opens_one_modal_within_three_seconds(self, standin: Standin) -> None:
        modal = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Request a term"},
            "blocks": [],
        }
        trigger = standin.workspace.issue_trigger(ALEX)
        opened = await standin.api("views.open", trigger_id=trigger, view=modal)
        assert opened["ok"]
        assert standin.workspace.top_modal(ALEX) is not None
        again = await standin.api("views.open", trigger_id=trigger, view=modal)
        assert again["error"] == "trigger_exchanged"
        late = standin.workspace.issue_trigger(ALEX)
        standin.workspace.triggers[late].issued -= 3.5
        assert (await standin.api("views.open", trigger_id=late, view=modal))["error"] == (
            "expired_trigger_id"
        )

    async def test_an_unknown_method_says_so(self, standin: Standin) -> None:
        assert (await standin.api("files.upload"))["error"] == "unknown_method"
        assert standin.workspace.activity[-1].ok is False


class TestModals:
    """A submitted modal does what the app's answer says: errors, update, or close."""

    MODAL: ClassVar[dict[str, Any]] = {
        "type": "modal",
        "callback_id": "term_request",
        "title": {"type": "plain_text", "text": "Request a term"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "term",
                "label": {"type": "plain_text", "text": "Term"},
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": 50},
            },
            {
                "type": "input",
                "block_id": "urgency",
                "optional": True,
                "label": {"type": "plain_text", "text": "Urgency"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Now"}, "value": "now"},
                        {"text": {"type": "plain_text", "text": "Later"}, "value": "later"},
                    ],
                },
            },
        ],
    }

    async def _open(self, standin: Standin) -> str:
        trigger = standin.workspace.issue_trigger(ALEX)
        opened = await standin.api("views.open", trigger_id=trigger, view=self.MODAL)
        return str(opened["view"]["id"])

    async def test_the_submission_carries_what_was_typed_and_chosen(self, standin: Standin) -> None:
        view_id = await self._open(standin)
        values = {"term": {"value": "quantum widget"}, "urgency": {"value": "later"}}
        status, answer = await standin.page("submit", user=ALEX, view_id=view_id, values=values)
        assert (status, answer["outcome"]) == (200, "closed")
        payload = standin.app.received[-1].payload
        assert payload["type"] == "view_submission"
        state = payload["view"]["state"]["values"]
        assert state["term"]["value"] == {"type": "plain_text_input", "value": "quantum widget"}
        assert state["urgency"]["value"]["selected_option"]["value"] == "later"
        assert standin.workspace.top_modal(ALEX) is None

    async def test_errors_keep_the_modal_open_with_the_message(self, standin: Standin) -> None:
        view_id = await self._open(standin)
        errors = {"response_action": "errors", "errors": {"term": "Write a term."}}
        standin.app.answers.append(web.json_response(errors))
        _, answer = await standin.page(
            "submit", user=ALEX, view_id=view_id, values={"term": {"value": " "}}
        )
        assert answer["outcome"] == "errors"
        modal = standin.workspace.snapshot(ALEX)["modal"]
        assert modal["id"] == view_id
        assert modal["errors"] == {"term": "Write a term."}

    async def test_an_app_that_fails_leaves_the_modal_open_with_a_warning(
        self, standin: Standin
    ) -> None:
        view_id = await self._open(standin)
        standin.app.answers.append(web.Response(status=500))
        await standin.page("submit", user=ALEX, view_id=view_id, values={})
        modal = standin.workspace.snapshot(ALEX)["modal"]
        assert "trouble connecting" in modal["trouble"]


class TestPage:
    """The page's own API: same-origin JSON only; what each person may see."""

    async def test_requests_from_another_origin_are_refused(self, standin: Standin) -> None:
        async with standin.session.post(
            f"{standin.url}/play/api/reset", json={}, headers={"Origin": "https://elsewhere.test"}
        ) as response:
            assert response.status == 403
        async with standin.session.post(f"{standin.url}/play/api/reset", data="user=x") as response:
            assert response.status == 415

    async def test_the_long_poll_answers_when_something_changes(self, standin: Standin) -> None:
        version = standin.workspace.version

        async def poll() -> dict[str, Any]:
            url = f"{standin.url}/play/api/state?user={ALEX}&after={version}"
            async with standin.session.get(url) as response:
                return dict(await response.json())

        waiting = asyncio.ensure_future(poll())
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await standin.api("chat.postMessage", channel=GENERAL_CHANNEL, text="hello")
        snapshot = await asyncio.wait_for(waiting, 5)
        assert snapshot["version"] > version
        assert [m["text"] for m in snapshot["messages"][GENERAL_CHANNEL]] == ["hello"]

    async def test_a_person_sees_only_their_own_direct_message(self, standin: Standin) -> None:
        await standin.api("chat.postMessage", channel=SAM, text="for sam")
        alex_channels = [c["id"] for c in standin.workspace.snapshot(ALEX)["channels"]]
        assert standin.workspace.dm_for(SAM).id not in alex_channels
        status, _ = await standin.page(
            "send", user=ALEX, channel=standin.workspace.dm_for(SAM).id, text="peek"
        )
        assert status == 400


class TestPreview:
    """A term file previewed as the answer for every role, with its problems located."""

    async def test_a_glossary_file_renders_once_per_role(self, standin: Standin) -> None:
        status, answer = await standin.page("preview", slug="retrieval-augmented-generation")
        assert status == 200
        assert answer["problems"] == []
        roles = [a["role"] for a in answer["answers"]]
        assert roles == [None, *[r.name for r in load_roles()]]
        engineer = next(a for a in answer["answers"] if a["role"] == "engineering")
        texts = json.dumps(engineer["message"]["blocks"])
        assert "Role: Software engineer" in texts
        assert all(a["limits"] == [] for a in answer["answers"])

    async def test_pasted_yaml_shows_problems_at_their_line(self, standin: Standin) -> None:
        source = (FIXTURE_TERMS / "hallucination.yml").read_text()
        broken = source.replace("status: ", "status: shiny-", 1)
        _, answer = await standin.page("preview", yaml=broken, filename="hallucination.yml")
        line = next(n for n, text in enumerate(broken.splitlines(), 1) if "shiny-" in text)
        wheres = [p["where"] for p in answer["problems"]]
        assert any(where.startswith(f"hallucination.yml:{line}:") for where in wheres), wheres
        assert answer["answers"] == []

    async def test_nothing_pasted_is_a_kind_error(self, standin: Standin) -> None:
        status, answer = await standin.page("preview", yaml="   ")
        assert status == 400
        assert "paste" in answer["error"]


class TestTypedText:
    """Typed text reaches the app as Slack would send it."""

    @pytest.mark.parametrize(
        ("typed", "sent"),
        [
            ("@glossary what is RAG?", f"<@{BOT_USER_ID}> what is RAG?"),
            ("ask @sam in #general", f"ask <@{SAM}> in <#{GENERAL_CHANNEL}|general>"),
            ("a <b> & c", "a &lt;b&gt; &amp; c"),
            ("see https://example.com/a?b=1&c=2.", "see <https://example.com/a?b=1&amp;c=2>."),
            ("@nobody and @here", "@nobody and <!here>"),
        ],
    )
    def test_markup(self, typed: str, sent: str) -> None:
        assert to_slack_text(typed, Workspace()) == sent


def test_the_manifest_describes_the_app_as_slack_sees_it() -> None:
    manifest = load_manifest()
    assert manifest.command("/define") is not None
    assert "app_mention" in manifest.bot_events
    assert "message.channels" not in manifest.bot_events
    callbacks = {s.callback_id for s in manifest.shortcuts}
    assert {"define_terms_in_message", "request_definition"} <= callbacks
    assert load_manifest(REPO / "no-such-manifest.yml") == AppManifest()
