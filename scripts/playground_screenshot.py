"""Take docs/playground.png: the playground with a private answer and a thread answer.

Run from the repository: `python scripts/playground_screenshot.py [--out docs/playground.png]`.
Needs Chromium (Debian: `apt-get install chromium`; for emoji, `fonts-noto-color-emoji`) and
the `playwright` package from the dev extra (no `playwright install`: it drives the system's
Chromium).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "playground.png"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "playground", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"(http://\S+)", first)
        if not match:
            print(f"the playground did not start: {first!r}", file=sys.stderr)
            return 1
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.set_default_timeout(15_000)
            page.goto(match.group(1))
            box = page.get_by_label("Message composer")
            box.fill("@glossary what is a hallucination?")
            box.press("Enter")
            page.get_by_role("button", name="1 reply").click()
            expect(page.locator(".thread-pane .bk-header")).to_have_text("hallucination")
            box.fill("/define RAG as a pm")
            box.press("Enter")
            answer = page.locator("main .msg-ephemeral")
            expect(answer.locator(".bk-header")).to_have_text("retrieval-augmented generation")
            page.mouse.move(0, 0)
            answer.evaluate("node => node.scrollIntoView({block: 'end'})")
            page.locator(".thread-messages").evaluate("node => { node.scrollTop = 0; }")
            page.wait_for_timeout(300)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out)
            browser.close()
        print(f"wrote {args.out}")
        return 0
    finally:
        process.terminate()
        process.wait(30)


if __name__ == "__main__":
    sys.exit(main())
