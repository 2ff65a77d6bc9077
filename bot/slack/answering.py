"""The steps every listener shares: whose role applies, and which message answers a query.

These sit between a listener (which knows where the answer goes) and the builders in
`blocks.py` (which know how it looks): parsed request + role + where it lives -> Message.
`/define`, mentions and DMs all go through `reply_for`, so they understand the same grammar.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.glossary.render import build_answer
from bot.glossary.resolve import Glossary, Resolution
from bot.glossary.roles import Role
from bot.intake import texts as intake_texts
from bot.intake.flow import Intake
from bot.slack import blocks, grammar, intake_blocks, messages
from bot.slack.blocks import AnswerState, Message
from bot.slack.deps import Deps
from bot.slack.rendered import AnswerKey
from bot.store import StoreError, lookup_key

log = logging.getLogger(__name__)

# A saved role is a nicety: if the store is slow, answer without it rather than miss
# Slack's 3-second window.
ROLE_LOOKUP_TIMEOUT = 1.0


async def saved_role(deps: Deps, user_id: str) -> str | None:
    """The user's saved role name, or None (also when the store cannot answer in time)."""
    known, role = deps.saved_roles.recent(user_id)
    if known:
        return role
    try:
        return await asyncio.wait_for(deps.saved_roles.get(user_id), ROLE_LOOKUP_TIMEOUT)
    except (TimeoutError, StoreError):
        log.warning(
            "could not read the saved role of %s; using the default", user_id, exc_info=True
        )
        return None


async def effective_role(deps: Deps, user_id: str, explicit: str | None) -> Role | None:
    """Explicit role > the user's saved role > GLOSSARY_DEFAULT_ROLE > none (both framings)."""
    if explicit and explicit != blocks.ROLE_NONE_VALUE:
        role = deps.roles.find(explicit)
        if role is not None:
            return role
    if explicit == blocks.ROLE_NONE_VALUE:
        return None
    saved = await saved_role(deps, user_id)
    if saved:
        role = deps.roles.find(saved)
        if role is not None:
            return role
    default = deps.settings.GLOSSARY_DEFAULT_ROLE
    return deps.roles.find(default) if default else None


def is_term(glossary: Glossary) -> Callable[[str], bool]:
    """For the grammar: does this whole text name a term (so "AI for security" stays whole)?"""
    return lambda text: glossary.find_by_name(text) is not None


def term_message(
    deps: Deps,
    glossary: Glossary,
    slug: str,
    role: Role | None,
    *,
    thread_ts: str | None = None,
    public: bool = False,
    shared_by: str | None = None,
    notice: str = "",
) -> Message | None:
    """The answer about the term `slug`, or None when the glossary no longer has it."""
    role_name = role.name if role is not None else None
    key = AnswerKey(slug, role_name, notice, thread_ts, public, shared_by)
    return deps.rendered.get(glossary, key, lambda: _render_answer(deps, glossary, key, role))


def _render_answer(
    deps: Deps, glossary: Glossary, key: AnswerKey, role: Role | None
) -> Message | None:
    term = glossary.get(key.slug)
    if term is None:
        return None
    answer = build_answer(term, role, deps.roles, glossary, key.notice)
    state = AnswerState.for_answer(
        answer, thread_ts=key.thread_ts, public=key.public, shared_by=key.shared_by
    )
    return blocks.answer_message(answer, state=state, roles=deps.roles)


def resolution_message(
    deps: Deps,
    glossary: Glossary,
    resolution: Resolution,
    role: Role | None,
    *,
    thread_ts: str | None = None,
    public: bool = False,
) -> Message:
    """What to say for a resolved query: the answer, a choice, or suggestions to request it."""
    role_name = role.name if role is not None else None
    if resolution.term is not None and resolution.status in ("found", "fuzzy"):
        notice = ""
        if resolution.status == "fuzzy":
            notice = messages.showing_results_for(resolution.term.term)
        message = term_message(
            deps,
            glossary,
            resolution.term.slug,
            role,
            thread_ts=thread_ts,
            public=public,
            notice=notice,
        )
        if message is not None:  # always: the resolution came from this glossary
            return message
    if resolution.status == "ambiguous" and resolution.candidates:
        return blocks.ambiguous_message(resolution, role_name)
    return blocks.not_found_message(resolution, role_name)


