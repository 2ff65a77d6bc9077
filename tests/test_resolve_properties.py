"""Properties: every name and alias finds its term however it is typed; no input raises."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from resolve_terms import CORPUS_TERMS, NO_CORPUS, REPO, small_glossary

from bot.glossary.model import Term
from bot.glossary.normalize import light_key
from bot.glossary.resolve import Glossary, Resolution

# How Slack delivers a term someone typed, formatted or asked about.
WRAPPERS = (
    "{}",
    "*{}*",
    "_{}_",
    "~{}~",
    "`{}`",
    "```{}```",
    "*_{}_*",
    "<@U0BOT123> {}",
    "<@U0BOT123|glossary> {}?",
    "<!here> {}",
    "<#C0123|general> {}",
    "{} <https://example.com|docs>",
    "{} <https://example.com>",
    "“{}”",
    "‘{}’",
    '"{}"',
    "&gt; {}",
    "{} :thinking_face:",
    "{}?",
    "  {}  ",
    "what is {}?",
    "what does {} mean?",
    "can someone explain {} pls",
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def corpus() -> Glossary:
    return Glossary.from_folder(CORPUS_TERMS)[0]


@functools.cache
def fixture_glossary() -> Glossary:
    return small_glossary()


@functools.cache
def repo_glossary() -> Glossary:
    """Our own starter glossary in terms/."""
    return Glossary.from_folder(REPO / "terms")[0]


def glossaries() -> list[Glossary]:
    found = [fixture_glossary(), repo_glossary()]
    if CORPUS_TERMS.is_dir():
        found.append(corpus())
    return found


def names_and_aliases(glossary: Glossary) -> list[tuple[Term, str]]:
    return [(t, key) for t in glossary.terms.values() for key in (t.term, *t.aliases)]


@st.composite
def any_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(text, flips, strict=True))


def resolves_to(resolution: Resolution, term: Term, key: str) -> bool:
    """The term itself, ambiguity that offers it, or a term whose own name the key is.

    The last case is the precedence rule: a term's name beats another term's alias.
    """
    if resolution.slug == term.slug:
        return True
    if resolution.status == "ambiguous":
        return term in resolution.candidates
    other = resolution.term
    return other is not None and light_key(other.term) == light_key(key)


def check_every_key(glossary: Glossary, data: st.DataObject) -> None:
    term, key = data.draw(st.sampled_from(names_and_aliases(glossary)), label="key")
    typed = data.draw(any_case(key), label="typed")
    query = data.draw(st.sampled_from(WRAPPERS), label="wrapper").format(typed)
    resolution = glossary.resolve(query)
    assert resolves_to(resolution, term, key), (query, resolution.status, resolution.slug)


@SETTINGS
@given(data=st.data())
def test_every_name_and_alias_resolves_to_its_term(data: st.DataObject) -> None:
    check_every_key(fixture_glossary(), data)


@SETTINGS
@given(data=st.data())
def test_every_starter_name_and_alias_resolves_to_its_term(data: st.DataObject) -> None:
    check_every_key(repo_glossary(), data)


@pytest.mark.skipif(not CORPUS_TERMS.is_dir(), reason=NO_CORPUS)
@SETTINGS
@given(data=st.data())
def test_every_corpus_name_and_alias_resolves_to_its_term(data: st.DataObject) -> None:
    check_every_key(corpus(), data)


@pytest.mark.parametrize("source", ["fixture", "starter", "corpus"])
def test_every_name_and_alias_as_typed(source: str) -> None:
    """All of them, plainly typed: the exhaustive version of the properties above."""
    if source == "corpus" and not CORPUS_TERMS.is_dir():
        pytest.skip(NO_CORPUS)
    glossary = {"fixture": fixture_glossary, "starter": repo_glossary, "corpus": corpus}[source]()
    wrong = [
        (key, glossary.resolve(key).status)
        for term, key in names_and_aliases(glossary)
        if not resolves_to(glossary.resolve(key), term, key)
    ]
    assert wrong == []


SLACKISH = st.text(alphabet=st.sampled_from("<>|@#!&;*_~`:?-'\" aAbBkKvV1\n\t\u2019\u201c"))


@SETTINGS
@given(text=st.one_of(st.text(max_size=300), SLACKISH, st.text(min_size=400, max_size=800)))
def test_arbitrary_text_never_raises(text: str) -> None:
    for glossary in glossaries():
        resolution = glossary.resolve(text)
        assert resolution.query == text
        assert (resolution.term is not None) == (resolution.status in ("found", "fuzzy"))
        assert resolution.status != "ambiguous" or len(resolution.candidates) >= 2
        glossary.search(text)
        glossary.mentions(text)
        glossary.find_by_name(text)
