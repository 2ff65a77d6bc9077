"""Render, Markdown: one docs-site page per term and an index, byte for byte the same each run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.glossary.load import load_term_file
from bot.glossary.model import Term
from bot.glossary.render import index_markdown, term_to_markdown
from bot.glossary.roles import RoleDirectory, load_roles

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "render"
GOLDEN = FIXTURES / "golden"

PAGE_SECTIONS = (
    "# model card",
    "- **Aliases:** model report, model factsheet",
    "- **Categories:** Governance, Documentation",
    "- **Roles:** Product manager, Software engineer, Policy and governance",
    "- **Part of speech:** noun phrase",
    "- **Status:** approved (last reviewed 2025-06-30)",
    "## Role takeaways",
    "## Practice and apply",
    "## Short definition",
    "## Long definition",
    "## Audience perspectives",
    "## Do and don't",
    "## Governance",
    "## Relationships",
    "## Citations",
    "## License and source",
)


def load_fixture(slug: str) -> Term:
    loaded = load_term_file(FIXTURES / f"{slug}.yml")
    assert loaded.term is not None, loaded.problems
    return loaded.term


def load_fixtures() -> list[Term]:
    return [load_fixture(p.stem) for p in sorted(FIXTURES.glob("*.yml"))]


class NameIndex:
    """Exact names and aliases to terms: the part of a glossary that rendering uses."""

    def __init__(self, terms: list[Term]) -> None:
        self.by_name = {n.casefold(): t for t in terms for n in (t.term, *t.aliases)}

    def find_by_name(self, name: str) -> Term | None:
        return self.by_name.get(name.casefold())


@pytest.fixture(scope="module")
def roles() -> RoleDirectory:
    return load_roles()


@pytest.fixture(scope="module")
def terms() -> list[Term]:
    return load_fixtures()


def page(slug: str, roles: RoleDirectory, terms: list[Term]) -> str:
    term = next(t for t in terms if t.slug == slug)
    return term_to_markdown(term, roles, NameIndex(terms))


def section(markdown: str, title: str) -> str:
    """The body of one `## title` section."""
    body = markdown.split(f"## {title}\n\n", 1)[1]
    return body.split("\n## ", 1)[0].strip()


def check_golden(name: str, text: str) -> None:
    """Compare with a stored rendering; UPDATE_GOLDEN=1 rewrites it after a deliberate change."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(text.encode("utf-8"))
    assert text == path.read_bytes().decode("utf-8"), f"{name} changed; see {path}"


