"""End to end: buttons, pickers, shortcuts, the request form and App Home, through the bot."""

from __future__ import annotations

import json

from slack_fake import BOT_USER_ID, FakeSlack
from slack_harness import action_elements, block_id_of, find_action, header_of, message_texts
from slack_signing import (
    CHANNEL_ID,
    SlackSender,
    block_actions_payload,
    mention_event,
    message_action_payload,
    static_select,
    view_submission_payload,
)

pytest_plugins = ["slack_fixtures"]

RAG_EXEC = "Lets an assistant answer from our own documents"
RAG_ENGINEER = "Build a retriever over your corpus"


def _private_answer(slack: SlackSender, fake: FakeSlack, text: str, user_id: str) -> dict:
    reply = slack.command(text, response_url=fake.response_url("cmd"), user_id=user_id)
    assert reply.status == 200
    return reply.json()


def _click(
    slack: SlackSender,
    fake: FakeSlack,
    element: dict,
    *,
    name: str,
    user_id: str = "U0000ALICE",
    block_id: str = "b1",
    message: dict | None = None,
    public_ts: str | None = None,
    selected: str | None = None,
) -> None:
    """Click `element` on a private answer, or on a public message posted at `public_ts`."""
    if selected is not None:
        action = static_select(element["action_id"], selected, block_id=block_id)
    else:
        action = {**element, "block_id": block_id}
    if public_ts is None:
        container = {"type": "message", "channel_id": CHANNEL_ID, "is_ephemeral": True}
    else:
        container = {
            "type": "message",
            "channel_id": CHANNEL_ID,
            "message_ts": public_ts,
            "is_ephemeral": False,
        }
    payload = block_actions_payload(
        action,
        container=container,
        message=message,
        response_url=fake.response_url(name),
        user_id=user_id,
    )
    assert slack.interactive(payload).status == 200


