"""Every sentence of the term-request flow, as plain data.

Same conventions as `bot/slack/messages.py`: plain, *unescaped* text. The builders in
`bot/slack/intake_blocks.py` put user text in and escape the whole sentence once, so nothing
here (or typed by a person) can become a mention, a broadcast or a link; Slack markup (a
person's mention, a link) is added by the builders only, from checked parts. Plain and short:
people read these on phones, and the requester may be new to the glossary.
"""

from __future__ import annotations

COMMAND = "/define"

# --- the request form ----------------------------------------------------------------------

MODAL_TITLE = "Request a term"  # modal titles: at most 24 characters
MODAL_TITLE_CLARIFY = "Suggest a clarification"
SUBMIT = "Send"
CLOSE = "Cancel"
TERM_LABEL = "Term or phrase"
TERM_PLACEHOLDER = "e.g. prompt caching"
WHERE_LABEL = "Where did you see it?"
WHERE_PLACEHOLDER = "A meeting, a document, a channel…"
WHY_LABEL = "Why does it matter?"
WHY_LABEL_CLARIFY = "What is unclear or missing?"
WHY_PLACEHOLDER = "What were you trying to understand or decide?"
ROLES_LABEL = "Who else is affected?"
ROLES_PLACEHOLDER = "Choose roles"
URGENCY_LABEL = "How urgent is it?"
URGENCY_PLACEHOLDER = "Choose one"
URGENCY_NAMES = {
    "now": "Now: it is blocking someone",
    "this_quarter": "This quarter",
    "evergreen": "Evergreen: good to have",
}
URGENCY_SHORT = {"now": "Now", "this_quarter": "This quarter", "evergreen": "Evergreen"}
LINKS_LABEL = "Helpful links"
LINKS_HINT = "Optional. Web links (http or https), one per line."
ANONYMOUS_LABEL = "Privacy"
ANONYMOUS_OPTION = "Ask anonymously"
ANONYMOUS_DESCRIPTION = "Your name stays out of the intake channel."  # at most 75 characters
ANONYMOUS_HINT = "Either way, I'll tell you privately when the term ships."
SOURCE_NOTE = "I'll include a link to the message you started from."
CLARIFY_NOTE = "You're suggesting a clarification of “{term}”, which is already in the glossary."

# --- problems shown on the form (response_action: errors) -----------------------------------

TERM_EMPTY = "Write the term you would like defined."
REASON_EMPTY = "Say in a few words why, so the people who asked understand."


def too_long(limit: int) -> str:
    return f"That's a bit long: please keep it under {limit} characters."


def too_many_links(limit: int) -> str:
    return f"Please add at most {limit} links."


def not_a_link(text: str) -> str:
    return f"“{text}” isn't a web link. Links start with http:// or https://"


def rate_limited(limit: int) -> str:
    noun = "request" if limit == 1 else "requests"
    return (
        f"You've sent {limit} {noun} in the last hour, which is the most I take at once. "
        "Thank you for helping the glossary grow! Please try again in a little while."
    )


# --- answers instead of the form -------------------------------------------------------------

ALREADY_TITLE = "Already in the glossary"
OK = "OK"


def already_defined(name: str) -> str:
    return (
        f"“{name}” is already in the glossary. Look it up any time with {COMMAND} {name}. "
        "If something about it is unclear, press “Suggest a clarification” under its answer."
    )


def already_defined_notice(name: str) -> str:
    """Above the answer when `/define request X` asks for a term the glossary has."""
    return f"“{name}” is already in the glossary, so here it is"


# --- the intake post -------------------------------------------------------------------------

POST_NEW = "Term request"
POST_CLARIFY = "Clarification"
REQUESTED_BY = "Requested by"
ANONYMOUS_REQUESTER = "Anonymous"
STATUS = "Status"
WAITING = "Waiting"
URGENCY = "Urgency"
ROLES = "Roles affected"
ABOUT_TERM = "About the term"
WHERE = "Where they saw it"
WHY = "Why it matters"
WHY_CLARIFY = "What is unclear"
LINKS = "Links"
SOURCE = "The message that prompted it"
STATUS_NAMES = {
    "open": "Open",
    "accepted": "Accepted",
    "declined": "Declined",
    "published": "Published",
}
ACCEPT_BUTTON = "Accept"
DECLINE_BUTTON = "Decline…"
PUBLISHED_BUTTON = "Mark published"
ACCEPTED_BY = "Accepted by"
DECLINED_BY = "Declined by"
PUBLISHED_BY = "Published by"
PUBLISHED_ON_RELOAD = "Published: the term is now in the glossary."
REASON = "Reason"


