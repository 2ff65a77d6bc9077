"""End to end: the running bot picks up glossary edits without a restart.

A real `python -m bot serve` watches a temporary GLOSSARY_TERMS_DIR; the tests edit, break and
fix term files there, and read what `/define` answers, what /healthz says and what the intake
channel on the fake Web API receives. SIGHUP and `/define reload` are tested on a bot whose
watcher is off (GLOSSARY_WATCH=false), so only they can have caused the reload.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_fake import FakeSlack, message_errors
from slack_harness import FIXTURE_TERMS, BotProcess, message_texts
from slack_signing import SlackSender

pytest_plugins = ["slack_fixtures"]

TRIAGER = "U0TRIAGER1"
INTAKE = "C0INTAKE01"
ORIGINAL = "stated confidently but is false"
EDITED = "asserted with total confidence yet untrue"
BROKEN_SYNTAX = "term: hallucination\naliases: [unclosed\n"  # error on line 3
BROKEN_SCHEMA = "term: hallucination\naliases: []\n"  # fields missing: errors on line 1
WAIT = 10.0


def _wait(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _define(slack: SlackSender, fake: FakeSlack, text: str, user_id: str = "U0READER01") -> dict:
    reply = slack.command(text, response_url=fake.response_url("define"), user_id=user_id)
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert message_errors(answer) == []
    return answer


def _answer_text(slack: SlackSender, fake: FakeSlack) -> str:
    return message_texts(_define(slack, fake, "hallucination"))


def _intake_posts(fake: FakeSlack) -> list[str]:
    return [
        c.visible_text()
        for c in fake.calls_to("chat.postMessage")
        if c.args.get("channel") == INTAKE
    ]


def _reloaded_since(bot: BotProcess, at: str) -> dict[str, Any] | None:
    _, body = bot.healthz()
    reload = body.get("reload") or {}
    return body if reload.get("at", "") > at else None


def _write(path: Path, text: str) -> None:
    path.write_text(text)


@pytest.fixture(scope="module")
def terms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("glossary") / "terms"
    shutil.copytree(FIXTURE_TERMS, folder)
    return folder


@pytest.fixture(scope="module")
def watching_bot(
    fake_slack_server: FakeSlack, terms: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    process = BotProcess(
        fake_slack_server,
        tmp_path_factory.mktemp("bot"),
        terms_dir=terms,
        env={"GLOSSARY_TRIAGERS": TRIAGER, "GLOSSARY_INTAKE_CHANNEL": INTAKE},
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def restore(terms: Path) -> Iterator[None]:
    yield
    for source in FIXTURE_TERMS.iterdir():
        target = terms / source.name
        if not target.exists() or target.read_text() != source.read_text():
            shutil.copy(source, target)


@pytest.mark.usefixtures("restore")
class TestWatching:
    """Edits under GLOSSARY_TERMS_DIR are served without a restart; breakage is contained."""

    def test_an_edit_is_served_without_a_restart(
        self, watching_bot: BotProcess, fake_slack: FakeSlack, terms: Path
    ) -> None:
        slack = watching_bot.sender()
        _wait(lambda: ORIGINAL in _answer_text(slack, fake_slack), "the original definition")
        path = terms / "hallucination.yml"
        _write(path, path.read_text().replace(ORIGINAL, EDITED))
        _wait(lambda: EDITED in _answer_text(slack, fake_slack), "the edited definition")
        assert _intake_posts(fake_slack) == []  # nothing broke, nobody is told

    def test_a_broken_file_keeps_its_last_good_version_and_is_reported_once(
        self, watching_bot: BotProcess, fake_slack: FakeSlack, terms: Path
    ) -> None:
        slack = watching_bot.sender()
        path = terms / "hallucination.yml"
        good = path.read_text()
        _wait(lambda: ORIGINAL in _answer_text(slack, fake_slack), "the original definition")
        _, before = watching_bot.healthz()

        _write(path, BROKEN_SYNTAX)
        health = _wait(
            lambda: (b := watching_bot.healthz()[1])["reload"]["errors"] and b,
            "the reload error in /healthz",
        )
        assert health["status"] == "degraded"
        assert health["terms"] == before["terms"]
        assert health["reload"]["kept"] == [str(path)]
        assert any(e.startswith(f"{path}:3:") for e in health["reload"]["errors"])
        assert ORIGINAL in _answer_text(slack, fake_slack)  # the last good version

        posts = _wait(lambda: _intake_posts(fake_slack), "the post to the intake channel")
        assert len(posts) == 1
        assert "terms/hallucination.yml:3:" in posts[0]
        assert "last good version" in posts[0]
        assert f"{path}:3:" in watching_bot.stderr()  # and logged with path:line

        # Another file changes: the broken file is still broken the same way, so no new post.
        other = terms / "vector-database.yml"
        mark = health["reload"]["at"]
        _write(other, other.read_text() + "# touched\n")
        _wait(lambda: _reloaded_since(watching_bot, mark), "the reload of the other file")
        fake_slack.quiet(0.5)
        assert len(_intake_posts(fake_slack)) == 1

        # Broken differently: maintainers hear about it again.
        _write(path, BROKEN_SCHEMA)
        posts = _wait(
            lambda: len(_intake_posts(fake_slack)) == 2 and _intake_posts(fake_slack),
            "a second post for a different breakage",
        )
        assert "terms/hallucination.yml:" in posts[1]
        assert ORIGINAL in _answer_text(slack, fake_slack)

        # Fixed: served again, healthy, and nobody is posted to.
        _write(path, good.replace(ORIGINAL, EDITED))
        _wait(lambda: EDITED in _answer_text(slack, fake_slack), "the fixed definition")
        status, health = watching_bot.healthz()
        assert (status, health["status"], health["reload"]["errors"]) == (200, "ok", [])
        assert len(_intake_posts(fake_slack)) == 2


@pytest.fixture(scope="module")
def still_bot(
    fake_slack_server: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BotProcess, Path]]:
    folder = tmp_path_factory.mktemp("still") / "terms"
    shutil.copytree(FIXTURE_TERMS, folder)
    process = BotProcess(
        fake_slack_server,
        tmp_path_factory.mktemp("still-bot"),
        terms_dir=folder,
        env={"GLOSSARY_TRIAGERS": TRIAGER, "GLOSSARY_WATCH": "false"},
    )
    process.start()
    yield process, folder
    process.stop()


class TestOnDemand:
    """With the watcher off, SIGHUP and a triager's `/define reload` reload the glossary."""

    def test_sighup_reloads(
        self, still_bot: tuple[BotProcess, Path], fake_slack: FakeSlack
    ) -> None:
        bot, folder = still_bot
        slack = bot.sender()
        path = folder / "hallucination.yml"
        _write(path, path.read_text().replace(ORIGINAL, EDITED))
        time.sleep(1.5)  # longer than the watcher's debounce: it would have reloaded by now
        assert ORIGINAL in _answer_text(slack, fake_slack)
        assert bot.healthz()[1]["reload"]["reason"] == "start"

        assert bot.process is not None
        bot.process.send_signal(signal.SIGHUP)
        _wait(lambda: EDITED in _answer_text(slack, fake_slack), "the definition after SIGHUP")
        assert bot.healthz()[1]["reload"]["reason"] == "signal"
        assert bot.process.poll() is None  # SIGHUP reloads; it does not stop the bot

    def test_define_reload_is_for_triagers_only(
        self, still_bot: tuple[BotProcess, Path], fake_slack: FakeSlack
    ) -> None:
        bot, folder = still_bot
        slack = bot.sender()
        path = folder / "vector-database.yml"
        original = path.read_text()
        _write(path, original.replace("short_def:", "short_def: Reloaded on request.", 1))

        refused = _define(slack, fake_slack, "reload", user_id="U0READER01")
        assert refused["response_type"] == "ephemeral"
        assert "Only glossary triagers" in message_texts(refused)
        assert "Reloaded on request" not in message_texts(
            _define(slack, fake_slack, "vector database")
        )

        answer = _define(slack, fake_slack, "reload", user_id=TRIAGER)
        assert answer["response_type"] == "ephemeral"
        text = message_texts(answer)
        assert "Reloaded the glossary: 5 terms" in text
        assert "no errors" in text
        assert "Reloaded on request" in message_texts(_define(slack, fake_slack, "vector database"))
        assert bot.healthz()[1]["reload"]["reason"] == "command"

    def test_define_reload_reports_errors(
        self, still_bot: tuple[BotProcess, Path], fake_slack: FakeSlack
    ) -> None:
        bot, folder = still_bot
        (folder / "broken-new.yml").write_text(BROKEN_SYNTAX.replace("hallucination", "newish"))
        try:
            text = message_texts(_define(bot.sender(), fake_slack, "reload", user_id=TRIAGER))
        finally:
            (folder / "broken-new.yml").unlink()
        assert "1 term file with errors" in text
        assert "terms/broken-new.yml:3:" in text
        assert "left out" in text
        assert fake_slack.calls_to("chat.postMessage") == []  # no intake channel: log only