class TestTermPage:
    """term_to_markdown lays a term out as a glossary docs-site page."""

    def test_sections_appear_in_order(self, roles: RoleDirectory, terms: list[Term]) -> None:
        markdown = page("model-card", roles, terms)
        positions = [markdown.find(s) for s in PAGE_SECTIONS]
        assert [s for s in PAGE_SECTIONS if s not in markdown] == []
        assert positions == sorted(positions)

    def test_matches_the_stored_page(self, roles: RoleDirectory, terms: list[Term]) -> None:
        check_golden("model-card.md", page("model-card", roles, terms))

    def test_same_input_gives_the_same_bytes(self, roles: RoleDirectory) -> None:
        first = page("model-card", roles, load_fixtures()).encode("utf-8")
        second = page("model-card", load_roles(), load_fixtures()).encode("utf-8")
        assert first == second

    def test_one_takeaway_line_per_listed_role(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        lines = section(page("model-card", roles, terms), "Role takeaways").splitlines()
        assert lines == [
            f"- **{roles[r].title}:** {roles[r].takeaway_for('model card')}"
            for r in ("product", "engineering", "policy")
        ]

    def test_practice_and_apply_frames_do_and_dont_as_guidance(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        body = section(page("model-card", roles, terms), "Practice and apply")
        assert body.splitlines()[2:] == [
            "- **Apply it:** Generate the metrics table of the card from the evaluation run "
            "that gated the release.",
            "- **Apply it:** State the uses the model must not be put to, in plain words.",
            "- **Steer clear:** Copy last quarter's card forward after retraining without "
            "rerunning the evaluation.",
        ]

    def test_audience_perspectives_name_the_roles_each_framing_serves(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        body = section(page("model-card", roles, terms), "Audience perspectives")
        assert body.startswith(
            "- **Executive framing** (Product manager, Policy and governance, Legal counsel, "
            "Communications): Tells you in one page"
        )
        assert "- **Engineering framing** (Software engineer, Data scientist, Security):" in body

    @pytest.mark.parametrize(
        ("slug", "expected"),
        [
            (
                "model-card",
                "- **Broader:** AI documentation\n"
                "- **Related:** [datasheet](datasheet-for-datasets.md), evaluation",
            ),
            ("datasheet-for-datasets", "- **Related:** [model card](model-card.md)"),
            ("expert-system", "- **Related:** rule-based system, [model card](model-card.md)"),
        ],
    )
    def test_relationships_link_only_to_pages_the_glossary_has(
        self, roles: RoleDirectory, terms: list[Term], slug: str, expected: str
    ) -> None:
        assert section(page(slug, roles, terms), "Relationships") == expected

    def test_without_a_glossary_no_relationship_is_linked(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        markdown = term_to_markdown(load_fixture("model-card"), roles, None)
        assert section(markdown, "Relationships").count("](") == 0

    def test_a_deprecated_term_says_so_under_its_title(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        markdown = page("expert-system", roles, terms)
        assert markdown.startswith("# expert system\n\n> **Deprecated.** This term is no longer")
        assert "- **Status:** deprecated (last reviewed 2025-03-01)" in markdown

    def test_empty_parts_say_none_rather_than_vanish(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        markdown = page("expert-system", roles, terms)
        assert "- **Aliases:** none" in markdown
        assert section(markdown, "Governance") == (
            "- **NIST AI RMF tags:** none\n- **Risk notes:** none recorded"
        )

    def test_license_and_source_file_close_the_page(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        markdown = page("model-card", roles, terms)
        assert markdown.endswith(
            "## License and source\n\n"
            "Text licensed under CC BY 4.0. Source file: `render/model-card.yml`.\n"
        )

    def test_the_source_file_never_shows_this_machines_folders(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        markdown = page("model-card", roles, terms)
        assert str(FIXTURES.parent) not in markdown


class TestKeepingMarkdownValid:
    """Term text never changes the page's structure or injects HTML."""

    @pytest.mark.parametrize(
        ("long_def", "expected"),
        [
            ("# Not a heading", r"\# Not a heading"),
            ("- not a list", r"\- not a list"),
            ("1. not a list", r"1\. not a list"),
            ("> not a quote", r"\> not a quote"),
            ("```not a fence", r"\```not a fence"),
            ("Plain words.", "Plain words."),
            ("Uses <script>alert(1)</script>", "Uses &lt;script>alert(1)&lt;/script>"),
            ("line one\nline two", "line one line two"),
            ("para one\n\npara two", "para one\n\npara two"),
        ],
    )
    def test_long_definition_text_stays_text(
        self, roles: RoleDirectory, long_def: str, expected: str
    ) -> None:
        term = load_fixture("model-card").model_copy(update={"long_def": long_def})
        assert section(term_to_markdown(term, roles, None), "Long definition") == expected

    @pytest.mark.parametrize(
        ("source", "url", "expected"),
        [
            ("Paper", "https://example.org/a", "1. [Paper](https://example.org/a)"),
            ("A [draft]", "https://example.org/a", r"1. [A \[draft\]](https://example.org/a)"),
            ("Wiki", "https://example.org/a_(b)", "1. [Wiki](<https://example.org/a_(b)>)"),
            ("Bad", "javascript:alert(1)", "1. Bad (`javascript:alert(1)`)"),
        ],
    )
    def test_citations_are_links_only_for_web_urls(
        self, roles: RoleDirectory, source: str, url: str, expected: str
    ) -> None:
        term = load_fixture("model-card")
        citation = term.citations[0].model_copy(update={"source": source, "url": url})
        term = term.model_copy(update={"citations": [citation]})
        assert section(term_to_markdown(term, roles, None), "Citations") == expected

    def test_blocks_are_separated_by_one_blank_line(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        for term in terms:
            markdown = term_to_markdown(term, roles, NameIndex(terms))
            assert "\n\n\n" not in markdown
            assert markdown.endswith("\n")
            assert not markdown.endswith("\n\n")


class TestIndexPage:
    """index_markdown lists every term by category, linking each page."""

    def test_terms_are_grouped_by_category_in_name_order(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        markdown = index_markdown(terms, roles)
        categories = re.findall(r"^### (.+)$", markdown, flags=re.MULTILINE)
        assert categories == ["Data", "Documentation", "Foundations", "Governance"]
        documentation = markdown.split("### Documentation\n\n", 1)[1].split("\n\n", 1)[0]
        assert documentation.splitlines() == [
            "- [datasheet for datasets](datasheet-for-datasets.md): "
            + load_fixture("datasheet-for-datasets").short_def.replace("\n", " "),
            "- [model card](model-card.md): " + load_fixture("model-card").short_def,
        ]

    def test_every_term_page_is_linked(self, roles: RoleDirectory, terms: list[Term]) -> None:
        markdown = index_markdown(terms, roles)
        for term in terms:
            assert f"]({term.slug}.md)" in markdown

    def test_counts_terms_and_categories(self, roles: RoleDirectory, terms: list[Term]) -> None:
        assert "\n\n3 terms in 4 categories.\n\n" in index_markdown(terms, roles)

    def test_deprecated_terms_are_marked(self, roles: RoleDirectory, terms: list[Term]) -> None:
        markdown = index_markdown(terms, roles)
        assert "[expert system](expert-system.md) *(deprecated)*" in markdown

    def test_each_role_lists_its_terms(self, roles: RoleDirectory, terms: list[Term]) -> None:
        markdown = index_markdown(terms, roles)
        assert "**Legal counsel:** [datasheet for datasets](datasheet-for-datasets.md)" in markdown
        assert "**Security:** no terms yet" in markdown

    def test_input_order_does_not_change_the_bytes(
        self, roles: RoleDirectory, terms: list[Term]
    ) -> None:
        assert index_markdown(terms, roles) == index_markdown(list(reversed(terms)), roles)

    def test_matches_the_stored_index(self, roles: RoleDirectory, terms: list[Term]) -> None:
        check_golden("index.md", index_markdown(terms, roles))
