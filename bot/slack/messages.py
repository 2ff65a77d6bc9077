"""Every sentence the bot says in Slack, in one place, so wording is reviewed together.

Conventions:
- Strings here are plain, *unescaped* text. A builder in `blocks.py` escapes the whole
  sentence once (after any user text has been put in), so `<words>` in a template is shown
  literally and a template can never produce Slack markup such as a mention or a link: markup
  is built only in `blocks.py`.
- `*bold*`, `_italic_` and `code` spans are mrkdwn; a string used as plain text (buttons,
  headers, options) carries no markup at all.
- Plain, kind and short: the reader is busy and may be on a phone.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.glossary.roles import Role

COMMAND = "/define"

# --- buttons, pickers and labels (plain text, at most 75 characters) --------------------------

SHARE_BUTTON = "Share in channel"
SUGGEST_BUTTON = "Suggest a clarification"
REQUEST_BUTTON = "Request this term"
SHOW_MORE_BUTTON = "Show full definition"
ROLE_PICKER_PLACEHOLDER = "Choose your role"
CATEGORY_PICKER_PLACEHOLDER = "Choose a category"
OPEN_TERM_BUTTON = "Show"

# --- the answer ------------------------------------------------------------------------------

DEPRECATED = "⚠️ *Deprecated.* This term is no longer recommended: check the related terms."
ALIASES_LABEL = "Also called"
CATEGORIES_LABEL = "Categories"
TAKEAWAY_LABEL = "Takeaway"
NO_ROLE_INVITE = "Pick your role below to see the framing and takeaway that fit you."
LONG_DEF_LABEL = "In depth"
DO_LABEL = "✅ Do"
DONT_LABEL = "🚫 Don't"
GOVERNANCE_LABEL = "Governance"
NIST_LABEL = "NIST AI RMF"
RISK_LABEL = "Risk notes"
SOURCES_LABEL = "Sources"
RELATED_LABEL = "Related terms"
NOT_IN_GLOSSARY_LABEL = "Not in the glossary yet"
MORE_RELATED_LABEL = "Also related"
STATUS_LABEL = "Status"
REVIEWED_LABEL = "Last reviewed"
LICENSE_LABEL = "License"


def showing_results_for(name: str) -> str:
    """The notice above a fuzzy match (pass it to `build_answer(notice=...)`)."""
    return f"Showing results for *{name.replace('*', '')}*"


def for_role(role: Role) -> str:
    """The heading of the role section: it names the role the answer is tailored to."""
    return f"Role: {role.title}"


def shared_by(mention: str) -> str:
    """`mention` is already Slack markup (`<@U123>`) built and checked by the caller."""
    return f"Shared by {mention}"


def full_definition_of(title: str) -> str:
    return f"Full definition of {title}"


# --- resolution outcomes ---------------------------------------------------------------------


def not_found(text: str) -> str:
    return f"I couldn't find “{text}” in the glossary."


NOT_FOUND_SUGGESTIONS = "Did you mean one of these?"
NOT_FOUND_REQUEST = "Not what you need? Ask for it to be added."
EMPTY_QUERY = f"Which term? Try `{COMMAND} RAG` or `{COMMAND} help`."


def ambiguous(text: str) -> str:
    return f"“{text}” could mean more than one term. Which one did you mean?"


def search_results(words: str, count: int) -> str:
    noun = "term" if count == 1 else "terms"
    return f"{count} {noun} matching “{words}”"


def search_empty(words: str) -> str:
    return f"Nothing in the glossary matches “{words}”. Try fewer or different words."


LIST_EMPTY = "No terms here yet."


def more_not_shown(count: int) -> str:
    noun = "term" if count == 1 else "terms"
    return f"…and {count} more {noun}. Narrow it down with `{COMMAND} search <words>`."


MENTIONS_TITLE = "Glossary terms in this message"
MENTIONS_NONE = "I didn't find any glossary terms in that message."

# --- /define grammar: usage and mistakes -----------------------------------------------------

OPTIONS_HELP = "--role ROLE (or -r ROLE), --help"


def role_names(roles: Iterable[Role]) -> str:
    """Role names as people can type them: "product, engineering, data science, ..."."""
    return ", ".join(role.name.replace("_", " ") for role in roles)


def unknown_option(option: str) -> str:
    return (
        f"I don't know the option “{option}”. Options: {OPTIONS_HELP}. "
        f"Type `{COMMAND} help` for examples."
    )


def unknown_role(word: str, roles: Iterable[Role]) -> str:
    return (
        f"“{word}” isn't a role I know. Roles: {role_names(roles)} "
        "(short forms like pm, eng, ds, sec and comms work too)."
    )


def missing_role(roles: Iterable[Role]) -> str:
    return f"Which role? For example `{COMMAND} role engineering`. Roles: {role_names(roles)}."


def missing_role_value(roles: Iterable[Role]) -> str:
    return (
        f"Add a role after --role, for example `{COMMAND} RAG --role engineering`. "
        f"Roles: {role_names(roles)}."
    )


SEARCH_USAGE = f"What should I search for? Try `{COMMAND} search model evaluation`."
REQUEST_USAGE = f"Which term should be added? Try `{COMMAND} request prompt caching`."
LOOKUP_MISSING_TERM = f"Which term? Try `{COMMAND} RAG --role product`."


def role_saved(role: Role) -> str:
    return f"Saved: answers will be framed for a {role.title} unless you ask for another role."


ROLE_CLEARED = "Saved: no default role. Answers will show both framings."

# --- help ------------------------------------------------------------------------------------

HELP_TITLE = "How to use the glossary"
HELP_INTRO = "Ask what a term means. Answers are private until you share them."


def help_lines(roles: Iterable[Role]) -> list[tuple[str, str]]:
    """(what you type, what it does) pairs for the help message and the App Home."""
    return [
        (f"{COMMAND} RAG", "what a term means"),
        (
            f"{COMMAND} RAG --role engineering",
            "framed for a role (also: -r eng, as a pm, for legal)",
        ),
        (f"{COMMAND} search <words>", "find terms by words in their definitions"),
        (f"{COMMAND} list [category or role]", "list terms"),
        (f"{COMMAND} role <role>", "save your default role (role clear forgets it)"),
        (f"{COMMAND} request <term>", "ask for a missing term to be added"),
        (f"{COMMAND} help", "this message"),
        ("Roles", role_names(roles)),
    ]


HELP_MENTION = "You can also mention me in a channel (@glossary what is RAG?) or send me a DM."

# --- App Home --------------------------------------------------------------------------------

HOME_TITLE = "Glossary"
HOME_INTRO = (
    "I explain the words we use for AI work, framed for your role. "
    "Everything I answer is private until you share it."
)
HOME_ROLE_LABEL = "*Your role*"
HOME_ROLE_NONE = "No role chosen: answers show both the executive and engineering framings."
HOME_BROWSE_LABEL = "*Browse by category*"
HOME_PICK_CATEGORY = "Choose a category to see its terms."

# --- listener replies ------------------------------------------------------------------------

TERM_GONE = f"That term is no longer in the glossary. Try {COMMAND} with its name."
CANNOT_POST_HERE = (
    "I can't post in this conversation yet. Add me to the channel "
    "(type /invite and pick the glossary app), then press Share again."
)
RELOAD_IS_A_COMMAND = f"Reloading the glossary is done with `{COMMAND} reload` (triagers only)."
ALL_TERMS = "All terms"

# --- errors shown to people (never exception text) -------------------------------------------

GENERIC_ERROR = "Sorry, something went wrong on my side. Please try again in a minute."
