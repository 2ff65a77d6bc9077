"""The /define grammar: what people type, and the command it becomes."""

from __future__ import annotations

import pytest

from bot.glossary.roles import RoleDirectory, load_roles
from bot.slack.grammar import (
    DefineCommand,
    Help,
    Invalid,
    ListTerms,
    Lookup,
    Reload,
    Request,
    Requests,
    Search,
    SetRole,
    Stats,
    parse_define,
    parse_role_words,
)


@pytest.fixture(scope="module")
def roles() -> RoleDirectory:
    return load_roles()


# Terms a glossary might hold whose names look like grammar: used as the `is_term` predicate.
KNOWN_TERMS = {"ai for security", "list comprehension", "role model", "search engine"}


def known(text: str) -> bool:
    return text.lower() in KNOWN_TERMS


class TestLookups:
    """A term, optionally with a role given by flag or by words at the end."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("RAG", Lookup("RAG")),
            ("  retrieval augmented generation  ", Lookup("retrieval augmented generation")),
            ("what is RAG?", Lookup("what is RAG?")),
            # flags, anywhere, in every spelling
            ("rag --role engineering", Lookup("rag", "engineering")),
            ("rag --role=pm", Lookup("rag", "product")),
            ("rag -r eng", Lookup("rag", "engineering")),
            ("rag -r=ds", Lookup("rag", "data_science")),
            ("--role legal rag", Lookup("rag", "legal")),
            ("rag --ROLE Security", Lookup("rag", "security")),
            ("rag --role data science", Lookup("rag", "data_science")),
            ("rag --role=data science", Lookup("rag", "data_science")),
            ('rag --role "product manager"', Lookup("rag", "product")),
            ("rag --role pm --role comms", Lookup("rag", "communications")),
            # Slack on macOS turns "--" into a dash as you type
            ("rag —role pm", Lookup("rag", "product")),
            ("rag –role sec", Lookup("rag", "security")),
            # role words at the end
            ("rag as an engineer", Lookup("rag", "engineering")),
            ("rag as a pm", Lookup("rag", "product")),
            ("rag for product", Lookup("rag", "product")),
            ("rag for legal", Lookup("rag", "legal")),
            ("what is rag for legal?", Lookup("what is rag", "legal")),
            ("rag for the legal team", Lookup("rag", "legal")),
            ("rag for pms", Lookup("rag", "product")),
            ("rag as a product manager", Lookup("rag", "product")),
            ("model for fraud for legal", Lookup("model for fraud", "legal")),
            # "for"/"as" inside a term stay when what follows is not a role
            (
                "reinforcement learning from human feedback",
                Lookup("reinforcement learning from human feedback"),
            ),
            ("model for fraud", Lookup("model for fraud")),
            ("software as a service", Lookup("software as a service")),
            ("for legal", Lookup("for legal")),
            # a quoted term is taken as written
            ('"AI for security"', Lookup("AI for security")),
            ("“AI for security” --role pm", Lookup("AI for security", "product")),
            # keywords followed by more words are terms
            ("stats for nerds", Lookup("stats for nerds")),
        ],
    )
    def test_lookup(self, roles: RoleDirectory, text: str, expected: DefineCommand) -> None:
        assert parse_define(text, roles) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("AI for security", Lookup("AI for security")),
            ("AI for security as a pm", Lookup("AI for security", "product")),
            ("list comprehension", Lookup("list comprehension")),
            ("role model", Lookup("role model")),
            ("search engine", Lookup("search engine")),
            ("search engine optimisation", Search("engine optimisation")),
        ],
    )
    def test_known_terms_win_over_grammar(
        self, roles: RoleDirectory, text: str, expected: DefineCommand
    ) -> None:
        """A term whose name looks like grammar is looked up as written when the glossary has it."""
        assert parse_define(text, roles, is_term=known) == expected

    def test_without_the_glossary_role_words_are_taken(self, roles: RoleDirectory) -> None:
        assert parse_define("AI for security", roles) == Lookup("AI", "security")


class TestSubcommands:
    """Keywords at the start choose a sub-command."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", Help()),
            ("   ", Help()),
            ("help", Help()),
            ("HELP", Help()),
            ("help me please", Help()),
            ("?", Help()),
            ("-h", Help()),
            ("rag --help", Help()),
            ("search model evaluation", Search("model evaluation")),
            ("Search  drift ", Search("drift")),
            ("list", ListTerms()),
            ("list Foundations", ListTerms("Foundations")),
            ("list pm", ListTerms("pm", "product")),
            ("list for legal", ListTerms("for legal", "legal")),
            ("list --role eng", ListTerms(None, "engineering")),
            ("role pm", SetRole("product")),
            ("role data science", SetRole("data_science")),
            ("role as an engineer", SetRole("engineering")),
            ("role clear", SetRole(None)),
            ("role none", SetRole(None)),
            ("role reset", SetRole(None)),
            ("role --role legal", SetRole("legal")),
            ("request prompt caching", Request("prompt caching")),
            ("requests", Requests()),
            ("stats", Stats()),
            ("reload", Reload()),
            ('"search"', Lookup("search")),
        ],
    )
    def test_subcommand(self, roles: RoleDirectory, text: str, expected: DefineCommand) -> None:
        assert parse_define(text, roles) == expected