class TestShare:
    """Share posts the answer publicly with who shared it, then removes the private copy."""

    def test_share_posts_in_channel_with_shared_by(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _private_answer(slack, fake_slack, "RAG --role engineering", "U0SHARER01")
        _click(
            slack,
            fake_slack,
            find_action(answer, "share_answer"),
            name="share",
            user_id="U0SHARER01",
        )
        (post,) = fake_slack.wait_for("chat.postMessage")
        assert post.args["channel"] == CHANNEL_ID
        assert not post.args.get("thread_ts")  # a slash command answer goes to the channel
        text = message_texts(post.args)
        assert "Shared by <@U0SHARER01>" in text
        assert RAG_ENGINEER in text  # the role the sharer was reading
        assert "Share in channel" not in text
        fake_slack.wait_for(lambda calls: bool(fake_slack.responses("share")))
        (deleted,) = fake_slack.responses("share")
        assert deleted.args.get("delete_original") in (True, "true")

    def test_share_from_a_thread_answer_posts_in_that_thread(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        share = {
            "type": "button",
            "action_id": "share_answer",
            "value": json.dumps(
                {"slug": "hallucination", "role": None, "thread_ts": "1700000300.000300"}
            ),
            "text": {"type": "plain_text", "text": "Share in channel"},
        }
        _click(slack, fake_slack, share, name="share-thread")
        (post,) = fake_slack.wait_for("chat.postMessage")
        assert post.args["thread_ts"] == "1700000300.000300"

    def test_share_where_the_bot_is_not_a_member_says_so_privately(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _private_answer(slack, fake_slack, "RAG", "U0SHARER02")
        fake_slack.fail("chat.postMessage", error="not_in_channel")
        _click(slack, fake_slack, find_action(answer, "share_answer"), name="share-denied")
        fake_slack.wait_for(lambda calls: bool(fake_slack.responses("share-denied")))
        (response,) = fake_slack.responses("share-denied")
        assert "/invite" in message_texts(response.args)
        assert response.args.get("replace_original") in (False, "false")


class TestErrors:
    """A failure after the click is logged; the person gets a plain apology, no internals."""

    def test_unexpected_slack_error_on_share(
        self, bot, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _private_answer(slack, fake_slack, "RAG", "U0ERROR001")
        fake_slack.fail("chat.postMessage", error="fatal_error")
        _click(slack, fake_slack, find_action(answer, "share_answer"), name="oops")
        fake_slack.wait_for(lambda calls: bool(fake_slack.responses("oops")))
        (response,) = fake_slack.responses("oops")
        text = message_texts(response.args)
        assert "something went wrong" in text
        assert "fatal_error" not in text
        assert "Traceback" not in text
        fake_slack.quiet(0.2)
        assert "fatal_error" in bot.stderr()  # the operator sees what happened
        assert "Traceback" in bot.stderr()


class TestRolePicker:
    """The picker re-renders a private answer in place, and answers privately on public ones."""

    def test_picker_rerenders_the_private_answer_in_place(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _private_answer(slack, fake_slack, "RAG", "U0PICKER01")
        picker = find_action(answer, "pick_role")
        _click(
            slack,
            fake_slack,
            picker,
            name="pick",
            user_id="U0PICKER01",
            block_id=block_id_of(answer, "pick_role"),
            selected="engineering",
        )
        fake_slack.wait_for(lambda calls: bool(fake_slack.responses("pick")))
        (response,) = fake_slack.responses("pick")
        assert response.args["replace_original"] in (True, "true")
        assert response.args.get("response_type") == "ephemeral"
        text = message_texts(response.args)
        assert header_of(response.args) == "retrieval-augmented generation"
        assert RAG_ENGINEER in text
        assert RAG_EXEC not in text
        assert fake_slack.calls_to("chat.postMessage") == []  # nothing public

    def test_no_role_choice_shows_both_framings(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _private_answer(slack, fake_slack, "RAG -r legal", "U0PICKER02")
        _click(
            slack,
            fake_slack,
            find_action(answer, "pick_role"),
            name="pick-none",
            block_id=block_id_of(answer, "pick_role"),
            selected="none",
        )
        fake_slack.wait_for(lambda calls: bool(fake_slack.responses("pick-none")))
        text = message_texts(fake_slack.responses("pick-none")[0].args)
        assert RAG_EXEC in text
        assert RAG_ENGINEER in text

    def test_picker_on_a_public_answer_answers_the_clicker_privately(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        slack.event(mention_event(f"<@{BOT_USER_ID}> RAG", ts="1700000400.000400"))
        (post,) = fake_slack.wait_for("chat.postMessage")
        public_message = {
            **post.response["message"],
            "blocks": post.args["blocks"],
        }
        _click(
            slack,
            fake_slack,
            find_action(post.args, "pick_role"),
            name="pick-public",
            user_id="U0CLICKER1",
            block_id=block_id_of(post.args, "pick_role"),
            selected="product",
            message=public_message,
            public_ts=post.response["ts"],
        )
        (ephemeral,) = fake_slack.wait_for("chat.postEphemeral")
        assert ephemeral.args["user"] == "U0CLICKER1"
        assert ephemeral.args["thread_ts"] == "1700000400.000400"
        assert RAG_EXEC in message_texts(ephemeral.args)
        assert fake_slack.responses("pick-public") == []  # the public message was not replaced
        assert fake_slack.calls_to("chat.update") == []

    def test_the_private_copy_of_a_thread_answer_shares_back_into_that_thread(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        """Mention in a thread -> public answer -> role picker -> private copy -> Share: the
        shared answer lands in the same thread, framed for the clicker's role."""
        slack.event(
            mention_event(
                f"<@{BOT_USER_ID}> hallucination",
                ts="1700000500.000600",
                thread_ts="1700000500.000500",
            )
        )
        (post,) = fake_slack.wait_for("chat.postMessage")
        assert post.args["thread_ts"] == "1700000500.000500"
        _click(
            slack,
            fake_slack,
            find_action(post.args, "pick_role"),
            name="pick-chain",
            user_id="U0CHAIN001",
            block_id=block_id_of(post.args, "pick_role"),
            selected="legal",
            message={**post.response["message"], "blocks": post.args["blocks"]},
            public_ts=post.response["ts"],
        )
        (private,) = fake_slack.wait_for("chat.postEphemeral")
        fake_slack.reset()
        _click(
            slack,
            fake_slack,
            find_action(private.args, "share_answer"),
            name="share-chain",
            user_id="U0CHAIN001",
        )
        (shared,) = fake_slack.wait_for("chat.postMessage")
        assert shared.args["thread_ts"] == "1700000500.000500"
        text = message_texts(shared.args)
        assert "Shared by <@U0CHAIN001>" in text
        assert "Legal counsel" in text

    def test_related_term_on_a_public_answer_answers_the_clicker_privately(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        slack.event(mention_event(f"<@{BOT_USER_ID}> RAG", ts="1700000700.000700"))
        (post,) = fake_slack.wait_for("chat.postMessage")
        (related,) = [
            e
            for e in action_elements(post.args)
            if e["action_id"].startswith("show_term")
            and json.loads(e["value"])["slug"] == "vector-database"
        ]
        _click(
            slack,
            fake_slack,
            related,
            name="related-public",
            user_id="U0CLICKER3",
            message={**post.response["message"], "blocks": post.args["blocks"]},
            public_ts=post.response["ts"],
        )
        (private,) = fake_slack.wait_for("chat.postEphemeral")
        assert private.args["user"] == "U0CLICKER3"
        assert private.args["thread_ts"] == "1700000700.000700"
        assert header_of(private.args) == "vector database"
        assert fake_slack.calls_to("chat.update") == []  # the public answer stays as it was
        assert fake_slack.responses("related-public") == []


class TestTermButtons:
    """Related-term and suggestion buttons answer in place; "show more" adds the full text."""

    def test_related_term_button_answers_in_place(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _private_answer(slack, fake_slack, "RAG --role legal", "U0RELATED1")
        (related,) = [
            e
            for e in action_elements(answer)
            if e["action_id"].startswith("show_term")
            and json.loads(e["value"])["slug"] == "vector-database"
        ]
        _click(slack, fake_slack, related, name="related", user_id="U0RELATED1")
        fake_slack.wait_for(lambda calls: bool(fake_slack.responses("related")))
        (response,) = fake_slack.responses("related")
        assert response.args["replace_original"] in (True, "true")
        assert header_of(response.args) == "vector database"
        assert "Legal counsel" in message_texts(response.args)  # the reader's role carries over

    def test_suggestion_button_opens_the_suggested_term(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _private_answer(slack, fake_slack, "vector datastore", "U0SUGGEST1")
        assert header_of(answer) == ""  # not an answer: suggestions
        button = find_action(answer, "show_term")
        _click(slack, fake_slack, button, name="suggest")
        fake_slack.wait_for(lambda calls: bool(fake_slack.responses("suggest")))
        (response,) = fake_slack.responses("suggest")
        assert response.args["replace_original"] in (True, "true")
        assert header_of(response.args) == "vector database"

    def test_show_more_sends_the_full_definition_privately(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _private_answer(slack, fake_slack, "RAG", "U0MORE0001")
        _click(slack, fake_slack, find_action(answer, "show_long_def"), name="more")
        fake_slack.wait_for(lambda calls: bool(fake_slack.responses("more")))
        (response,) = fake_slack.responses("more")
        assert response.args.get("replace_original") in (False, "false")
        assert "measure retrieval and generation separately" in message_texts(response.args)

    def test_suggest_clarification_opens_the_form_for_that_term(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _private_answer(slack, fake_slack, "LLM", "U0CLARIFY1")
        _click(slack, fake_slack, find_action(answer, "suggest_clarification"), name="clarify")
        (opened,) = fake_slack.wait_for("views.open")
        assert opened.ok
        view = opened.args["view"]
        assert view["title"]["text"] == "Suggest a clarification"
        assert "large language model" in json.dumps(view)


class TestRequestForm:
    """The default request form opens prefilled and validates before closing."""

    def test_empty_term_is_refused_inline(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        view = {"type": "modal", "callback_id": "term_request", "private_metadata": "{}"}
        values = {"term": {"value": {"type": "plain_text_input", "value": "   "}}}
        reply = slack.interactive(view_submission_payload(view, values))
        assert reply.status == 200
        assert reply.json()["response_action"] == "errors"
        assert "term" in reply.json()["errors"]

    def test_valid_request_closes_the_form(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        view = {"type": "modal", "callback_id": "term_request", "private_metadata": "{}"}
        values = {"term": {"value": {"type": "plain_text_input", "value": "prompt caching"}}}
        reply = slack.interactive(view_submission_payload(view, values))
        assert reply.status == 200
        assert reply.body in ("", "{}") or "errors" not in reply.json()


class TestMessageShortcut:
    """ "Define terms in this message" lists the glossary terms a message mentions, privately."""

    def test_shortcut_lists_terms_found(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        message = {
            "type": "message",
            "user": "U0OTHER01",
            "ts": "1700000500.000500",
            "text": "Our RAG pipeline reads from a vector store; the LLM still hallucinates.",
        }
        payload = message_action_payload(
            "define_terms_in_message", message, response_url=fake_slack.response_url("shortcut")
        )
        assert slack.interactive(payload).status == 200
        (ephemeral,) = fake_slack.wait_for("chat.postEphemeral")
        assert ephemeral.args["user"] == "U0000ALICE"
        assert ephemeral.args["channel"] == CHANNEL_ID
        text = message_texts(ephemeral.args)
        for name in ("retrieval-augmented generation", "vector database", "large language model"):
            assert name in text

    def test_shortcut_on_a_threaded_message_answers_in_the_thread(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        message = {
            "type": "message",
            "user": "U0OTHER01",
            "ts": "1700000600.000600",
            "thread_ts": "1700000550.000001",
            "text": "is this hallucination?",
        }
        payload = message_action_payload(
            "define_terms_in_message", message, response_url=fake_slack.response_url("shortcut2")
        )
        slack.interactive(payload)
        (ephemeral,) = fake_slack.wait_for("chat.postEphemeral")
        assert ephemeral.args["thread_ts"] == "1700000550.000001"

    def test_shortcut_where_the_bot_is_absent_uses_the_response_url(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        fake_slack.fail("chat.postEphemeral", error="channel_not_found")
        message = {"type": "message", "user": "U0OTHER01", "ts": "1700000700.1", "text": "RAG"}
        payload = message_action_payload(
            "define_terms_in_message", message, response_url=fake_slack.response_url("shortcut3")
        )
        slack.interactive(payload)
        fake_slack.wait_for(lambda calls: bool(fake_slack.responses("shortcut3")))
        assert "retrieval-augmented generation" in message_texts(
            fake_slack.responses("shortcut3")[0].args
        )

    def test_request_definition_shortcut_opens_the_form_with_the_message_link(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        message = {
            "type": "message",
            "user": "U0OTHER01",
            "ts": "1700000800.000800",
            "text": "what's MoE?",
        }
        payload = message_action_payload(
            "request_definition", message, response_url=fake_slack.response_url("reqdef")
        )
        slack.interactive(payload)
        (opened,) = fake_slack.wait_for("views.open")
        assert "p1700000800000800" in opened.args["view"]["private_metadata"]


class TestAppHome:
    """Opening the Home tab publishes how to use the bot, the role picker and categories."""

    def test_home_opened_publishes_a_home_view(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        event = {
            "type": "app_home_opened",
            "user": "U0HOME0001",
            "channel": "D0HOME0001",
            "tab": "home",
        }
        assert slack.event(event).status == 200
        (published,) = fake_slack.wait_for("views.publish")
        assert published.ok
        assert published.args["user_id"] == "U0HOME0001"
        view = published.args["view"]
        assert view["type"] == "home"
        text = message_texts(view)
        assert "/define" in text
        assert any(e["action_id"] == "pick_role" for e in _elements(view))
        assert any(e["action_id"] == "browse_category" for e in _elements(view))

    def test_choosing_a_category_lists_its_terms(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        action = static_select("browse_category", "Risk", block_id="browse")
        payload = block_actions_payload(
            action,
            response_url="",
            user_id="U0HOME0002",
            view={"type": "home", "id": "V0HOME", "blocks": []},
        )
        payload["container"] = {"type": "view", "view_id": "V0HOME"}
        assert slack.interactive(payload).status == 200
        (published,) = fake_slack.wait_for("views.publish")
        assert "hallucination" in message_texts(published.args["view"])

    def test_home_role_picker_saves_the_role(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        action = static_select("pick_role", "security", block_id='{"slug":null,"role":null}')
        payload = block_actions_payload(
            action,
            response_url="",
            user_id="U0HOME0003",
            view={"type": "home", "id": "V0HOME3", "blocks": []},
        )
        payload["container"] = {"type": "view", "view_id": "V0HOME3"}
        slack.interactive(payload)
        fake_slack.wait_for("views.publish")
        answer = slack.command(
            "RAG", response_url=fake_slack.response_url("x"), user_id="U0HOME0003"
        )
        text = message_texts(answer.json())
        assert RAG_ENGINEER in text  # security reads the engineering framing
        assert RAG_EXEC not in text
        picker = find_action(answer.json(), "pick_role")
        assert picker["initial_option"]["value"] == "security"


def _elements(view: dict) -> list[dict]:
    found = []
    for block in view["blocks"]:
        found.extend(block.get("elements", []) if block.get("type") == "actions" else [])
        if "accessory" in block:
            found.append(block["accessory"])
    return [e for e in found if "action_id" in e]
