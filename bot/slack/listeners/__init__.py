"""Slack listeners, grouped by kind. Each module has `register(app, deps)`.

Listeners are translators only: read the payload, call the glossary or the store, build the
reply with `blocks.py`, send it. They hold no policy of their own.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.deps import Deps
from bot.slack.listeners import actions, commands, events, home, intake, shortcuts, views

MODULES = (commands, events, actions, shortcuts, home, views, intake)


def register_listeners(app: AsyncApp, deps: Deps) -> None:
    for module in MODULES:
        module.register(app, deps)
