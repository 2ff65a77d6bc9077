"""`define`, `render` and `new` as a user runs them: exit codes, and what they print."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.glossary.load import load_term_file

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "render"
FIXTURE_TERMS = ("datasheet-for-datasets", "expert-system", "model-card")
BROKEN_TERM = "term: broken\naliases: [unclosed\n"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def bot(*args: str | Path, env: dict[str, str] | None = None) -> Run:
    """Run `python -m bot ...` from the repo root, as a user would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GLOSSARY_")}
    environment.update({"COLUMNS": "80", "PYTHONIOENCODING": "utf-8", **(env or {})})
    done = subprocess.run(
        [sys.executable, "-m", "bot", *map(str, args)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def glossary(tmp_path: Path) -> Path:
    """A writable copy of the fixture glossary."""
    folder = tmp_path / "terms"
    folder.mkdir()
    for slug in FIXTURE_TERMS:
        shutil.copy(FIXTURES / f"{slug}.yml", folder)
    return folder


class TestDefine:
    """`define` prints one term's answer, or one line saying why it cannot."""

    @pytest.mark.parametrize(
        "query",
        ["model card", "  Model   CARD ", "model-card", "model report", "MODEL FACTSHEET"],
    )
    def test_finds_a_term_by_name_slug_or_alias(self, query: str) -> None:
        run = bot("define", query, "--terms", FIXTURES)
        assert run.code == 0
        assert run.out.startswith("model card\n==========\n")
        assert run.err == ""

    @pytest.mark.parametrize(
        ("role", "heading", "takeaway_start"),
        [
            ("pm", "For the Product manager role (Executive framing)", "Takeaway: Ask what"),
            ("product", "For the Product manager role (Executive framing)", "Takeaway: Ask what"),
            ("eng", "For the Software engineer role (Engineering framing)", "Takeaway: Decide"),
            ("Legal", "For the Legal counsel role (Executive framing)", "Takeaway: Consider"),
            ("a data scientist", "For the Data scientist role (Engineering framing)", "Takeaway:"),
        ],
    )
    def test_a_role_or_its_synonym_frames_the_answer(
        self, role: str, heading: str, takeaway_start: str
    ) -> None:
        run = bot("define", "model card", "--role", role, "--terms", FIXTURES)
        assert run.code == 0
        assert f"\n{heading}\n" in run.out
        assert f"\n  {takeaway_start}" in run.out
        assert "Tip: add --role" not in run.out

    def test_prints_every_part_of_the_answer(self) -> None:
        run = bot("define", "model card", "--role", "pm", "--terms", FIXTURES)
        expected = (FIXTURES / "golden" / "model-card.product.txt").read_text(encoding="utf-8")
        assert run.out == expected

    def test_without_a_role_shows_both_framings_and_how_to_pick_one(self) -> None:
        run = bot("define", "datasheet", "--terms", FIXTURES)
        assert run.code == 0
        assert "\nExecutive framing\n" in run.out
        assert "\nEngineering framing\n" in run.out
        assert "\nTip: add --role ROLE (product, engineering," in run.out

    def test_a_deprecated_term_is_flagged_first(self) -> None:
        run = bot("define", "expert system", "--terms", FIXTURES)
        assert run.code == 0
        assert run.out.startswith("!! DEPRECATED: This term is no longer recommended.")

    def test_an_unknown_term_is_one_line_and_exit_1(self) -> None:
        run = bot("define", "quantum blockchain", "--terms", FIXTURES)
        assert run.code == 1
        assert run.out == ""
        assert run.err.startswith("No term called 'quantum blockchain' in ")
        assert run.err.count("\n") == 1

    def test_an_unknown_role_is_one_line_and_exit_2(self) -> None:
        run = bot("define", "model card", "--role", "wizard", "--terms", FIXTURES)
        assert run.code == 2
        assert run.out == ""
        assert run.err == (
            "error: unknown role 'wizard'; choose one of: product, engineering, data_science, "
            "policy, legal, security, communications\n"
        )

    def test_a_missing_folder_is_one_line_and_exit_2(self, tmp_path: Path) -> None:
        run = bot("define", "model card", "--terms", tmp_path / "nowhere")
        assert run.code == 2
        assert run.err == f"error: glossary folder {tmp_path / 'nowhere'} does not exist\n"

    def test_reads_the_folder_named_by_the_environment(self, tmp_path: Path) -> None:
        run = bot("define", "model card", env={"GLOSSARY_TERMS_DIR": str(FIXTURES)})
        assert run.code == 0
        missing = bot("define", "x", env={"GLOSSARY_TERMS_DIR": str(tmp_path / "none")})
        assert missing.code == 2
        assert "(from GLOSSARY_TERMS_DIR) does not exist" in missing.err

    def test_a_broken_file_does_not_stop_other_terms_answering(self, glossary: Path) -> None:
        (glossary / "broken.yml").write_text(BROKEN_TERM, encoding="utf-8")
        run = bot("define", "model card", "--terms", glossary)
        assert run.code == 0
        assert run.out.startswith("model card\n")
        assert run.err == (
            "note: skipped 1 term file(s) with errors; run `python -m bot validate`.\n"
        )

    def test_an_alias_shared_by_two_terms_lists_both(self, glossary: Path) -> None:
        text = (glossary / "model-card.yml").read_text(encoding="utf-8")
        (glossary / "model-card.yml").write_text(
            text.replace("- model factsheet", "- datasheet"), encoding="utf-8"
        )
        run = bot("define", "datasheet", "--terms", glossary)
        assert run.code == 1
        assert run.err == (
            "'datasheet' could mean: datasheet for datasets (datasheet-for-datasets), "
            "model card (model-card). Ask for one of them by name.\n"
        )


class TestRender:
    """`render` writes one page per term and an index, the same bytes every time."""

    def test_writes_a_page_per_term_and_an_index(self, tmp_path: Path) -> None:
        out = tmp_path / "site"
        run = bot("render", FIXTURES, "--out", out)
        assert run.code == 0
        assert run.out == f"Rendered 3 pages to {out} (plus index.md).\n"
        assert run.err == ""
        assert sorted(p.name for p in out.iterdir()) == [
            "datasheet-for-datasets.md",
            "expert-system.md",
            "index.md",
            "model-card.md",
        ]
        golden = FIXTURES / "golden"
        assert (out / "model-card.md").read_bytes() == (golden / "model-card.md").read_bytes()
        assert (out / "index.md").read_bytes() == (golden / "index.md").read_bytes()

    def test_two_runs_write_the_same_bytes(self, tmp_path: Path) -> None:
        for name in ("one", "two"):
            assert bot("render", FIXTURES, "--out", tmp_path / name).code == 0
        one = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
        two = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}
        assert one == two

    def test_broken_files_are_reported_and_skipped(self, glossary: Path, tmp_path: Path) -> None:
        (glossary / "broken.yml").write_text(BROKEN_TERM, encoding="utf-8")
        out = tmp_path / "site"
        run = bot("render", glossary, "--out", out)
        assert run.code == 1
        assert run.err.startswith(f"{glossary / 'broken.yml'}:3:1: error: YAML syntax:")
        assert run.out == (
            f"Rendered 3 pages to {out} (plus index.md). "
            "Skipped 1 file with errors (listed above).\n"
        )
        assert not (out / "broken.md").exists()
        assert (out / "model-card.md").exists()

    def test_an_output_path_that_is_a_file_is_one_line_and_exit_2(self, tmp_path: Path) -> None:
        target = tmp_path / "taken"
        target.write_text("", encoding="utf-8")
        run = bot("render", FIXTURES, "--out", target)
        assert run.code == 2
        assert run.err == f"error: cannot write pages: {target} exists and is not a folder\n"

    def test_out_is_required(self) -> None:
        run = bot("render", FIXTURES)
        assert run.code == 2
        assert "the following arguments are required: --out" in run.err


class TestNew:
    """`new` writes a scaffold the loader accepts and the validator rejects until filled in."""

    def test_creates_a_term_file_named_after_the_slug(self, tmp_path: Path) -> None:
        run = bot("new", "Prompt Injection", "--terms", tmp_path)
        path = tmp_path / "prompt-injection.yml"
        assert run.code == 0
        assert run.out == (
            f"Created {path}. Replace every TODO, then run: python -m bot validate\n"
        )
        loaded = load_term_file(path)
        assert loaded.problems == []
        assert loaded.term is not None
        assert loaded.term.term == "Prompt Injection"

    def test_validate_rejects_the_scaffold_until_the_todos_are_gone(self, tmp_path: Path) -> None:
        assert bot("new", "Prompt injection", "--terms", tmp_path).code == 0
        run = bot("validate", tmp_path)
        assert run.code == 1
        assert "TODO" in run.out

    def test_refuses_to_overwrite_without_force(self, tmp_path: Path) -> None:
        path = tmp_path / "prompt-injection.yml"
        path.write_text("mine\n", encoding="utf-8")
        run = bot("new", "Prompt injection", "--terms", tmp_path)
        assert run.code == 1
        assert run.out == f"{path} already exists; use --force to overwrite it.\n"
        assert path.read_text(encoding="utf-8") == "mine\n"

    def test_a_yaml_file_of_the_same_slug_counts_as_existing(self, tmp_path: Path) -> None:
        (tmp_path / "prompt-injection.yaml").write_text("mine\n", encoding="utf-8")
        run = bot("new", "Prompt injection", "--terms", tmp_path)
        assert run.code == 1
        assert not (tmp_path / "prompt-injection.yml").exists()

    def test_force_overwrites(self, tmp_path: Path) -> None:
        path = tmp_path / "prompt-injection.yml"
        path.write_text("mine\n", encoding="utf-8")
        run = bot("new", "Prompt injection", "--terms", tmp_path, "--force")
        assert run.code == 0
        assert run.out.startswith(f"Replaced {path}.")
        assert load_term_file(path).term is not None

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ("!!!",),
                "error: term name '!!!' has no letters or digits to make a file name from\n",
            ),
            (
                ("x", "--terms", "nowhere-at-all"),
                "error: glossary folder nowhere-at-all does not exist\n",
            ),
        ],
    )
    def test_bad_input_is_one_line_and_exit_2(
        self, tmp_path: Path, args: tuple[str, ...], message: str
    ) -> None:
        run = bot("new", *args, "--terms", tmp_path) if len(args) == 1 else bot("new", *args)
        assert run.code == 2
        assert run.err == message
