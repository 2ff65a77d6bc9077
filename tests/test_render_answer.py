"""Render, plain content and terminal text: what an answer holds, and how `define` prints it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.glossary.load import load_term_file
from bot.glossary.model import Status, Term
from bot.glossary.render import (
    DEPRECATED_NOTICE,
    FRAMING_LABELS,
    Answer,
    RelatedTerm,
    answer_to_text,
    build_answer,
)
from bot.glossary.roles import RoleDirectory, load_roles

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "render"
GOLDEN = FIXTURES / "golden"


def load_fixture(slug: str) -> Term:
    loaded = load_term_file(FIXTURES / f"{slug}.yml")
    assert loaded.term is not None, loaded.problems
    return loaded.term


def load_fixtures() -> list[Term]:
    return [load_fixture(p.stem) for p in sorted(FIXTURES.glob("*.yml"))]


class FakeGlossary:
    """The one method rendering needs from a glossary: exact names to terms."""

    def __init__(self, slugs_by_name: dict[str, str]) -> None:
        self.slugs = slugs_by_name

    def find_by_name(self, name: str) -> Term | None:
        slug = self.slugs.get(name)
        return load_fixture("model-card").model_copy(update={"slug": slug}) if slug else None


@pytest.fixture(scope="module")
def roles() -> RoleDirectory:
    return load_roles()


@pytest.fixture(scope="module")
def model_card() -> Term:
    return load_fixture("model-card")


def check_golden(name: str, text: str) -> None:
    """Compare with a stored rendering; UPDATE_GOLDEN=1 rewrites it after a deliberate change."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(text.encode("utf-8"))
    assert text == path.read_bytes().decode("utf-8"), f"{name} changed; see {path}"


class TestBuildAnswer:
    """build_answer picks the framing, takeaway and followable related terms."""

    @pytest.mark.parametrize(
        ("role_name", "label", "framing_field"),
        [
            ("product", "Executive framing", "exec"),
            ("legal", "Executive framing", "exec"),
            ("engineering", "Engineering framing", "engineer"),
            ("security", "Engineering framing", "engineer"),
        ],
    )
    def test_a_role_gets_only_its_own_framing_and_takeaway(
        self,
        roles: RoleDirectory,
        model_card: Term,
        role_name: str,
        label: str,
        framing_field: str,
    ) -> None:
        role = roles.find(role_name)
        assert role is not None
        answer = build_answer(model_card, role, roles)
        text = getattr(model_card.audiences, framing_field)
        assert [(f.label, f.text) for f in answer.framings] == [(label, text)]
        assert answer.role == role
        assert answer.takeaway == role.takeaway_for("model card")
        assert "model card" in answer.takeaway

    def test_without_a_role_both_framings_are_labelled_and_there_is_no_takeaway(
        self, roles: RoleDirectory, model_card: Term
    ) -> None:
        answer = build_answer(model_card, None, roles)
        assert list(answer.framings) == [
            ("Executive framing", model_card.audiences.exec),
            ("Engineering framing", model_card.audiences.engineer),
        ]
        assert answer.role is None
        assert answer.takeaway == ""

    def test_framing_labels_match_the_roles_own_labels(self, roles: RoleDirectory) -> None:
        for role in roles:
            assert FRAMING_LABELS[role.audience] == role.framing_label

    def test_the_answer_carries_every_part_of_the_term(
        self, roles: RoleDirectory, model_card: Term
    ) -> None:
        answer = build_answer(model_card, None, roles, notice="Showing results for model card")
        assert answer.slug == "model-card"
        assert answer.title == "model card"
        assert answer.aliases == ("model report", "model factsheet")
        assert answer.categories == ("Governance", "Documentation")
        assert answer.short_def == model_card.short_def
        assert answer.long_def == model_card.long_def
        assert answer.do == tuple(model_card.examples.do)
        assert answer.dont == tuple(model_card.examples.dont)
        assert answer.nist_rmf_tags == ("accountability", "transparency")
        assert answer.risk_notes.startswith("A missing or stale card")
        assert [(c.source, c.url) for c in answer.citations] == [
            (
                "Mitchell et al. - Model Cards for Model Reporting (FAT* 2019)",
                "https://arxiv.org/abs/1810.03993",
            )
        ]
        assert answer.status is Status.APPROVED
        assert answer.last_reviewed.isoformat() == "2025-06-30"
        assert answer.license == "CC BY 4.0"
        assert answer.deprecated is False
        assert answer.notice == "Showing results for model card"
        assert answer.source_path.endswith("model-card.yml")

    @pytest.mark.parametrize(
        ("glossary_slugs", "expected"),
        [
            (
                None,
                [
                    ("AI documentation", "broader", None),
                    ("datasheet", "related", None),
                    ("evaluation", "related", None),
                ],
            ),
            (
                {"datasheet": "datasheet-for-datasets"},
                [
                    ("AI documentation", "broader", None),
                    ("datasheet", "related", "datasheet-for-datasets"),
                    ("evaluation", "related", None),
                ],
            ),
        ],
    )
    def test_related_names_get_a_slug_only_when_the_glossary_has_them(
        self,
        roles: RoleDirectory,
        model_card: Term,
        glossary_slugs: dict[str, str] | None,
        expected: list[tuple[str, str, str | None]],
    ) -> None:
        glossary = FakeGlossary(glossary_slugs) if glossary_slugs is not None else None
        answer = build_answer(model_card, None, roles, glossary)
        assert list(answer.related) == [RelatedTerm(*row) for row in expected]  # type: ignore[arg-type]

    def test_a_name_under_two_relations_is_listed_once_under_the_first(
        self, roles: RoleDirectory, model_card: Term
    ) -> None:
        relationships = model_card.relationships.model_copy(
            update={"broader": ["Evaluation"], "narrower": ["x"], "related": ["evaluation", "x"]}
        )
        term = model_card.model_copy(update={"relationships": relationships})
        answer = build_answer(term, None, roles)
        assert [(r.name, r.relation) for r in answer.related] == [
            ("Evaluation", "broader"),
            ("x", "narrower"),
        ]

    def test_the_answer_is_immutable(self, roles: RoleDirectory, model_card: Term) -> None:
        answer = build_answer(model_card, None, roles)
        with pytest.raises(AttributeError):
            answer.title = "changed"  # type: ignore[misc]