class TestAsTyped:
    """Slack sends a typed `&`, `<`, `>` as entities; commands see what the person typed."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("search R&amp;D", Search("R&D")),
            ("list R&amp;D", ListTerms("R&D")),
            ("request P&amp;L &lt;draft&gt;", Request("P&L <draft>")),
            ("what is a &lt;b&gt; tag", Lookup("what is a <b> tag")),
            ("search &amp;lt;", Search("&lt;")),  # someone typed "&lt;" itself
            ("search <@U123> AT&T", Search("<@U123> AT&T")),  # Slack's own markup stays raw
        ],
    )
    def test_entities_are_read_back_once(
        self, roles: RoleDirectory, text: str, expected: DefineCommand
    ) -> None:
        assert parse_define(text, roles) == expected

    def test_role_words_of_free_text_too(self, roles: RoleDirectory) -> None:
        assert parse_role_words("what is M&amp;A for legal", roles) == ("what is M&A", "legal")


class TestMistakes:
    """Mistakes get a helpful message, never an exception."""

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("rag --verbose", ["--verbose", "--role", "/define help"]),
            ("rag -x", ["-x", "--role"]),
            ("rag --role chef", ["“chef” isn't a role", "product", "data science", "security"]),
            ("rag -r", ["Add a role after --role", "engineering"]),
            ("rag --role --help", ["Add a role after --role"]),
            ("role chef", ["“chef” isn't a role", "communications"]),
            ("role", ["Which role?", "legal"]),
            ("search", ["What should I search for?"]),
            ("request", ["Which term should be added?"]),
            ("--role pm", ["Which term?"]),
        ],
    )
    def test_invalid(self, roles: RoleDirectory, text: str, says: list[str]) -> None:
        parsed = parse_define(text, roles)
        assert isinstance(parsed, Invalid)
        for fragment in says:
            assert fragment in parsed.message

    @pytest.mark.parametrize("text", ['"', '""', "--", "-", "— —", "--role=", "\u200b", "'--role'"])
    def test_odd_input_never_raises(self, roles: RoleDirectory, text: str) -> None:
        parse_define(text, roles)


class TestRoleWords:
    """Mentions and DMs: role words are split off the end of free text."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("<@U123> what is RAG for legal?", ("<@U123> what is RAG", "legal")),
            ("what is RAG?", ("what is RAG?", None)),
            ("explain embeddings as a data scientist", ("explain embeddings", "data_science")),
            ("model for fraud", ("model for fraud", None)),
            ("", ("", None)),
        ],
    )
    def test_parse_role_words(
        self, roles: RoleDirectory, text: str, expected: tuple[str, str | None]
    ) -> None:
        assert parse_role_words(text, roles) == expected

    def test_known_term_keeps_its_role_word(self, roles: RoleDirectory) -> None:
        assert parse_role_words("AI for security", roles, is_term=known) == (
            "AI for security",
            None,
        )


def test_public_names_exist() -> None:
    """The explicit public surface of the Slack presentation modules is all defined."""
    from bot.slack import blocks, grammar

    for module in (blocks, grammar):
        assert all(hasattr(module, name) for name in module.__all__)
