"""Slack message builders: what a reader sees, within Block Kit's limits, with nothing unescaped.

Every message and view built here is also checked against Block Kit's limits twice over: by the
fake Web API's `block_kit_errors` (what the end-to-end tests enforce) and by slack_sdk's own
models, so a builder cannot drift from either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from slack_fake import block_kit_errors
from slack_sdk.models.blocks import Block as SdkBlock

from bot.glossary.model import Term, slugify
from bot.glossary.render import Answer, build_answer
from bot.glossary.resolve import Glossary, Resolution, ResolutionStatus
from bot.glossary.roles import RoleDirectory, load_roles
from bot.slack import blocks
from bot.slack.blocks import (
    ACTION_BROWSE_CATEGORY,
    ACTION_PICK_ROLE,
    ACTION_REQUEST_TERM,
    ACTION_SHARE,
    ACTION_SHOW_MORE,
    ACTION_SUGGEST_CLARIFICATION,
    ROLE_NONE_VALUE,
    SHOW_TERM_ACTION_ID,
    AnswerState,
    Message,
    answer_message,
    escape,
)


def resolution(
    query: str, candidates: tuple[Term, ...] = (), status: ResolutionStatus = "not_found"
) -> Resolution:
    return Resolution(query=query, text=query, status=status, candidates=candidates)


HOSTILE = "<!channel> & <https://evil.example|click> <@U0BAD> <!here>"


def make_term(name: str = "Prompt chaining", **fields: Any) -> Term:
    """A small term of our own; any field can be overridden."""
    body: dict[str, Any] = {
        "term": name,
        "aliases": ["chained prompts"],
        "categories": ["Techniques"],
        "roles": ["product", "engineering"],
        "part_of_speech": "noun_phrase",
        "short_def": f"Splitting a task into steps where each {name} output feeds the next.",
        "long_def": "Break one large request into several smaller ones. " * 12,
        "audiences": {
            "exec": "Smaller steps are easier to check and cheaper to fix.",
            "engineer": "Each step gets its own prompt, tests and logs.",
        },
        "examples": {
            "do": ["Log the output of every step."],
            "dont": ["Hide failures of early steps."],
        },
        "governance": {"nist_rmf_tags": ["measure"], "risk_notes": "Errors compound."},
        "relationships": {
            "broader": ["Prompt design"],
            "related": ["Agent loop", "Unknown neighbour"],
        },
        "citations": [{"source": "Our handbook", "url": "https://example.org/handbook"}],
        "license": "CC BY 4.0",
        "status": "approved",
        "last_reviewed": date(2025, 1, 31),
    }
    body.update(fields)
    return Term.model_validate({"slug": slugify(name) or "term", **body})


class FakeLookup:
    """Exact names the glossary has: these related names become buttons."""

    def __init__(self, *names: str) -> None:
        self.terms = {name: make_term(name) for name in names}

    def find_by_name(self, name: str) -> Term | None:
        return self.terms.get(name)


@pytest.fixture(scope="module")
def roles() -> RoleDirectory:
    return load_roles()


def answer_for(
    roles: RoleDirectory, term: Term | None = None, role: str | None = None, **kw: Any
) -> Answer:
    chosen = roles.find(role) if role else None
    lookup = FakeLookup("Prompt design", "Agent loop")
    return build_answer(term or make_term(), chosen, roles, lookup, **kw)


def private(answer: Answer, roles: RoleDirectory, **kw: Any) -> Message:
    return answer_message(answer, state=AnswerState.for_answer(answer, **kw), roles=roles)


# --- helpers that look at a message the way a reader (or Slack) does ------------------------


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def elements(message: Message | dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for block in message["blocks"]:
        found.extend(block.get("elements", []))
        if "accessory" in block:
            found.append(block["accessory"])
    return [e for e in found if "action_id" in e]


def buttons(message: Message | dict[str, Any], action: str | re.Pattern[str]) -> list[Any]:
    def matches(action_id: str) -> bool:
        if isinstance(action, re.Pattern):
            return action.match(action_id) is not None
        return action_id == action

    return [e for e in elements(message) if matches(e["action_id"])]


def visible_text(message: Message | dict[str, Any]) -> str:
    return "\n".join(t["text"] for t in text_objects(message["blocks"]))


def assert_within_limits(message: Message | dict[str, Any], *, max_blocks: int = 50) -> None:
    """Slack would accept it: limits, non-empty texts, unique ids, a fallback for messages."""
    assert block_kit_errors(message["blocks"], max_blocks=max_blocks) == []
    for block in message["blocks"]:
        parsed = SdkBlock.parse(block)
        assert parsed is not None
        parsed.to_dict()  # raises on any limit slack_sdk knows
    for text in text_objects(message["blocks"]):
        assert text["text"].strip(), "Slack rejects empty text"
    for element in elements(message):
        assert len(element["action_id"]) <= 255
        if element["type"] == "button":
            assert len(element["text"]["text"]) <= 75
            assert len(element["value"]) <= 2000
        for option in element.get("options", []):
            assert len(option["text"]["text"]) <= 75
            assert len(option["value"]) <= 150
    for block in message["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
    if "type" not in message:  # a message, not a view
        assert message["text"].strip(), "a fallback text is always set"
        assert len(message["text"]) <= 300


def assert_escaped(message: Message | dict[str, Any]) -> None:
    """No Slack control sequence and no bare "&" in any text a user could have influenced."""
    mrkdwn = [t["text"] for t in text_objects(message["blocks"]) if t["type"] == "mrkdwn"]
    if "text" in message:
        mrkdwn.append(message["text"])
    for text in mrkdwn:
        for match in re.finditer(r"<([^>]*)>", text):
            inner = match.group(1)
            assert inner.startswith(("https://example.org", "@U123")), text
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text
    for text in text_objects(message["blocks"]):
        if text["type"] == "plain_text":
            assert not re.search(r"<[!@#]|<https?:", text["text"]), text


# --- the answer ------------------------------------------------------------------------------


class TestAnswerWithRole:
    """With a role, the answer leads with that role's framing and takeaway only."""

    def test_header_is_the_term(self, roles: RoleDirectory) -> None:
        message = private(answer_for(roles, role="engineering"), roles)
        assert message["blocks"][0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": "Prompt chaining", "emoji": True},
        }

    def test_role_section_names_role_framing_and_takeaway(self, roles: RoleDirectory) -> None:
        text = visible_text(private(answer_for(roles, role="engineering"), roles))
        assert "Role: Software engineer" in text
        assert "Engineering framing" in text
        assert "Each step gets its own prompt" in text
        assert "Takeaway:" in text
        assert "Decide where Prompt chaining sits" in text
        assert "Executive framing" not in text
        assert "Smaller steps are easier" not in text

    def test_picker_starts_on_the_current_role(self, roles: RoleDirectory) -> None:
        message = private(answer_for(roles, role="legal"), roles)
        (picker,) = buttons(message, ACTION_PICK_ROLE)
        assert picker["initial_option"]["value"] == "legal"
        assert [o["value"] for o in picker["options"]] == [
            *(r.name for r in roles),
            ROLE_NONE_VALUE,
        ]