def text_for(term: Term, roles: RoleDirectory, role: str | None = None, **kw: object) -> str:
    chosen = roles.find(role) if role else None
    glossary = FakeGlossary({t.term: t.slug for t in load_fixtures()})
    answer: Answer = build_answer(term, chosen, roles, glossary, **kw)  # type: ignore[arg-type]
    return answer_to_text(answer)


class TestAnswerToText:
    """answer_to_text lays the answer out as readable, wrapped terminal text."""

    SECTIONS_WITH_ROLE = (
        "model card\n==========\n",
        "Also known as: model report, model factsheet",
        "Categories: Governance, Documentation",
        "A short document that travels",
        "For the Product manager role (Executive framing)",
        "  Takeaway: Ask what model card changes",
        "In depth",
        "Do\n  - Generate the metrics table",
        "Don't\n  - Copy last quarter's card",
        "Governance\n  NIST AI RMF: accountability, transparency\n  Risk notes:",
        "Related terms\n  Broader: AI documentation\n  Related: datasheet, evaluation",
        "Citations\n  1. Mitchell et al.",
        "     https://arxiv.org/abs/1810.03993",
        "Status: approved | last reviewed 2025-06-30 | license: CC BY 4.0",
    )

    def test_sections_appear_in_order(self, roles: RoleDirectory, model_card: Term) -> None:
        text = text_for(model_card, roles, "pm")
        positions = [text.find(s) for s in self.SECTIONS_WITH_ROLE]
        assert [s for s in self.SECTIONS_WITH_ROLE if s not in text] == []
        assert positions == sorted(positions)

    def test_matches_the_stored_rendering(self, roles: RoleDirectory, model_card: Term) -> None:
        check_golden("model-card.product.txt", text_for(model_card, roles, "product"))

    def test_without_a_role_both_framings_and_a_hint_to_pick_one_are_shown(
        self, roles: RoleDirectory, model_card: Term
    ) -> None:
        text = text_for(model_card, roles)
        exec_at = text.index("Executive framing\n  Tells you in one page")
        eng_at = text.index("Engineering framing\n  Publish the card")
        hint_at = text.index("Tip: add --role ROLE (product, engineering")
        assert exec_at < eng_at < hint_at < text.index("In depth")
        assert "Takeaway:" not in text

    def test_a_deprecated_term_is_flagged_before_anything_else(self, roles: RoleDirectory) -> None:
        text = text_for(load_fixture("expert-system"), roles)
        assert text.startswith("!! DEPRECATED: This term is no longer recommended.")
        assert " ".join(text.split()).count(DEPRECATED_NOTICE) == 1

    def test_a_notice_comes_before_the_title(self, roles: RoleDirectory, model_card: Term) -> None:
        text = text_for(model_card, roles, notice="Showing results for model card.")
        assert text.startswith("Showing results for model card.\n\nmodel card\n====")

    def test_empty_sections_are_left_out(self, roles: RoleDirectory) -> None:
        text = text_for(load_fixture("expert-system"), roles)
        assert "Also known as" not in text
        assert "Governance" not in text
        assert "Broader:" not in text

    def test_long_definition_paragraphs_stay_separate(
        self, roles: RoleDirectory, model_card: Term
    ) -> None:
        text = text_for(model_card, roles)
        assert "matter for the product.\n\n  A good card is honest" in text

    @pytest.mark.parametrize("width", [40, 60, 80, 100])
    def test_lines_fit_the_width_except_unbreakable_words(
        self, roles: RoleDirectory, model_card: Term, width: int
    ) -> None:
        answer = build_answer(model_card, roles.find("security"), roles)
        for line in answer_to_text(answer, width=width).splitlines():
            assert len(line) <= width or " " not in line.strip(), line

    def test_control_characters_in_term_text_never_reach_the_terminal(
        self, roles: RoleDirectory, model_card: Term
    ) -> None:
        term = model_card.model_copy(
            update={"term": "model \x1b[31mcard", "short_def": "Red\x1b]0;title\x07 text."}
        )
        text = text_for(term, roles)
        assert "\x1b" not in text
        assert "\x07" not in text
        assert text.startswith("model [31mcard\n")

    def test_same_input_gives_the_same_text(self, roles: RoleDirectory, model_card: Term) -> None:
        assert text_for(model_card, roles, "legal") == text_for(model_card, roles, "legal")

    def test_text_ends_with_one_newline(self, roles: RoleDirectory, model_card: Term) -> None:
        text = text_for(model_card, roles)
        assert text.endswith("\n")
        assert not text.endswith("\n\n")