def long_def_message(
    deps: Deps, glossary: Glossary, slug: str, role: Role | None
) -> Message | None:
    term = glossary.get(slug)
    if term is None:
        return None
    return blocks.long_def_message(build_answer(term, role, deps.roles, glossary))


def resolve_and_log(deps: Deps, glossary: Glossary, query: str, user_id: str) -> Resolution:
    """Resolve a query, and log the look-up (for /define stats; stored a moment later)."""
    resolution = glossary.resolve(query)
    deps.metrics.lookup(resolution.status)
    key = lookup_key(resolution.text or query)
    deps.lookups.add(user_id, query, resolution.status, resolution.slug, key=key)
    return resolution


async def reply_for(
    deps: Deps,
    glossary: Glossary,
    parsed: grammar.DefineCommand,
    user_id: str,
    *,
    thread_ts: str | None = None,
    public: bool = False,
) -> Message:
    """The reply to one parsed request. `public` answers (mentions, DMs) carry no Share button."""
    match parsed:
        case grammar.Lookup(query=query, role=explicit):
            resolution = resolve_and_log(deps, glossary, query, user_id)
            role = await effective_role(deps, user_id, explicit)
            return resolution_message(
                deps, glossary, resolution, role, thread_ts=thread_ts, public=public
            )
        case grammar.Help():
            return blocks.help_message(deps.roles)
        case grammar.Search(words=words):
            role_name = await _role_name(deps, user_id)
            return blocks.search_message(words, glossary.search(words), role=role_name)
        case grammar.ListTerms(filter=wanted, role=role_filter):
            return await _list_reply(deps, glossary, wanted, role_filter, user_id)
        case grammar.SetRole(role=role_name):
            await deps.saved_roles.set(user_id, role_name)
            role = deps.roles.find(role_name) if role_name else None
            text = messages.role_saved(role) if role is not None else messages.ROLE_CLEARED
            return blocks.notice_message(text)
        case grammar.Invalid(message=problem):
            return blocks.notice_message(problem)
        case grammar.Request(term=term):
            # Free text (mentions, DMs) carries no trigger_id to open the request form with:
            # look the term up; a missing term's answer offers "Request this term".
            lookup = grammar.Lookup(term)
            return await reply_for(
                deps, glossary, lookup, user_id, thread_ts=thread_ts, public=public
            )
        case grammar.Requests() | grammar.Stats():
            return await intake_reply(deps, parsed, user_id)
        case grammar.Reload():
            # Reloading reports back through the slash command's response_url.
            return blocks.notice_message(messages.RELOAD_IS_A_COMMAND)
    raise AssertionError(f"unhandled command {parsed!r}")  # pragma: no cover


async def intake_reply(
    deps: Deps, parsed: grammar.Requests | grammar.Stats, user_id: str
) -> Message:
    """`requests` (mine, with their status) and `stats` (triagers only), however asked."""
    intake = Intake.from_settings(deps.store, deps.settings)
    if isinstance(parsed, grammar.Requests):
        tallies, more = await intake.requests_of(user_id)
        return intake_blocks.requests_message(tallies, more)
    if not intake.is_triager(user_id):
        return blocks.notice_message(intake_texts.STATS_TRIAGERS_ONLY)
    await deps.lookups.flush()  # count the look-ups of the last moment too
    return intake_blocks.stats_message(await intake.stats())


async def _role_name(deps: Deps, user_id: str) -> str | None:
    role = await effective_role(deps, user_id, None)
    return role.name if role is not None else None


async def _list_reply(
    deps: Deps, glossary: Glossary, wanted: str | None, role_filter: str | None, user_id: str
) -> Message:
    reader_role = await _role_name(deps, user_id)
    if wanted:
        category = _category_named(glossary, wanted)
        if category is not None:
            terms = glossary.list_terms(category=category)
            return blocks.list_message(category, terms, role=reader_role)
    if role_filter:
        role = deps.roles.find(role_filter)
        title = role.title if role is not None else role_filter
        return blocks.list_message(title, glossary.list_terms(role=role_filter), role=role_filter)
    if wanted:
        return blocks.list_message(wanted, [], role=reader_role)
    return blocks.list_message(messages.ALL_TERMS, glossary.list_terms(), role=reader_role)


def _category_named(glossary: Glossary, wanted: str) -> str | None:
    key = wanted.strip().casefold()
    for category in glossary.categories():
        if category.casefold() == key:
            return category
    return None