class TestAnswerWithoutRole:
    """With no role, both framings are labelled and the reader is invited to pick one."""

    def test_both_framings_and_an_invitation(self, roles: RoleDirectory) -> None:
        message = private(answer_for(roles), roles)
        text = visible_text(message)
        assert "*Executive framing*" in text
        assert "*Engineering framing*" in text
        assert "Pick your role" in text
        assert "Takeaway" not in text
        (picker,) = buttons(message, ACTION_PICK_ROLE)
        assert picker["initial_option"]["value"] == ROLE_NONE_VALUE


class TestAnswerContent:
    """Every part of the term is there, compact enough for a phone."""

    def test_aliases_categories_and_short_definition(self, roles: RoleDirectory) -> None:
        text = visible_text(private(answer_for(roles), roles))
        assert "Also called: chained prompts" in text
        assert "Categories: Techniques" in text
        assert "Splitting a task into steps" in text

    def test_long_definition_is_previewed_with_a_show_more_button(
        self, roles: RoleDirectory
    ) -> None:
        message = private(answer_for(roles, role="product"), roles)
        (more,) = buttons(message, ACTION_SHOW_MORE)
        assert json.loads(more["value"]) == {"slug": "prompt-chaining", "role": "product"}
        (section,) = [b for b in message["blocks"] if b.get("accessory") is more]
        assert len(section["text"]["text"]) < 350
        assert section["text"]["text"].endswith("…")

    def test_short_long_definition_needs_no_button(self, roles: RoleDirectory) -> None:
        term = make_term(long_def="Short enough to show whole.")
        message = private(answer_for(roles, term), roles)
        assert buttons(message, ACTION_SHOW_MORE) == []
        assert "Short enough to show whole." in visible_text(message)

    def test_do_dont_governance_and_metadata(self, roles: RoleDirectory) -> None:
        text = visible_text(private(answer_for(roles), roles))
        for expected in (
            "✅ Do",
            "Log the output of every step.",
            "🚫 Don't",
            "Hide failures of early steps.",
            "NIST AI RMF: measure",
            "Risk notes: Errors compound.",
            "Status: approved",
            "Last reviewed: 2025-01-31",
            "License: CC BY 4.0",
        ):
            assert expected in text

    def test_citations_are_links(self, roles: RoleDirectory) -> None:
        text = visible_text(private(answer_for(roles), roles))
        assert "<https://example.org/handbook|Our handbook>" in text

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("javascript:alert(1)", "Evil source"),
            ("file:///etc/passwd", "Evil source"),
            ("ftp://example.org/x", "Evil source"),
            ("https://example.org/a?b=1&c=2", "<https://example.org/a?b=1&amp;c=2|Evil source>"),
            ("https://example.org/a|b>c", "<https://example.org/a%7Cb&gt;c|Evil source>"),
            ("https://exa mple.org/", "Evil source"),
        ],
    )
    def test_only_web_urls_become_links(
        self, roles: RoleDirectory, url: str, expected: str
    ) -> None:
        term = make_term(citations=[{"source": "Evil source", "url": url}])
        text = visible_text(private(answer_for(roles, term), roles))
        sources = next(line for line in text.splitlines() if line.startswith("*Sources:*"))
        assert sources == f"*Sources:* {expected}"

    def test_related_terms_the_glossary_has_are_buttons(self, roles: RoleDirectory) -> None:
        message = private(answer_for(roles, role="security"), roles)
        related = buttons(message, SHOW_TERM_ACTION_ID)
        assert [b["text"]["text"] for b in related] == ["Prompt design", "Agent loop"]
        assert json.loads(related[0]["value"]) == {"slug": "prompt-design", "role": "security"}
        text = visible_text(message)
        assert "Not in the glossary yet:_ Unknown neighbour" in text

    def test_fuzzy_match_says_what_it_shows(self, roles: RoleDirectory) -> None:
        answer = answer_for(roles, notice="Showing results for *prompt chain*")
        assert "Showing results for *prompt chain*" in visible_text(private(answer, roles))

    def test_deprecated_term_is_flagged(self, roles: RoleDirectory) -> None:
        message = private(answer_for(roles, make_term(status="deprecated")), roles)
        assert "Deprecated" in visible_text(message)
        assert message["text"].startswith("[Deprecated]")

    def test_fallback_text_names_the_term(self, roles: RoleDirectory) -> None:
        message = private(answer_for(roles), roles)
        assert message["text"].startswith("Prompt chaining: Splitting a task")


