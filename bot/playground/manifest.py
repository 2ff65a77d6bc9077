"""What Slack knows about the app from its manifest: commands, shortcuts, events, App Home.

Slack sends an app only what its manifest declares: its slash commands, its message and global
shortcuts, and the bot events it subscribes to. The stand-in reads the repository's
`manifest.yml` for the same facts, so a command or shortcut added there shows up in the
playground, and an event the app does not subscribe to is not sent. Without the file (an
installed copy of the package has none) the defaults describe the app as shipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MANIFEST_FILE = Path(__file__).resolve().parents[2] / "manifest.yml"


@dataclass(frozen=True)
class SlashCommand:
    command: str
    description: str = ""
    usage_hint: str = ""


@dataclass(frozen=True)
class Shortcut:
    name: str
    callback_id: str
    type: str  # "message" or "global"
    description: str = ""


@dataclass(frozen=True)
class AppManifest:
    name: str = "Glossary"
    bot_name: str = "glossary"
    commands: tuple[SlashCommand, ...] = (
        SlashCommand("/define", "What does this term mean?", "RAG [--role engineering]"),
    )
    shortcuts: tuple[Shortcut, ...] = (
        Shortcut("Define terms in this message", "define_terms_in_message", "message"),
        Shortcut("Request a definition", "request_definition", "message"),
    )
    bot_events: frozenset[str] = frozenset({"app_mention", "message.im", "app_home_opened"})
    home_tab: bool = True
    messages_tab: bool = True

    def command(self, name: str) -> SlashCommand | None:
        return next((c for c in self.commands if c.command == name), None)

    def as_page(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bot_name": self.bot_name,
            "commands": [c.__dict__ for c in self.commands],
            "shortcuts": [s.__dict__ for s in self.shortcuts],
            "home_tab": self.home_tab,
            "messages_tab": self.messages_tab,
        }


def load_manifest(path: Path = MANIFEST_FILE) -> AppManifest:
    """The app as its manifest describes it; the defaults when the file is absent or odd."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return AppManifest()
    if not isinstance(data, dict):
        return AppManifest()
    default = AppManifest()
    features = _dict(data.get("features"))
    display = _dict(data.get("display_information"))
    bot_user = _dict(features.get("bot_user"))
    home = _dict(features.get("app_home"))
    commands = tuple(
        SlashCommand(
            str(c["command"]),
            str(c.get("description") or ""),
            str(c.get("usage_hint") or ""),
        )
        for c in _list(features.get("slash_commands"))
        if isinstance(c, dict) and str(c.get("command", "")).startswith("/")
    )
    shortcuts = tuple(
        Shortcut(
            str(s.get("name") or s["callback_id"]),
            str(s["callback_id"]),
            str(s.get("type") or "message"),
            str(s.get("description") or ""),
        )
        for s in _list(features.get("shortcuts"))
        if isinstance(s, dict) and s.get("callback_id")
    )
    events = _dict(_dict(data.get("settings")).get("event_subscriptions"))
    bot_events = frozenset(str(e) for e in _list(events.get("bot_events")))
    return AppManifest(
        name=str(display.get("name") or default.name),
        bot_name=str(bot_user.get("display_name") or default.bot_name),
        commands=commands or default.commands,
        shortcuts=shortcuts,
        bot_events=bot_events or default.bot_events,
        home_tab=bool(home.get("home_tab_enabled", default.home_tab)),
        messages_tab=bool(home.get("messages_tab_enabled", default.messages_tab)),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
