"""Rendered answers are kept per glossary: sent again unchanged, bounded, dropped on reload.

The end-to-end proof that a reload is never answered from the old glossary is
`test_ops_e2e_reload.py::TestWatching::test_an_edit_is_served_without_a_restart`.
"""

from __future__ import annotations

import gc
import weakref

from resolve_terms import TERMS, small_glossary

from bot.glossary.render import build_answer
from bot.glossary.resolve import Glossary
from bot.glossary.roles import load_roles
from bot.slack import blocks
from bot.slack.blocks import AnswerState, Message
from bot.slack.rendered import AnswerKey, RenderedAnswers

ROLES = load_roles()


class Renderer:
    """Renders real answers, and counts how often it was asked to."""

    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary
        self.calls: list[AnswerKey] = []

    def __call__(self, key: AnswerKey) -> Message | None:
        self.calls.append(key)
        term = self.glossary.get(key.slug)
        if term is None:
            return None
        role = ROLES.find(key.role) if key.role else None
        answer = build_answer(term, role, ROLES, self.glossary, key.notice)
        state = AnswerState.for_answer(
            answer, thread_ts=key.thread_ts, public=key.public, shared_by=key.shared_by
        )
        return blocks.answer_message(answer, state=state, roles=ROLES)


def ask(answers: RenderedAnswers, render: Renderer, key: AnswerKey) -> Message | None:
    return answers.get(render.glossary, key, lambda: render(key))


SLUG = TERMS[0].slug


def test_an_answer_is_rendered_once_and_sent_again_unchanged() -> None:
    answers, render = RenderedAnswers(), Renderer(small_glossary())
    first = ask(answers, render, AnswerKey(SLUG, "engineering"))
    again = ask(answers, render, AnswerKey(SLUG, "engineering"))
    assert first is not None
    assert again == first
    assert TERMS[0].term in first["text"]
    assert render.calls == [AnswerKey(SLUG, "engineering")]
    assert (answers.hits, answers.misses) == (1, 1)


def test_each_role_notice_and_place_is_its_own_answer() -> None:
    answers, render = RenderedAnswers(), Renderer(small_glossary())
    keys = [
        AnswerKey(SLUG, "engineering"),
        AnswerKey(SLUG, "legal"),
        AnswerKey(SLUG, None),
        AnswerKey(SLUG, "legal", notice="Showing results for it"),
        AnswerKey(SLUG, "legal", public=True, shared_by="U123"),
    ]
    texts = [str(ask(answers, render, key)) for key in keys]
    assert render.calls == keys
    assert len(set(texts)) == len(keys)


def test_a_caller_changing_its_copy_does_not_change_the_next_one() -> None:
    answers, render = RenderedAnswers(), Renderer(small_glossary())
    first = ask(answers, render, AnswerKey(SLUG, None))
    assert first is not None
    count = len(first["blocks"])
    first["blocks"].append({"type": "divider"})
    first["text"] = "changed"
    again = ask(answers, render, AnswerKey(SLUG, None))
    assert again is not None
    assert len(again["blocks"]) == count
    assert again["text"] != "changed"


def test_a_new_glossary_renders_afresh() -> None:
    answers = RenderedAnswers()
    ask(answers, Renderer(small_glossary()), AnswerKey(SLUG, None))
    new = Renderer(small_glossary())
    ask(answers, new, AnswerKey(SLUG, None))
    ask(answers, new, AnswerKey(SLUG, None))
    assert new.calls == [AnswerKey(SLUG, None)]
    assert len(answers) == 1


def test_a_replaced_glossary_is_not_kept_alive() -> None:
    answers = RenderedAnswers()
    render = Renderer(small_glossary())
    ask(answers, render, AnswerKey(SLUG, None))
    gone = weakref.ref(render.glossary)
    del render
    gc.collect()
    assert gone() is None
    assert len(answers) == 1  # the answers go when the next glossary is asked


def test_the_least_recently_asked_answer_goes_first() -> None:
    answers, render = RenderedAnswers(limit=2), Renderer(small_glossary())
    a, b, c = (AnswerKey(t.slug, None) for t in TERMS[:3])
    for key in (a, b, a, c):  # b is the least recently asked when c arrives
        ask(answers, render, key)
    render.calls.clear()
    ask(answers, render, a)
    ask(answers, render, c)
    assert render.calls == []
    ask(answers, render, b)
    assert render.calls == [b]
    assert len(answers) == 2


def test_a_term_the_glossary_lacks_is_none() -> None:
    answers, render = RenderedAnswers(), Renderer(small_glossary())
    assert ask(answers, render, AnswerKey("no-such-term", None)) is None
    assert ask(answers, render, AnswerKey("no-such-term", None)) is None


def test_a_limit_of_zero_keeps_nothing() -> None:
    answers, render = RenderedAnswers(limit=0), Renderer(small_glossary())
    ask(answers, render, AnswerKey(SLUG, None))
    ask(answers, render, AnswerKey(SLUG, None))
    assert len(render.calls) == 2
    assert len(answers) == 0