class TestPrivateAndShared:
    """Private answers can be shared; shared copies say who shared them and cannot be re-shared."""

    def test_private_answer_has_share_picker_and_suggest(self, roles: RoleDirectory) -> None:
        answer = answer_for(roles, role="product")
        message = private(answer, roles, thread_ts="1700000000.000100")
        (share,) = buttons(message, ACTION_SHARE)
        assert share["text"]["text"] == "Share in channel"
        assert json.loads(share["value"]) == {
            "slug": "prompt-chaining",
            "role": "product",
            "thread_ts": "1700000000.000100",
        }
        (suggest,) = buttons(message, ACTION_SUGGEST_CLARIFICATION)
        assert json.loads(suggest["value"]) == {"slug": "prompt-chaining"}
        last = message["blocks"][-1]
        assert last["type"] == "actions"
        assert json.loads(last["block_id"])["slug"] == "prompt-chaining"
        assert "Shared by" not in visible_text(message)

    def test_shared_answer_names_the_sharer_and_has_no_share_button(
        self, roles: RoleDirectory
    ) -> None:
        answer = answer_for(roles, role="product")
        state = AnswerState.for_answer(answer, public=True, shared_by="U123ABC")
        message = answer_message(answer, state=state, roles=roles)
        assert "Shared by <@U123ABC>" in visible_text(message)
        assert buttons(message, ACTION_SHARE) == []
        assert len(buttons(message, ACTION_PICK_ROLE)) == 1
        assert len(buttons(message, SHOW_TERM_ACTION_ID)) == 2

    def test_a_malformed_sharer_id_is_not_a_mention(self, roles: RoleDirectory) -> None:
        answer = answer_for(roles)
        state = AnswerState.for_answer(answer, public=True, shared_by="!channel")
        text = visible_text(answer_message(answer, state=state, roles=roles))
        assert "Shared by !channel" in text
        assert "<!channel>" not in text


