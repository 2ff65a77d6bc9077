"""End to end over real glossaries: every answer fits Block Kit, and /healthz tells the truth."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from slack_fake import FakeSlack, message_errors, view_errors
from slack_harness import REPO, BotProcess, running_bot
from slack_signing import block_actions_payload, static_select

from bot.glossary.load import load_glossary

SHARED_TERMS = REPO.parent / "shared" / "corpora" / "ai-glossary" / "terms"
STARTER_TERMS = REPO / "terms"


def _glossaries() -> list:
    return [
        pytest.param(STARTER_TERMS, id="starter"),
        pytest.param(SHARED_TERMS, id="ai-glossary-112"),
    ]


@pytest.mark.parametrize("terms_dir", _glossaries())
def test_every_answer_and_home_view_fits_block_kit(terms_dir: Path, tmp_path: Path) -> None:
    """Each term's /define answer (with and without a role), each category list and each
    Home view is accepted by Slack's limits; nothing is rejected as invalid_blocks."""
    if not terms_dir.is_dir() or not any(terms_dir.glob("*.y*ml")):
        pytest.skip(f"glossary folder {terms_dir} is not available on this machine")
    loaded = load_glossary(terms_dir)
    terms = loaded.terms
    categories = sorted({c for t in terms for c in t.categories})
    with FakeSlack() as fake, running_bot(fake, tmp_path, terms_dir=terms_dir) as bot:
        sender = bot.sender()
        for term in terms:
            for text in (term.term, f"{term.term} --role legal"):
                reply = sender.command(text, response_url=fake.response_url("all"))
                assert reply.status == 200, text
                assert message_errors(reply.json()) == [], text
        for text in ("list", "search model", *(f"list {c}" for c in categories)):
            reply = sender.command(text, response_url=fake.response_url("lists"))
            assert message_errors(reply.json()) == [], text
        for category in categories[:10]:
            payload = block_actions_payload(
                static_select("browse_category", category),
                response_url="",
                view={"type": "home", "id": "V1", "blocks": []},
            )
            payload["container"] = {"type": "view", "view_id": "V1"}
            sender.interactive(payload)
        published = fake.wait_for("views.publish", count=min(len(categories), 10), timeout=15)
        for call in published:
            assert call.ok, call.response
            assert view_errors(call.args["view"]) == []


def test_broken_term_file_is_logged_with_its_line_and_reported_degraded(
    tmp_path: Path,
) -> None:
    terms_dir = tmp_path / "terms"
    shutil.copytree(REPO / "tests" / "fixtures" / "slack" / "terms", terms_dir)
    (terms_dir / "broken.yml").write_text("term: broken\naliases: [unclosed\n")
    with FakeSlack() as fake, running_bot(fake, tmp_path, terms_dir=terms_dir) as bot:
        status, health = bot.healthz()
        assert status == 200  # look-ups still work
        assert health["status"] == "degraded"
        assert health["terms"] == 5
        assert health["glossary_errors"] >= 1
        assert any("glossary" in p for p in health["problems"])
        assert f"{terms_dir / 'broken.yml'}:3:" in bot.stderr() or (
            f"{terms_dir / 'broken.yml'}:2:" in bot.stderr()
        )


def test_empty_glossary_cannot_serve(tmp_path: Path) -> None:
    """With no terms the bot starts (so an operator can see why) but /healthz says 503."""
    terms_dir = tmp_path / "empty"
    terms_dir.mkdir()
    with FakeSlack() as fake:
        bot = BotProcess(fake, tmp_path, terms_dir=terms_dir).start(wait_healthy=False)
        try:
            status, body = bot.healthz()
        finally:
            bot.stop()
    assert status == 503
    assert body["status"] == "unavailable"
