"""The playground in a real browser: headless Chromium drives the page as a person would.

One playground (the stand-in plus the real bot) and one browser serve the whole module; each
test gets a fresh browser context and an emptied workspace. Assertions are on what the page
shows. Needs Debian's `chromium` and the `playwright` package (the dev extra); without them
the tests skip with the reason, or fail when GLOSSARY_TEST_REQUIRE_BROWSER=1 (as in CI).
`playwright install` is never needed: Playwright drives the system's Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playground_harness import ALEX, SAM, PlaygroundProcess

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


def _chromium() -> str | None:
    candidates = [os.environ.get("GLOSSARY_TEST_CHROMIUM"), shutil.which("chromium")]
    candidates.append("/usr/bin/chromium")
    return next((c for c in candidates if c and Path(c).is_file()), None)


def _unavailable(reason: str) -> None:
    if os.environ.get("GLOSSARY_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = _chromium()
    if executable is None:
        _unavailable("no Chromium found (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def playground(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlaygroundProcess]:
    process = PlaygroundProcess(tmp_path_factory.mktemp("playground")).start()
    yield process
    process.stop()


@pytest.fixture
def page(browser: Browser, playground: PlaygroundProcess) -> Iterator[Page]:
    playground.post("reset")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(playground.url)
    expect(tab.get_by_label("Message composer")).to_be_visible()
    yield tab
    context.close()
    assert errors == [], f"the page raised: {errors}"


def type_in(page: Page, text: str, composer: str = "Message composer") -> None:
    box = page.get_by_label(composer)
    box.fill(text)
    box.press("Enter")


def act_as(page: Page, user: str) -> None:
    page.get_by_label("Acting as").select_option(user)
    expect(page.get_by_label("Acting as")).to_have_value(user)


def open_sidebar(page: Page, name: str | re.Pattern[str]) -> None:
    page.get_by_role("navigation").get_by_role("link", name=name).click()


def main_list(page: Page) -> Any:
    return page.locator("main .message-list")


def test_define_then_follow_a_related_term_pick_a_role_and_share(page: Page) -> None:
    type_in(page, "/define RAG")
    private = main_list(page).locator(".msg-ephemeral")
    expect(private).to_have_count(1)
    expect(private).to_contain_text("Only visible to you")
    expect(private.locator(".bk-header")).to_have_text("retrieval-augmented generation")

    private.get_by_role("button", name="vector database").click()
    expect(private.locator(".bk-header")).to_have_text("vector database")
    expect(private).to_have_count(1)  # answered in place, not below

    private.get_by_label("Choose your role").select_option("engineering")
    expect(private).to_contain_text("Role: Software engineer")

    private.get_by_role("button", name="Share in channel").click()
    shared = main_list(page).locator(".msg:not(.msg-ephemeral)")
    expect(shared).to_have_count(1)
    expect(shared).to_contain_text("Shared by @alex")
    expect(shared.locator(".bk-header")).to_have_text("vector database")
    expect(private).to_have_count(0)
    expect(shared.get_by_role("button", name="Share in channel")).to_have_count(0)

    act_as(page, SAM)
    expect(main_list(page).locator(".msg")).to_have_count(1)
    expect(main_list(page)).to_contain_text("Shared by @alex")


def test_a_mention_is_answered_in_a_thread_and_a_dm_directly(page: Page) -> None:
    type_in(page, "@glossary what is RAG?")
    question = main_list(page).locator(".msg").first
    expect(question.locator(".mention")).to_have_text("@glossary")
    question.get_by_role("button", name="1 reply").click()
    thread = page.locator(".thread-pane")
    expect(thread.locator(".bk-header")).to_have_text("retrieval-augmented generation")
    expect(thread.locator(".msg")).to_have_count(2)

    open_sidebar(page, "glossary (direct message)")
    type_in(page, "LLM")
    expect(main_list(page).locator(".bk-header")).to_have_text("large language model")
    expect(page.locator(".app-tab.active")).to_have_text("Messages")


def test_request_a_missing_term_then_triage_it(page: Page) -> None:
    type_in(page, "/define quantum widget")
    main_list(page).get_by_role("button", name="Request this term").click()
    modal = page.get_by_role("dialog")
    expect(modal.locator(".modal-title")).to_have_text("Request a term")
    expect(modal.get_by_label("Term or phrase")).to_have_value("quantum widget")

    why = "Came up in the <b>roadmap</b> & planning"
    modal.get_by_label("Why does it matter?").fill(why)
    modal.get_by_label("Helpful links").fill("ftp://nope")
    modal.get_by_role("button", name="Send").click()
    expect(modal.locator(".bk-error").filter(has_text="ftp://nope")).to_be_visible()
    expect(modal.get_by_label("Why does it matter?")).to_have_value(why)  # nothing typed is lost

    modal.get_by_label("Helpful links").fill("https://example.com/roadmap")
    modal.get_by_role("button", name="Send").click()
    expect(modal).to_have_count(0)
    expect(page.get_by_role("link", name="glossary (direct message), 1 new")).to_be_visible()

    open_sidebar(page, "#glossary-intake")
    post = main_list(page).locator(".msg").filter(has_text="quantum widget")
    expect(post.locator(".bk-header")).to_have_text("Term request: quantum widget")
    expect(post).to_contain_text(why)  # shown as typed: escaped, never markup
    expect(post.locator("b", has_text="roadmap")).to_have_count(0)
    expect(post.get_by_role("link", name="https://example.com/roadmap")).to_be_visible()

    act_as(page, SAM)
    open_sidebar(page, "#glossary-intake")
    main_list(page).get_by_role("button", name="Accept").click()
    refusal = main_list(page).locator(".msg-ephemeral")
    expect(refusal).to_contain_text("Only visible to you")
    expect(refusal).to_contain_text("triagers")

    act_as(page, ALEX)
    open_sidebar(page, "#glossary-intake")
    post = main_list(page).locator(".msg").filter(has_text="quantum widget")
    post.get_by_role("button", name="Accept").click()
    expect(post).to_contain_text("Accepted by @alex")
    expect(post.get_by_role("button", name="Accept")).to_have_count(0)
    post.get_by_role("button", name="1 reply").click()
    expect(page.locator(".thread-pane .code-block")).to_contain_text("term: quantum widget")


def test_app_home_saves_a_role_and_browses_by_category(page: Page) -> None:
    open_sidebar(page, "glossary · Home")
    home = page.locator(".home-body")
    expect(page.locator(".app-tab.active")).to_have_text("Home")
    expect(home.locator(".bk-header")).to_have_text("Glossary")
    expect(home).to_contain_text("Your role")

    home.get_by_label("Choose your role").select_option("legal")
    your_role = home.locator(".bk-section").filter(has_text=re.compile("^Your role"))
    expect(your_role).to_contain_text("Legal counsel")
    home.get_by_label("Choose a category").select_option("Architecture")
    expect(home).to_contain_text("Architecture (2)")
    rows = home.locator(".bk-section").filter(has=page.get_by_role("button", name="Show"))
    expect(rows).to_have_count(2)
    rows.filter(has_text="vector database").get_by_role("button", name="Show").click()

    open_sidebar(page, "glossary (direct message), 1 new")
    answer = main_list(page).locator(".msg").last
    expect(answer.locator(".bk-header")).to_have_text("vector database")
    expect(answer).to_contain_text("Role: Legal counsel")


def test_preview_a_term_for_every_role_and_see_its_problems(page: Page) -> None:
    open_sidebar(page, "Preview a term")
    page.get_by_label("Term file").select_option("hallucination")
    results = page.locator(".preview-results")
    expect(results).to_contain_text("no problems found")
    cards = results.locator(".preview-card")
    expect(cards).to_have_count(8)
    expect(cards.first.locator(".preview-role")).to_have_text("No role chosen")
    engineer = cards.filter(has=page.locator(".preview-role", has_text="Software engineer"))
    expect(engineer).to_contain_text("Role: Software engineer")
    expect(engineer.locator(".bk-header")).to_have_text("hallucination")

    source = page.get_by_label("Term YAML").input_value()
    broken = source.replace("status: ", "status: shiny-", 1)
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "shiny-" in text)
    page.get_by_label("Term YAML").fill(broken)
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(results.locator(".problem-where")).to_contain_text([f"hallucination.yml:{line}:"])
    expect(results).to_contain_text("cannot be built")


BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "R&D <notes> :tada:"}},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*bold* _italic_ ~gone~ `x<y` snake_case_name &amp; &lt;b&gt;\n"
            "<https://example.com|a link> <javascript:alert(1)|not a link> <@U0ALEX00001>\n"
            "> quoted\n• listed\n```<img src=x onerror=alert(1)>```",
        },
        "fields": [
            {"type": "mrkdwn", "text": "*Owner*\nAlex"},
            {"type": "plain_text", "text": "a &amp; b"},
        ],
        "accessory": {
            "type": "button",
            "action_id": "more",
            "text": {"type": "plain_text", "text": "More"},
        },
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "small print"}]},
    {"type": "divider"},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "ok",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Go"},
            },
            {
                "type": "button",
                "action_id": "no",
                "style": "danger",
                "text": {"type": "plain_text", "text": "Stop"},
            },
            {
                "type": "static_select",
                "action_id": "pick",
                "placeholder": {"type": "plain_text", "text": "Pick one"},
                "options": [{"text": {"type": "plain_text", "text": "One"}, "value": "1"}],
            },
        ],
    },
    {
        "type": "input",
        "block_id": "why",
        "label": {"type": "plain_text", "text": "Why"},
        "element": {
            "type": "plain_text_input",
            "action_id": "v",
            "multiline": True,
            "max_length": 20,
        },
    },
    {
        "type": "input",
        "block_id": "who",
        "optional": True,
        "label": {"type": "plain_text", "text": "Who"},
        "element": {
            "type": "checkboxes",
            "action_id": "v",
            "options": [{"text": {"type": "plain_text", "text": "Me"}, "value": "me"}],
        },
    },
    {"type": "mystery"},
]


def test_block_kit_is_drawn_faithfully_and_never_as_html(page: Page) -> None:
    found = page.evaluate(
        """async (blocks) => {
            const kit = await import("/static/blockkit.js");
            const users = {U0ALEX00001: {handle: "alex"}};
            const root = kit.renderBlocks(blocks, {surface: "modal", users});
            document.body.append(root);
            const q = (s) => [...root.querySelectorAll(s)];
            return {
                header: root.querySelector(".bk-header").textContent,
                bold: q("b").map(n => n.textContent), italic: q("i").map(n => n.textContent),
                strike: q("s").map(n => n.textContent), code: q("code").map(n => n.textContent),
                text: root.querySelector(".bk-section .mrkdwn").textContent,
                links: q("a").map(n => [n.textContent, n.getAttribute("href")]),
                quote: q("blockquote").map(n => n.textContent), list: q(".list-item").length,
                pre: q("pre").map(n => n.textContent), images: q("img").length,
                mention: q(".mention").map(n => n.textContent),
                fields: q(".bk-field").map(n => n.textContent),
                buttons: q("button").map(n => [n.textContent, n.className]),
                options: q("select option").map(n => n.textContent),
                textarea: [root.querySelector("textarea").maxLength],
                checkboxes: q("input[type=checkbox]").length, dividers: q("hr").length,
                context: root.querySelector(".bk-context").textContent,
                unsupported: root.querySelector(".bk-unsupported").textContent,
                required: kit.clientErrors(root),
            };
        }""",
        BLOCKS,
    )
    assert found["header"] == "R&D <notes> 🎉"  # plain_text is shown as written
    assert found["bold"] == ["bold", "Owner"]
    assert (found["italic"], found["strike"]) == (["italic"], ["gone"])
    assert "x<y" in found["code"]
    assert "snake_case_name & <b>" in found["text"]  # entities decoded, no italics mid-word
    assert found["links"] == [["a link", "https://example.com"]]
    assert "not a link" in found["text"]
    assert (found["quote"], found["list"]) == (["quoted"], 1)
    assert found["pre"] == ["<img src=x onerror=alert(1)>"]
    assert found["images"] == 0
    assert found["mention"] == ["@alex"]
    assert found["fields"] == ["OwnerAlex", "a &amp; b"]  # a <br> between; plain text as is
    assert [b[0] for b in found["buttons"]] == ["More", "Go", "Stop"]
    assert "bk-primary" in found["buttons"][1][1]
    assert "bk-danger" in found["buttons"][2][1]
    assert found["options"] == ["Pick one", "One"]
    assert found["textarea"] == [20]
    assert (found["checkboxes"], found["dividers"]) == (1, 1)
    assert found["context"] == "small print"
    assert "mystery" in found["unsupported"]
    assert found["required"] == {"why": "Please complete this required field."}
