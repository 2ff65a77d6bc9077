"""The Dockerfile's build steps, replayed outside Docker, give a working `python -m bot`.

No Docker engine runs where the tests run, so this test reads the build stage of the
Dockerfile and carries out its WORKDIR, COPY and RUN steps in a temporary folder, with the
image's absolute paths mapped into that folder. It then runs the installed command the way
the runtime stage does: from another folder, with the baked-in glossary.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"


def build_stage(text: str) -> list[tuple[str, str]]:
    """(instruction, argument) pairs of the first stage, with continuation lines joined."""
    joined = text.replace("\\\n", " ")
    steps: list[tuple[str, str]] = []
    stages = 0
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        if instruction.upper() == "FROM":
            stages += 1
            if stages > 1:
                break
            continue
        steps.append((instruction.upper(), argument.strip()))
    return steps


@pytest.mark.slow
def test_build_steps_install_a_working_command(tmp_path: Path) -> None:
    root = tmp_path / "image"

    def inside(path: str) -> Path:
        return root / path.lstrip("/")

    workdir = inside("/")
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for instruction, argument in build_stage(DOCKERFILE.read_text()):
        if instruction == "WORKDIR":
            workdir = inside(argument)
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY":
            *sources, destination = shlex.split(argument)
            target = workdir / destination
            for source in sources:
                origin = REPO / source
                if origin.is_dir():
                    shutil.copytree(origin, workdir / destination, dirs_exist_ok=True)
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(origin, target)
        elif instruction == "RUN":
            command = argument.replace("/opt/", f"{root}/opt/")
            command = command.replace("python -m venv", f"{sys.executable} -m venv")
            subprocess.run(["bash", "-c", command], cwd=workdir, env=environment, check=True)
        elif instruction == "ENV":
            continue
        else:
            pytest.fail(f"the test does not know how to replay {instruction}; teach it")

    python = inside("/opt/venv/bin/python")
    assert python.exists(), "the build stage did not create /opt/venv"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(REPO / "terms", elsewhere / "terms")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("GLOSSARY_", "SLACK_"))}
    run_env["GLOSSARY_TERMS_DIR"] = str(elsewhere / "terms")

    helped = subprocess.run(
        [str(python), "-m", "bot", "--help"],
        cwd=elsewhere,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert helped.returncode == 0, helped.stderr
    assert "serve" in helped.stdout
    checked = subprocess.run(
        [str(python), "-m", "bot", "validate", "--strict"],
        cwd=elsewhere,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 errors, 0 warnings" in checked.stdout
