"""Configuration: each missing or bad variable stops start-up with one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from slack_harness import FIXTURE_TERMS, clean_env

from bot.config import ConfigError, Settings, load_settings

BOT = "xoxb-test-bot-token"
SECRET = "test-signing-secret-do-not-print"
APP = "xapp-test-app-token"


def _settings(**env: str) -> Settings:
    return load_settings(None, **env)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name, raising=False)


class TestLoadSettings:
    """load_settings reads the environment and names the variable on any problem."""

    @pytest.mark.parametrize(
        ("mode", "env", "message"),
        [
            ("serve", {}, "SLACK_BOT_TOKEN is required for `serve` (HTTP mode)"),
            (
                "serve",
                {"SLACK_BOT_TOKEN": BOT},
                "SLACK_SIGNING_SECRET is required for `serve` (HTTP mode)",
            ),
            (
                "socket",
                {"SLACK_BOT_TOKEN": BOT},
                "SLACK_APP_TOKEN is required for `socket` (Socket Mode)",
            ),
        ],
    )
    def test_required_variables_depend_on_the_mode(
        self, monkeypatch: pytest.MonkeyPatch, mode: str, env: dict[str, str], message: str
    ) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError) as caught:
            load_settings(mode)  # type: ignore[arg-type]
        assert str(caught.value) == message

    def test_socket_mode_needs_no_signing_secret(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SLACK_BOT_TOKEN", BOT)
        monkeypatch.setenv("SLACK_APP_TOKEN", APP)
        assert load_settings("socket").SLACK_SIGNING_SECRET is None

    @pytest.mark.parametrize(
        ("name", "value", "starts"),
        [
            ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN: must be a bot token"),
            ("SLACK_APP_TOKEN", "xoxb-wrong-kind", "SLACK_APP_TOKEN: must be an app-level token"),
            ("SLACK_API_URL", "ftp://example.com/", "SLACK_API_URL: must be an http(s) URL"),
            ("GLOSSARY_DEFAULT_ROLE", "wizard", "GLOSSARY_DEFAULT_ROLE: 'wizard' is not a role"),
            ("GLOSSARY_LOG_LEVEL", "chatty", "GLOSSARY_LOG_LEVEL: 'CHATTY' is not one of"),
            ("GLOSSARY_ROLES_FILE", "/does/not/exist.yml", "GLOSSARY_ROLES_FILE: cannot read"),
            (
                "GLOSSARY_INTAKE_CHANNEL",
                "#glossary-requests",
                "GLOSSARY_INTAKE_CHANNEL: 'glossary-requests' is not a channel ID; use the ID",
            ),
            ("GLOSSARY_INTAKE_CHANNEL", "c0123abcd", "GLOSSARY_INTAKE_CHANNEL: 'c0123abcd' is not"),
        ],
    )
    def test_bad_values_name_the_variable(
        self, monkeypatch: pytest.MonkeyPatch, name: str, value: str, starts: str
    ) -> None:
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError) as caught:
            load_settings()
        assert str(caught.value).startswith(starts)
        assert "\n" not in str(caught.value)

    def test_values_are_normalised(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GLOSSARY_DEFAULT_ROLE", "a PM")
        monkeypatch.setenv("GLOSSARY_TRIAGERS", " U1, U2 ,,U3 ")
        monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
        monkeypatch.setenv("GLOSSARY_LOG_LEVEL", "debug")
        monkeypatch.setenv("GLOSSARY_INTAKE_CHANNEL", " #C0123ABCD ")
        settings = load_settings()
        assert settings.GLOSSARY_DEFAULT_ROLE == "product"
        assert settings.GLOSSARY_TRIAGERS == ("U1", "U2", "U3")
        assert settings.SLACK_API_URL == "http://127.0.0.1:9/api/"
        assert settings.GLOSSARY_LOG_LEVEL == "DEBUG"
        assert settings.GLOSSARY_INTAKE_CHANNEL == "C0123ABCD"

    def test_defaults(self) -> None:
        settings = load_settings()
        assert settings.SLACK_API_URL == "https://slack.com/api/"
        assert settings.GLOSSARY_TERMS_DIR.name == "terms"
        assert settings.GLOSSARY_DATABASE_URL.startswith("sqlite:///")
        assert settings.GLOSSARY_TRIAGERS == ()
        assert settings.GLOSSARY_DEFAULT_ROLE is None

    def test_secrets_do_not_show_in_repr(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SLACK_BOT_TOKEN", BOT)
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        settings = load_settings("serve")
        assert BOT not in repr(settings)
        assert SECRET not in repr(settings)
        assert settings.secret("SLACK_SIGNING_SECRET") == SECRET


def _run_bot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestStartUpErrors:
    """`python -m bot serve|socket` with bad configuration: exit 2, one line, no traceback."""

    @pytest.mark.parametrize(
        ("args", "env", "expected"),
        [
            (
                ["serve"],
                {"SLACK_BOT_TOKEN": BOT},
                "error: SLACK_SIGNING_SECRET is required for `serve` (HTTP mode)",
            ),
            (
                ["socket"],
                {"SLACK_BOT_TOKEN": BOT},
                "error: SLACK_APP_TOKEN is required for `socket` (Socket Mode)",
            ),
            (
                ["serve"],
                {
                    "SLACK_BOT_TOKEN": BOT,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "GLOSSARY_DEFAULT_ROLE": "x",
                },
                "error: GLOSSARY_DEFAULT_ROLE: 'x' is not a role",
            ),
            (
                ["serve", "--port", "0"],
                {
                    "SLACK_BOT_TOKEN": BOT,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "GLOSSARY_TERMS_DIR": "/no/such/dir",
                },
                "error: GLOSSARY_TERMS_DIR: glossary folder /no/such/dir does not exist",
            ),
            (
                ["serve", "--port", "0"],
                {
                    "SLACK_BOT_TOKEN": BOT,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "GLOSSARY_TERMS_DIR": str(FIXTURE_TERMS),
                    "GLOSSARY_DATABASE_URL": "mysql://u:hunter2@db/x",
                },
                "error: GLOSSARY_DATABASE_URL: ",
            ),
        ],
    )
    def test_one_line_naming_the_variable(
        self, tmp_path: Path, args: list[str], env: dict[str, str], expected: str
    ) -> None:
        result = _run_bot(args, env, tmp_path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith(expected), result.stderr
        assert "Traceback" not in result.stderr
        assert SECRET not in result.stderr + result.stdout
        assert "hunter2" not in result.stderr

    def test_busy_port_is_one_line(self, tmp_path: Path) -> None:
        import socket

        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            env = {
                "SLACK_BOT_TOKEN": BOT,
                "SLACK_SIGNING_SECRET": SECRET,
                "GLOSSARY_TERMS_DIR": str(FIXTURE_TERMS),
                "GLOSSARY_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            }
            result = _run_bot(["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
        assert result.returncode == 2
        assert (
            result.stderr.strip()
            .splitlines()[-1]
            .startswith(f"error: cannot listen on 127.0.0.1:{port}")
        )
        assert "Traceback" not in result.stderr


def test_the_readme_table_lists_every_setting() -> None:
    """Operators configure the bot from the README's table: no setting may be missing there."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    assert set(Settings.model_fields) - rows == set()