# --- escaping and limits ---------------------------------------------------------------------


def hostile_term() -> Term:
    return make_term(
        HOSTILE,
        aliases=[HOSTILE],
        categories=[HOSTILE],
        short_def=HOSTILE,
        long_def=HOSTILE * 20,
        audiences={"exec": HOSTILE, "engineer": HOSTILE},
        examples={"do": [HOSTILE], "dont": [HOSTILE]},
        governance={"nist_rmf_tags": [HOSTILE], "risk_notes": HOSTILE},
        relationships={"related": [HOSTILE, "Agent loop"]},
        citations=[{"source": HOSTILE, "url": "https://example.org/x"}],
        license=HOSTILE,
    )


class TestEscaping:
    """Nothing from a term or a user can become a mention, a broadcast or a fake link."""

    @pytest.mark.parametrize(
        ("raw", "escaped"),
        [
            ("<!channel>", "&lt;!channel&gt;"),
            ("<https://evil|click>", "&lt;https://evil|click&gt;"),
            ("R&D", "R&amp;D"),
            ("&amp;", "&amp;amp;"),
            ("plain *bold*", "plain *bold*"),
        ],
    )
    def test_escape(self, raw: str, escaped: str) -> None:
        assert escape(raw) == escaped

    @pytest.mark.parametrize("role", [None, "engineering"])
    @pytest.mark.parametrize("public", [False, True])
    def test_hostile_term_comes_out_escaped(
        self, roles: RoleDirectory, role: str | None, public: bool
    ) -> None:
        answer = answer_for(roles, hostile_term(), role, notice=HOSTILE)
        state = AnswerState.for_answer(answer, public=public, shared_by="U123ABC")
        message = answer_message(answer, state=state, roles=roles)
        assert_escaped(message)
        assert_within_limits(message)
        assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in visible_text(message)

    def test_plain_text_keeps_ampersands_but_not_control_sequences(
        self, roles: RoleDirectory
    ) -> None:
        message = private(answer_for(roles, hostile_term()), roles)
        header = message["blocks"][0]["text"]["text"]
        assert header.startswith("‹!channel> & ‹https://evil.example|click>")
        ampersand = private(answer_for(roles, make_term("R&D tax credit")), roles)
        assert ampersand["blocks"][0]["text"]["text"] == "R&D tax credit"
        assert ampersand["text"].startswith("R&amp;D tax credit:")

    def test_every_builder_escapes_user_text(self, roles: RoleDirectory) -> None:
        term = hostile_term()
        built: list[Message | dict[str, Any]] = [
            blocks.long_def_message(answer_for(roles, term)),
            blocks.ambiguous_message(resolution(HOSTILE, (term, make_term())), None),
            blocks.not_found_message(resolution(HOSTILE, (term,))),
            blocks.search_message(HOSTILE, [term]),
            blocks.list_message(HOSTILE, [term]),
            blocks.mentions_message([term]),
            blocks.notice_message(HOSTILE),
            blocks.home_view(
                roles=roles,
                current_role=None,
                categories=[HOSTILE],
                category=HOSTILE,
                terms_in_category=[term],
            ),
        ]
        for message in built:
            assert_escaped(message)
            assert "&lt;!channel&gt;" in visible_text(message)


