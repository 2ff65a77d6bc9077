"""The playground: the real bot, a local stand-in for Slack, and a Slack-like page in the browser.

`python -m bot playground` starts three things that talk over HTTP exactly as in production:

    page (browser) ──JSON──▶ stand-in ──signed requests──▶ bot (`python -m bot serve`)
                              ▲                              │
                              └────── Web API calls ◀────────┘

The stand-in (`server.py`) plays Slack: it keeps an in-memory workspace (`workspace.py`) of
channels, direct messages, threads, ephemeral messages, modals and App Home; it turns what a
person does in the page into the requests Slack sends an app (`interactions.py`, signed by
`signing.py`); and it answers the Web API methods the bot calls (`webapi.py`), checking Block
Kit's limits as Slack does (`blockkit.py`). The bot is started unchanged, pointed at the
stand-in by `SLACK_API_URL` (`launcher.py`); nothing in it knows it is in a playground.
`preview.py` renders a term file as the Slack answer for every role, for glossary authors.
"""

from __future__ import annotations

from bot.playground.launcher import PlaygroundOptions, run_playground

__all__ = ["PlaygroundOptions", "run_playground"]
