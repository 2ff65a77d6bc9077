"""Answers already rendered to Block Kit, kept for the glossary they were rendered from.

An answer about a term depends only on the glossary, the term, the reader's role, the notice
above it and where it is shown. A glossary never changes once built (a reload builds a new
one), so an answer rendered once can be sent again as it is. People ask about the same terms
over and over, and rendering is, after resolving, the largest share of a `/define` that is
ours. The copy is bounded: past `limit` answers, the least recently used goes first, and a
new glossary starts it afresh.

Messages handed out are shared with later callers: the top-level dict and the list of blocks
are each caller's own, the blocks in it must be treated as read-only (every listener passes
them straight to Slack).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from bot.glossary.resolve import Glossary
from bot.slack.blocks import Message

# About 12 KB a message in memory: 256 answers are ~3 MB, and cover the terms a team asks
# about most. Beyond that the least recently asked go first.
DEFAULT_LIMIT = 256


class AnswerKey(NamedTuple):
    """Everything an answer's blocks depend on, besides the glossary and the roles."""

    slug: str
    role: str | None
    notice: str = ""
    thread_ts: str | None = None
    public: bool = False
    shared_by: str | None = None


class RenderedAnswers:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._glossary: weakref.ref[Glossary] | None = None
        self._answers: OrderedDict[AnswerKey, Message | None] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(
        self, glossary: Glossary, key: AnswerKey, render: Callable[[], Message | None]
    ) -> Message | None:
        """The answer for `key` from `glossary`: rendered by `render` once, then kept."""
        if self._glossary is None or self._glossary() is not glossary:
            # A weak reference: the copy must not keep a replaced glossary alive.
            self._answers.clear()
            self._glossary = weakref.ref(glossary)
        answers = self._answers
        if key in answers:
            self.hits += 1
            answers.move_to_end(key)
            message = answers[key]
        else:
            self.misses += 1
            message = render()
            if self.limit > 0:
                answers[key] = message
                if len(answers) > self.limit:
                    answers.popitem(last=False)
        if message is None:
            return None
        return {"text": message["text"], "blocks": list(message["blocks"])}

    def __len__(self) -> int:
        return len(self._answers)
