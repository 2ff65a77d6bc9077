"""`python -m bot resolve`: one JSON line per query line, or one error line and exit 2."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from resolve_terms import REPO, small_glossary

from bot.cli.resolve import resolve_lines

FIXTURE_TERMS = REPO / "tests" / "fixtures" / "render"


def bot_resolve(
    stdin: str, *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GLOSSARY_")}
    environment.update({"PYTHONIOENCODING": "utf-8", **(env or {})})
    done = subprocess.run(
        [sys.executable, "-m", "bot", "resolve", *map(str, args)],
        cwd=REPO,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def records(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


class TestResolveLines:
    """The records, exactly as the issue specifies them."""

    def test_one_record_per_line_in_order(self) -> None:
        out = io.StringIO()
        queries = "rag\nsupervised fine-tuning\nhalucination\nkafka\n\nmodel registry\n"
        resolve_lines(small_glossary(), io.StringIO(queries), out)
        *answered, suggested = records(out.getvalue())
        assert answered == [
            {
                "query": "rag",
                "status": "found",
                "slug": "retrieval-augmented-generation",
                "candidates": [],
            },
            {
                "query": "supervised fine-tuning",
                "status": "ambiguous",
                "slug": None,
                "candidates": ["fine-tuning", "instruction-tuning"],
            },
            {"query": "halucination", "status": "fuzzy", "slug": "hallucination", "candidates": []},
            {"query": "kafka", "status": "not_found", "slug": None, "candidates": []},
            {"query": "", "status": "not_found", "slug": None, "candidates": []},
        ]
        assert suggested["status"] == "suggest"
        assert suggested["slug"] is None
        assert suggested["candidates"][0] == "prompt-registry"  # type: ignore[index]

    def test_unicode_is_written_as_is(self) -> None:
        out = io.StringIO()
        resolve_lines(small_glossary(), io.StringIO("“embedding”\r\n"), out)
        assert out.getvalue().startswith('{"query": "“embedding”", "status": "found"')


class TestCommand:
    """The command as a user runs it."""

    def test_reads_stdin_and_writes_json_lines(self) -> None:
        done = bot_resolve("model card\nwhat is a model report?\nkafka\n", "--terms", FIXTURE_TERMS)
        assert done.returncode == 0
        assert [(r["status"], r["slug"]) for r in records(done.stdout)] == [
            ("found", "model-card"),
            ("found", "model-card"),
            ("not_found", None),
        ]

    def test_the_folder_can_come_from_the_environment(self) -> None:
        done = bot_resolve("model card\n", env={"GLOSSARY_TERMS_DIR": str(FIXTURE_TERMS)})
        assert done.returncode == 0
        assert records(done.stdout)[0]["slug"] == "model-card"

    def test_the_default_folder_is_the_repos_glossary(self) -> None:
        done = bot_resolve("no such term at all\n")
        assert done.returncode == 0
        assert records(done.stdout)[0]["slug"] is None

    def test_a_missing_folder_is_one_error_line(self, tmp_path: Path) -> None:
        done = bot_resolve("rag\n", "--terms", tmp_path / "absent")
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.startswith("error: ")
        assert len(done.stderr.strip().splitlines()) == 1

    def test_broken_files_are_skipped_with_a_note(self, tmp_path: Path) -> None:
        (tmp_path / "broken.yml").write_text("term: [unclosed\n", encoding="utf-8")
        done = bot_resolve("broken\n", "--terms", tmp_path)
        assert done.returncode == 0
        assert "skipped 1 term file" in done.stderr
        assert records(done.stdout)[0]["status"] == "not_found"