def absurd_term() -> Term:
    huge = "word " * 20000
    return make_term(
        "Absurdly " * 200 + "long term",
        aliases=[f"alias {i} " * 20 for i in range(500)],
        categories=[f"category {i} " * 10 for i in range(300)],
        short_def=huge,
        long_def=huge * 5,
        audiences={"exec": huge, "engineer": huge},
        examples={"do": [huge] * 50, "dont": [huge] * 50},
        governance={"nist_rmf_tags": [f"tag{i}" for i in range(800)], "risk_notes": huge},
        relationships={
            "broader": [f"Known {i}" for i in range(100)],
            "related": [f"Unknown {i} " * 10 for i in range(400)],
        },
        citations=[
            {"source": f"Source {i} " * 5, "url": f"https://example.org/{i}"} for i in range(400)
        ],
        license="Licence " * 500,
    )


class TestLimits:
    """However large a term is, every message stays within Block Kit's limits."""

    @pytest.mark.parametrize("role", [None, "data_science"])
    def test_absurd_term_fits_and_keeps_its_actions(
        self, roles: RoleDirectory, role: str | None
    ) -> None:
        term = absurd_term()
        chosen = roles.find(role) if role else None
        lookup = FakeLookup(*(f"Known {i}" for i in range(100)))
        answer = build_answer(term, chosen, roles, lookup)
        message = answer_message(
            answer, state=AnswerState.for_answer(answer, thread_ts="1.2"), roles=roles
        )
        assert_within_limits(message)
        assert message["blocks"][0]["type"] == "header"
        assert message["blocks"][0]["text"]["text"].endswith("…")
        assert len(buttons(message, ACTION_SHARE)) == 1
        assert len(buttons(message, ACTION_PICK_ROLE)) == 1
        assert len(buttons(message, ACTION_SHOW_MORE)) == 1
        assert 0 < len(buttons(message, SHOW_TERM_ACTION_ID)) <= 25

    def test_absurd_long_definition_is_split_not_lost(self, roles: RoleDirectory) -> None:
        term = make_term(long_def="sentence & more. " * 5000)
        message = blocks.long_def_message(answer_for(roles, term))
        assert_within_limits(message)
        sections = [b for b in message["blocks"] if b["type"] == "section"]
        assert len(sections) > 1
        shown = " ".join(s["text"]["text"] for s in sections)
        assert shown.count("sentence &amp; more.") == 5000

    @pytest.mark.parametrize("count", [0, 1, 20, 21, 150, 2000])
    def test_lists_of_any_length_fit(self, count: int) -> None:
        terms = [make_term(f"Term {i}", short_def="A definition. " * 40) for i in range(count)]
        for message in (
            blocks.search_message("words", terms),
            blocks.list_message("Everything", terms),
            blocks.mentions_message(terms),
        ):
            assert_within_limits(message)
        listed = visible_text(blocks.list_message("Everything", terms))
        if count > 1000:
            assert "more terms" in listed
        elif count:
            assert f"*Term {count - 1}*" in listed  # a few hundred names fit as compact lines

    def test_request_button_value_fits_for_a_huge_query(self) -> None:
        message = blocks.not_found_message(resolution("x" * 10000))
        assert_within_limits(message)
        (request,) = buttons(message, ACTION_REQUEST_TERM)
        assert json.loads(request["value"])["term"].startswith("xxxx")

    def test_block_id_fits_for_a_huge_slug(self, roles: RoleDirectory) -> None:
        answer = answer_for(roles, make_term("s" * 400))
        assert_within_limits(private(answer, roles, thread_ts="1.2"))


# --- the other messages ----------------------------------------------------------------------