def people(count: int) -> str:
    return f"{count} person" if count == 1 else f"{count} people"


def request_footer(request_id: int, filed_on: str) -> str:
    return f"Request #{request_id} · filed {filed_on}"


# --- in the request's thread -----------------------------------------------------------------

PLUS_ONE = "+1 from"
PLUS_ONE_ANONYMOUS = "+1 from someone who asked anonymously"


def now_waiting(count: int) -> str:
    return f"{people(count)} waiting now."


def scaffold_intro(term: str, path: str) -> str:
    return (
        f"A starting file for “{term}”: save it as {path}, replace every TODO, "
        f"run python -m bot validate, then open a pull request."
    )


SCAFFOLD_TRIMMED = "(The rest of the file is cut here; run python -m bot new to get it all.)"

# --- triage ----------------------------------------------------------------------------------

NOT_TRIAGER = "Only the glossary triagers can accept, decline or publish requests."
NO_TRIAGERS = "No triagers are set up yet (GLOSSARY_TRIAGERS)."
REQUEST_GONE = "I can't find that request any more."
DECLINE_TITLE = "Decline request"
DECLINE_SUBMIT = "Decline"
REASON_LABEL = "Why is it declined?"
REASON_HINT = "Everyone who asked for it will read this."
REASON_PLACEHOLDER = "e.g. it's a product name, not a concept; see the team wiki"


def decline_intro(term: str) -> str:
    return f"Decline the request for “{term}”."


def already_status(term: str, status: str) -> str:
    return f"The request for “{term}” is already {STATUS_NAMES.get(status, status).lower()}."


# --- direct messages to the people who asked --------------------------------------------------


def filed(term: str, *, anonymous: bool) -> str:
    text = (
        f"Thanks! I've passed your request for “{term}” to the glossary maintainers. "
        "They'll accept it, write it and publish it, or tell you why not; "
        "I'll message you here at each step."
    )
    if anonymous:
        text += " You asked anonymously, so your name isn't shown to anyone."
    return text


def joined(term: str, waiting: int) -> str:
    others = waiting - 1
    who = "someone else has" if others == 1 else f"{others} others have"
    return (
        f"Good news: {who} already asked for “{term}”, so it's being tracked. "
        f"I've added you: {people(waiting)} waiting now. I'll message you when it changes."
    )


def already_waiting(term: str, waiting: int) -> str:
    return (
        f"You're already waiting for “{term}” ({people(waiting)} in all). "
        "I'll message you as soon as it changes."
    )


def accepted(term: str) -> str:
    return f"Your request for “{term}” was accepted: a maintainer is writing it now."


def declined(term: str) -> str:
    return f"Your request for “{term}” was declined."


def published(term: str) -> str:
    return f"“{term}” is now in the glossary. Here it is:"


def published_pending(term: str) -> str:
    return (
        f"“{term}” has been published. It will answer in {COMMAND} as soon as the glossary reloads."
    )


# --- /define requests and /define stats -------------------------------------------------------

REQUESTS_TITLE = "Your term requests"
REQUESTS_NONE = f"You haven't asked for any terms yet. Try {COMMAND} request <term>."


def request_row(term: str, status: str, waiting: int, filed_on: str) -> str:
    return f"{term}: {STATUS_NAMES.get(status, status)} · {people(waiting)} waiting · {filed_on}"


def more_requests(count: int) -> str:
    return f"…and {count} older."


STATS_TITLE = "Requests and misses"
STATS_TRIAGERS_ONLY = "Only the glossary triagers can see request statistics."
MOST_REQUESTED = "Most requested (open and accepted)"
MOST_MISSED = "Most frequent look-ups that found nothing (last 30 days)"
NOTHING_YET = "Nothing yet."


def tally_row(name: str, count: int, status: str | None = None) -> str:
    status_text = f" ({STATUS_NAMES.get(status, status).lower()})" if status else ""
    return f"{name}{status_text}: {count}"
