"""Sentences only the listeners say, kept beside them until `messages.py` takes them over.

Same conventions as `messages.py`: plain, unescaped text, escaped once by the builder.
"""

from __future__ import annotations

TERM_GONE = "That term is no longer in the glossary. Try /define with its name."
CANNOT_POST_HERE = (
    "I can't post in this conversation yet. Add me to the channel "
    "(type /invite and pick the glossary app), then press Share again."
)
NOT_AVAILABLE = "That command is not available yet."
ALL_TERMS = "All terms"