class TestAmbiguity:
    """An ambiguous query offers one button per candidate."""

    def test_one_button_per_candidate(self) -> None:
        candidates = (make_term("Agent"), make_term("Agent loop"), make_term("Agent memory"))
        message = blocks.ambiguous_message(resolution("agent", candidates, "ambiguous"), "legal")
        assert_within_limits(message)
        choices = buttons(message, SHOW_TERM_ACTION_ID)
        assert [json.loads(b["value"]) for b in choices] == [
            {"slug": "agent", "role": "legal"},
            {"slug": "agent-loop", "role": "legal"},
            {"slug": "agent-memory", "role": "legal"},
        ]
        text = visible_text(message)
        assert "“agent” could mean more than one term" in text
        assert "*Agent loop*" in text


class TestNotFound:
    """Not found: a short reply, suggestions as buttons, and a way to request the term."""

    def test_suggestions_and_request(self) -> None:
        message = blocks.not_found_message(resolution("promt chain", (make_term(),), "suggest"))
        assert_within_limits(message)
        assert "I couldn't find “promt chain”" in visible_text(message)
        (suggestion,) = buttons(message, SHOW_TERM_ACTION_ID)
        assert suggestion["text"]["text"] == "Prompt chaining"
        (request,) = buttons(message, ACTION_REQUEST_TERM)
        assert request["text"]["text"] == "Request this term"
        assert json.loads(request["value"]) == {"term": "promt chain"}

    def test_without_suggestions_only_request(self) -> None:
        message = blocks.not_found_message(resolution("zzz"))
        assert buttons(message, SHOW_TERM_ACTION_ID) == []
        assert len(buttons(message, ACTION_REQUEST_TERM)) == 1
        assert message["text"] == "I couldn't find “zzz” in the glossary."


class TestHelpSearchListMentions:
    """The smaller messages say what they are about and offer a way into each term."""

    def test_help_lists_the_grammar_and_roles(self, roles: RoleDirectory) -> None:
        message = blocks.help_message(roles)
        assert_within_limits(message)
        text = visible_text(message)
        for expected in ("/define RAG", "--role", "search", "list", "role clear", "request"):
            assert expected in text
        assert "data science" in text

    def test_search_results_open_in_place(self) -> None:
        message = blocks.search_message("steps", [make_term(), make_term("Agent loop")])
        assert "2 terms matching “steps”" in visible_text(message)
        assert len(buttons(message, SHOW_TERM_ACTION_ID)) == 2

    def test_search_without_results(self) -> None:
        message = blocks.search_message("nothing", [])
        assert "Nothing in the glossary matches “nothing”" in message["text"]

    def test_empty_list(self) -> None:
        message = blocks.list_message("Techniques", [])
        assert_within_limits(message)
        assert "No terms here yet." in visible_text(message)

    def test_deprecated_terms_are_marked_in_lists(self) -> None:
        message = blocks.list_message("All", [make_term(status="deprecated")])
        assert "_(deprecated)_" in visible_text(message)

    def test_mentions_show_short_definitions(self) -> None:
        message = blocks.mentions_message([make_term(), make_term("Agent loop")])
        assert_within_limits(message)
        text = visible_text(message)
        assert "Splitting a task into steps where each Agent loop output" in text
        assert message["text"].endswith("Prompt chaining, Agent loop")

    def test_no_mentions(self) -> None:
        message = blocks.mentions_message([])
        assert message["text"] == "I didn't find any glossary terms in that message."

    def test_notice_is_one_escaped_line(self) -> None:
        message = blocks.notice_message("Saved <!here> & done")
        assert message == {
            "text": "Saved &lt;!here&gt; &amp; done",
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "Saved &lt;!here&gt; &amp; done",
                        "verbatim": True,
                    },
                }
            ],
        }


