"""pytest fixtures for the Slack end-to-end tests. Use with `pytest_plugins = ["slack_fixtures"]`.

- `fake_slack`: one `FakeSlack` per module, reset before each test;
- `bot`: the bot process for the module, started with `SLACK_API_URL` pointing at the fake,
  a temporary SQLite database and the small glossary in tests/fixtures/slack/terms;
- `slack`: a `SlackSender` that posts signed requests to that bot.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from slack_fake import FakeSlack
from slack_harness import BotProcess
from slack_signing import SlackSender


@pytest.fixture(scope="module")
def fake_slack_server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake_slack(fake_slack_server: FakeSlack) -> FakeSlack:
    fake_slack_server.reset()
    return fake_slack_server


@pytest.fixture(scope="module")
def bot_process(
    fake_slack_server: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    process = BotProcess(fake_slack_server, tmp_path_factory.mktemp("bot"))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def bot(bot_process: BotProcess, fake_slack: FakeSlack) -> Iterator[BotProcess]:
    """The module's bot, restarted if a previous test stopped it.

    Its log lines from the test are written to stderr, which pytest shows only on failure."""
    if bot_process.process is None or bot_process.process.poll() is not None:
        bot_process.start()
    mark = len(bot_process.stderr())
    yield bot_process
    sys.stderr.write(bot_process.stderr()[mark:])


@pytest.fixture
def slack(bot: BotProcess) -> SlackSender:
    return bot.sender()
