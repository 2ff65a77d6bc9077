"""End to end: `/define` through the running bot, as a person in Slack would see it."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from slack_fake import FakeSlack, message_errors
from slack_harness import find_action, header_of, message_texts, running_bot
from slack_signing import SlackSender, block_actions_payload, mention_event

pytest_plugins = ["slack_fixtures"]

RAG_EXEC = "Lets an assistant answer from our own documents"
RAG_ENGINEER = "Build a retriever over your corpus"


def _define(slack: SlackSender, fake: FakeSlack, text: str, *, user_id: str = "U0000ALICE") -> dict:
    reply = slack.command(text, response_url=fake.response_url("define"), user_id=user_id)
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert message_errors(answer) == []  # what Slack would reject as invalid_blocks
    return answer


class TestAnswer:
    """/define <term> answers privately, at once, with the term's content."""

    def test_answer_is_ephemeral_with_the_term_as_header(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _define(slack, fake_slack, "RAG")
        assert answer["response_type"] == "ephemeral"
        assert header_of(answer) == "retrieval-augmented generation"
        assert answer["text"]  # the notification / screen-reader fallback
        text = message_texts(answer)
        assert "fetches relevant passages" in text
        assert "Lewis et al." in text  # citations
        find_action(answer, "share_answer")
        find_action(answer, "pick_role")

    def test_answer_needs_no_response_url_round_trip(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        _define(slack, fake_slack, "LLM")
        assert fake_slack.quiet(0.3) == [] or all(
            c.method in ("auth.test",) for c in fake_slack.all_calls()
        )

    def test_without_a_role_both_framings_are_shown_and_labelled(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        text = message_texts(_define(slack, fake_slack, "RAG", user_id="U0NOROLE01"))
        assert RAG_EXEC in text
        assert RAG_ENGINEER in text
        assert "Executive framing" in text
        assert "Engineering framing" in text

    def test_role_flag_leads_with_that_framing_only(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        text = message_texts(
            _define(slack, fake_slack, "RAG --role engineering", user_id="U0FLAG0001")
        )
        assert RAG_ENGINEER in text
        assert RAG_EXEC not in text
        assert "Software engineer" in text

    def test_role_words_work_like_the_flag(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        text = message_texts(_define(slack, fake_slack, "RAG as a pm", user_id="U0WORDS001"))
        assert RAG_EXEC in text
        assert RAG_ENGINEER not in text
        assert "Product manager" in text

    def test_deprecated_terms_are_flagged(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        answer = _define(slack, fake_slack, "expert system")
        assert "Deprecated" in message_texts(answer)

    def test_help_and_empty_text_explain_usage(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        for text in ("", "help"):
            assert "How to use the glossary" in message_texts(_define(slack, fake_slack, text))

    def test_unknown_option_gets_a_helpful_message(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        text = message_texts(_define(slack, fake_slack, "RAG --colour blue"))
        assert "--colour" in text
        assert "--role" in text

    def test_search_and_list(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        assert "vector database" in message_texts(_define(slack, fake_slack, "search embeddings"))
        listed = message_texts(_define(slack, fake_slack, "list Risk"))
        assert "hallucination" in listed
        assert "vector database" not in listed
        for_legal = message_texts(_define(slack, fake_slack, "list legal"))
        assert "hallucination" in for_legal
        assert "large language model" in for_legal
        assert "vector database" not in for_legal
        assert "retrieval-augmented generation" not in for_legal

    def test_a_typo_answers_and_says_what_it_shows(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _define(slack, fake_slack, "halucination")
        assert header_of(answer) == "hallucination"
        assert "Showing results for *hallucination*" in message_texts(answer)
        exact = _define(slack, fake_slack, "hallucination")
        assert "Showing results for" not in message_texts(exact)


class TestNotFound:
    """A term the glossary lacks gets suggestions and a way to request it."""

    def test_suggestions_and_request_button(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _define(slack, fake_slack, "vector datastore")
        text = message_texts(answer)
        assert "couldn" in text
        request = find_action(answer, "request_term")
        assert json.loads(request["value"])["term"]
        suggestions = [e for e in answer["blocks"] if e.get("type") == "actions"]
        assert any("vector database" in message_texts({"blocks": [b]}) for b in suggestions)

    def test_request_button_opens_the_request_form_prefilled(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        answer = _define(slack, fake_slack, "prompt caching")
        request = find_action(answer, "request_term")
        reply = slack.interactive(
            block_actions_payload(request, response_url=fake_slack.response_url("nf"))
        )
        assert reply.status == 200
        (opened,) = fake_slack.wait_for("views.open")
        view = (
            json.loads(opened.args["view"])
            if isinstance(opened.args["view"], str)
            else opened.args["view"]
        )
        assert opened.ok
        assert "prompt caching" in json.dumps(view)

    def test_define_request_opens_the_form(self, slack: SlackSender, fake_slack: FakeSlack) -> None:
        reply = slack.command("request prompt caching", response_url=fake_slack.response_url("rq"))
        assert reply.status == 200
        (opened,) = fake_slack.wait_for("views.open")
        assert opened.ok
        assert "prompt caching" in json.dumps(opened.args["view"])


MARKUP_ATTEMPTS = (
    "<!channel>",
    "<!here> what is RAG",
    "<https://evil.example|RAG>",
    "<@U0OTHER01>",
)
RAW_MARKUP = ("<!channel>", "<!here>", "<https://evil", "<@U0OTHER01>")


def rendered(data: object) -> str:
    """Everything Slack would render from a payload: all strings except opaque data fields
    (button values, block ids, private metadata), which Slack never displays."""
    if isinstance(data, dict):
        return "\n".join(
            rendered(v)
            for k, v in data.items()
            if k not in ("value", "block_id", "private_metadata")
        )
    if isinstance(data, list):
        return "\n".join(rendered(v) for v in data)
    return data if isinstance(data, str) else ""


class TestEscaping:
    """Nothing a user types can make the bot post a broadcast, a mention or a fake link."""

    def test_markup_in_define_is_never_rendered_raw(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        for text in MARKUP_ATTEMPTS:
            reply = slack.command(text, response_url=fake_slack.response_url("esc"))
            assert reply.status == 200
            shown = rendered(reply.json())
            for raw in RAW_MARKUP:
                assert raw not in shown
        for call in fake_slack.quiet(0.3):
            shown = rendered(call.args)
            for raw in RAW_MARKUP:
                assert raw not in shown, call

    def test_typed_ampersands_and_brackets_are_escaped_once(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        """Slack sends "R&D" as "R&amp;D"; the reply must read "R&D", so it holds "R&amp;D"."""
        searched = json.dumps(_define(slack, fake_slack, "search R&amp;D &lt;x&gt;"))
        assert "R&amp;D &lt;x&gt;" in searched
        assert "&amp;amp;" not in searched
        assert "&amp;lt;" not in searched
        reply = slack.command("request P&amp;L model", response_url=fake_slack.response_url("q"))
        assert reply.status == 200
        (opened,) = fake_slack.wait_for("views.open")
        view = opened.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        prefilled = [
            element.get("initial_value")
            for block in view["blocks"]
            if block.get("type") == "input"
            for element in [block.get("element", {})]
        ]
        assert "P&L model" in prefilled  # plain text: as typed, not escaped

    def test_markup_in_a_mention_is_never_rendered_raw(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        for text in MARKUP_ATTEMPTS:
            slack.event(mention_event(f"<@UBOT000001> {text}"))
        posts = fake_slack.wait_for("chat.postMessage", count=len(MARKUP_ATTEMPTS))
        for call in posts:
            shown = rendered(call.args)
            for raw in RAW_MARKUP:
                assert raw not in shown, call


class TestRoles:
    """`role <r>` saves a default that outlives the process."""

    def test_saved_role_applies_and_survives_a_restart(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        with running_bot(fake_slack, tmp_path) as bot_proc:
            sender = bot_proc.sender()
            saved = _define(sender, fake_slack, "role legal", user_id="U0LAWYER01")
            assert "Legal counsel" in message_texts(saved)
            bot_proc.restart()
            sender = bot_proc.sender()
            text = message_texts(_define(sender, fake_slack, "RAG", user_id="U0LAWYER01"))
            assert "Legal counsel" in text
            assert RAG_EXEC in text
            assert RAG_ENGINEER not in text
            # An explicit role still wins over the saved one.
            text = message_texts(_define(sender, fake_slack, "RAG -r eng", user_id="U0LAWYER01"))
            assert RAG_ENGINEER in text
            assert RAG_EXEC not in text

    def test_default_role_setting_applies_without_a_saved_role(
        self, fake_slack: FakeSlack, tmp_path: Path
    ) -> None:
        with running_bot(fake_slack, tmp_path, env={"GLOSSARY_DEFAULT_ROLE": "sec"}) as bot_proc:
            text = message_texts(
                _define(bot_proc.sender(), fake_slack, "RAG", user_id="U0DEFAULT1")
            )
            assert "Security" in text
            assert RAG_ENGINEER in text
            assert RAG_EXEC not in text
            # A role the reader saved wins over the default.
            sender = bot_proc.sender()
            _define(sender, fake_slack, "role legal", user_id="U0DEFAULT1")
            text = message_texts(_define(sender, fake_slack, "RAG", user_id="U0DEFAULT1"))
            assert "Legal counsel" in text
            assert RAG_EXEC in text
            assert RAG_ENGINEER not in text


class TestLatency:
    """The answer comes back in the slash command's own HTTP response, fast."""

    def test_define_answers_well_inside_slacks_three_seconds(
        self, slack: SlackSender, fake_slack: FakeSlack
    ) -> None:
        _define(slack, fake_slack, "RAG")  # warm up (auth.test on the first request)
        times = []
        for _ in range(20):
            reply = slack.command("RAG --role product", response_url=fake_slack.response_url("t"))
            assert reply.status == 200
            times.append(reply.elapsed)
        median = statistics.median(times)
        print(f"/define median {median * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
        assert median < 0.5
        assert max(times) < 2.5