class TestHomeView:
    """App Home: how to use it, my role, and browsing by category."""

    def test_home_without_a_category(self, roles: RoleDirectory) -> None:
        view = blocks.home_view(roles=roles, current_role="policy", categories=["A", "B"])
        assert view["type"] == "home"
        assert_within_limits(view, max_blocks=100)
        (picker,) = buttons(view, ACTION_PICK_ROLE)
        assert picker["initial_option"]["value"] == "policy"
        block = next(b for b in view["blocks"] if picker in b.get("elements", []))
        assert json.loads(block["block_id"])["slug"] is None
        (browse,) = buttons(view, ACTION_BROWSE_CATEGORY)
        assert [o["value"] for o in browse["options"]] == ["A", "B"]
        assert "initial_option" not in browse
        assert "Policy and governance" in visible_text(view)
        assert "/define" in visible_text(view)

    def test_home_with_a_category_lists_its_terms(self, roles: RoleDirectory) -> None:
        terms = [make_term(), make_term("Agent loop")]
        view = blocks.home_view(
            roles=roles,
            current_role=None,
            categories=["Techniques", "Risks"],
            category="Techniques",
            terms_in_category=terms,
        )
        (browse,) = buttons(view, ACTION_BROWSE_CATEGORY)
        assert browse["initial_option"]["value"] == "Techniques"
        assert len(buttons(view, SHOW_TERM_ACTION_ID)) == 2
        assert "*Techniques (2)*" in visible_text(view)

    def test_huge_home_fits(self, roles: RoleDirectory) -> None:
        categories = [f"Category {i}" for i in range(150)]
        terms = [make_term(f"Term {i}") for i in range(300)]
        view = blocks.home_view(
            roles=roles,
            current_role="security",
            categories=categories,
            category="Category 140",
            terms_in_category=terms,
        )
        assert_within_limits(view, max_blocks=100)
        (browse,) = buttons(view, ACTION_BROWSE_CATEGORY)
        assert len(browse["options"]) == 100
        assert browse["initial_option"]["value"] == "Category 140"
        assert "more terms" in visible_text(view)


class TestActionIds:
    """Every action id in a message is unique, and listeners can match the numbered ones."""

    def test_show_term_ids_are_unique_and_matchable(self, roles: RoleDirectory) -> None:
        terms = [make_term(f"Term {i}") for i in range(10)]
        for message in (
            private(answer_for(roles), roles),
            blocks.search_message("x", terms),
            blocks.mentions_message(terms),
        ):
            ids = [e["action_id"] for e in elements(message)]
            assert len(ids) == len(set(ids))
            show = [i for i in ids if i.startswith(blocks.ACTION_SHOW_TERM)]
            assert show
            assert all(SHOW_TERM_ACTION_ID.match(i) for i in show)


CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "ai-glossary" / "terms"


class TestRealCorpus:
    """Every term of a real third-party glossary (test data only) renders within the limits."""

    def test_every_term_for_every_role(self, roles: RoleDirectory) -> None:
        if not CORPUS.is_dir():
            pytest.skip(f"the shared ai-glossary corpus is not at {CORPUS}")
        glossary, _loaded = Glossary.from_folder(CORPUS)
        assert len(glossary.terms) > 100
        for term in glossary.terms.values():
            for role in (None, *roles):
                answer = build_answer(term, role, roles, glossary)
                message = private(answer, roles, thread_ts="1.2")
                assert_within_limits(message)
                if role is None:
                    assert_within_limits(blocks.long_def_message(answer))
        categories = glossary.categories()
        for category in categories:
            view = blocks.home_view(
                roles=roles,
                current_role=None,
                categories=categories,
                category=category,
                terms_in_category=glossary.list_terms(category=category),
            )
            assert_within_limits(view, max_blocks=100)


class TestTheFakesChecker:
    """The end-to-end tests rely on the fake's checker: it must see each limit broken."""

    @pytest.mark.parametrize(
        ("block", "complaint"),
        [
            ({"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3001}]}, "context"),
            (
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "static_select",
                            "action_id": "a",
                            "options": [
                                {"text": {"type": "plain_text", "text": "o" * 76}, "value": "v"}
                            ],
                        }
                    ],
                },
                "option text",
            ),
            (
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "static_select",
                            "action_id": "a",
                            "options": [
                                {"text": {"type": "plain_text", "text": "o"}, "value": "v" * 151}
                            ],
                        }
                    ],
                },
                "option value",
            ),
            (
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "static_select",
                            "action_id": "a",
                            "placeholder": {"type": "plain_text", "text": "p" * 151},
                            "options": [
                                {"text": {"type": "plain_text", "text": "o"}, "value": "v"}
                            ],
                        }
                    ],
                },
                "placeholder",
            ),
        ],
    )
    def test_each_limit_is_checked(self, block: dict, complaint: str) -> None:
        (error,) = block_kit_errors([block], max_blocks=50)
        assert complaint in error
