"""The Dockerfile, checked without a Docker engine (none runs where the tests run).

The build stage is replayed: its WORKDIR, COPY and RUN steps are carried out in a temporary
folder, with the image's absolute paths mapped into that folder, and the installed command is
run the way the runtime stage does: from another folder, with the baked-in glossary.

The runtime stage (the last one) is read and checked: it runs as a user other than root; its
HEALTHCHECK probes /healthz on the port the command listens on and EXPOSE names; the command
is `serve`, listening on all interfaces; the glossary is copied to where GLOSSARY_TERMS_DIR
points. Each check is also run against copies of the stage with the line it guards removed or
changed, and must object to every one of them. hadolint lints the file in CI.
"""

from __future__ import annotations

import itertools
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.__main__ import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"

Step = tuple[str, str]  # (INSTRUCTION, argument)


def stages(text: str) -> list[list[Step]]:
    """Each stage's (instruction, argument) pairs, continuation lines joined, FROM left out."""
    joined = text.replace("\\\n", " ")
    found: list[list[Step]] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        if instruction.upper() == "FROM":
            found.append([])
            continue
        if not found:
            continue  # ARG before the first FROM
        found[-1].append((instruction.upper(), argument.strip()))
    return found


def build_stage(text: str) -> list[Step]:
    """The first stage: the one that installs the package."""
    return stages(text)[0]


def runtime_stage(text: str) -> list[Step]:
    """The last stage: what the image runs."""
    return stages(text)[-1]


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


# --- the runtime stage ------------------------------------------------------------------------

Problems = list[str]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
ALL_INTERFACES = ("0.0.0.0", "::")  # noqa: S104 - what the container must listen on


def exec_form(argument: str) -> list[str] | None:
    """A JSON-array argument (`["python", "-m", "bot"]`) as a list; None for shell form."""
    try:
        value = json.loads(argument)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
        return value
    return None


def last(stage: list[Step], instruction: str) -> str | None:
    """The argument of the instruction's last occurrence (the one that wins), or None."""
    found = [argument for name, argument in stage if name == instruction]
    return found[-1] if found else None


def environment(stage: list[Step]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, argument in stage:
        if instruction != "ENV":
            continue
        words = shlex.split(argument)
        if words and "=" not in words[0]:  # the old form: ENV KEY value
            env[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            env[key] = value
    return env


def serve_arguments(stage: list[Step]) -> tuple[Problems, dict[str, object]]:
    """Problems with ENTRYPOINT + CMD, and the parsed `serve` options when there are none."""
    argv: list[str] = []
    for instruction in ("ENTRYPOINT", "CMD"):
        argument = last(stage, instruction)
        if argument is None:
            continue
        words = exec_form(argument)
        if words is None:
            # Shell form puts /bin/sh in front as PID 1, and SIGTERM never reaches the bot.
            return [f"{instruction} is in shell form; use a JSON array"], {}
        argv += words
    if argv[:3] == ["python", "-m", "bot"]:
        rest = argv[3:]
    elif argv[:1] == ["glossary-bot"]:
        rest = argv[1:]
    else:
        return [f"the image runs {argv!r}, not `python -m bot`"], {}
    try:
        args = build_parser().parse_args(rest)
    except SystemExit:
        return [f"`{shlex.join(argv)}` is not a valid command line"], {}
    return [], vars(args)


def command_problems(stage: list[Step]) -> Problems:
    """The image runs `python -m bot serve` on all interfaces, reading GLOSSARY_TERMS_DIR."""
    problems, args = serve_arguments(stage)
    if problems:
        return problems
    if args["command"] != "serve":
        return [f"the command is {args['command']!r}, not 'serve'"]
    if args["host"] not in ALL_INTERFACES:
        problems.append(f"serve listens on {args['host']}, which Slack cannot reach")
    terms_dir = environment(stage).get("GLOSSARY_TERMS_DIR")
    if args["terms"] is not None and args["terms"] != terms_dir:
        problems.append(f"--terms {args['terms']} hides a glossary mounted at GLOSSARY_TERMS_DIR")
    return problems


def healthcheck_problems(stage: list[Step]) -> Problems:
    """HEALTHCHECK probes /healthz on loopback, on the port serve listens on and EXPOSE names."""
    argument = last(stage, "HEALTHCHECK")
    if argument is None or argument.upper() == "NONE":
        return [f"no HEALTHCHECK ({argument or 'missing'})"]
    probe = re.fullmatch(r"(?:--\S+\s+)*CMD\s+(.+)", argument, re.DOTALL)
    if probe is None:
        return [f"HEALTHCHECK {argument} runs no command"]
    problems, args = serve_arguments(stage)
    if problems:
        return [f"cannot tell which port the bot listens on: {problems[0]}"]
    port = args.get("port")
    exposed = [word.split("/")[0] for word in (last(stage, "EXPOSE") or "").split()]
    if str(port) not in exposed:
        problems.append(f"serve listens on {port}, but EXPOSE names {exposed or 'no port'}")
    probed = re.findall(r"https?://([^/\s'\"]+)(/[^\s'\"?#]*)", probe.group(1))
    if not any(path == "/healthz" for _, path in probed):
        return [*problems, f"HEALTHCHECK does not probe /healthz (it probes {probed})"]
    for address, path in probed:
        if path != "/healthz":
            continue
        host, _, probed_port = address.rpartition(":") if ":" in address else (address, "", "80")
        if host not in LOOPBACK_HOSTS:
            problems.append(f"HEALTHCHECK probes {host}, not the container itself")
        if probed_port != str(port):
            problems.append(f"HEALTHCHECK probes port {probed_port}, but serve listens on {port}")
    return problems


def user_problems(stage: list[Step]) -> Problems:
    """The last USER is a numeric uid other than 0 (so `runAsNonRoot` can verify it)."""
    user = last(stage, "USER")
    if user is None:
        return ["no USER: the bot would run as root"]
    name = user.split(":")[0]
    if name in ("root", "0"):
        return [f"USER {user} is root"]
    if not name.isdigit():
        return [f"USER {user}: use the numeric uid, which Kubernetes can check is not root"]
    return []


def store_problems(stage: list[Step]) -> Problems:
    """The folder of the default SQLite store belongs to the user the bot runs as."""
    url = environment(stage).get("GLOSSARY_DATABASE_URL", "")
    if not url.startswith("sqlite:////"):
        return []  # no file in the image to write
    folder = posixpath.dirname(url.removeprefix("sqlite:///"))
    uid = (last(stage, "USER") or "").split(":")[0]
    owners = {uid}
    owned: set[str] = set()
    for instruction, argument in stage:
        if instruction != "RUN":
            continue
        for command in re.split(r"&&|\|\||;", argument):
            words = shlex.split(command)
            if words[:1] == ["useradd"] and uid:
                options = dict(itertools.pairwise(words))
                if options.get("--uid", options.get("-u")) == uid:
                    owners.add(words[-1])
            if words[:1] == ["chown"]:
                operands = [word for word in words[1:] if not word.startswith("-")]
                if operands and operands[0].split(":")[0] in owners:
                    owned.update(posixpath.normpath(path) for path in operands[1:])
    if folder not in owned:
        return [f"{folder}, where the store lives, is not given to the user {uid or 'root'}"]
    return []


def glossary_problems(stage: list[Step]) -> Problems:
    """`COPY terms` lands exactly where GLOSSARY_TERMS_DIR points."""
    terms_dir = environment(stage).get("GLOSSARY_TERMS_DIR")
    if not terms_dir:
        # Its default, terms/ beside the installed package, does not exist in the image.
        return ["GLOSSARY_TERMS_DIR is not set"]
    workdir = "/"
    landed: list[str] = []
    for instruction, argument in stage:
        if instruction == "WORKDIR":
            workdir = posixpath.join(workdir, argument)
        elif instruction in ("COPY", "ADD"):
            words = exec_form(argument) or shlex.split(argument)
            if any(word.startswith("--from") for word in words):
                continue
            *sources, destination = [word for word in words if not word.startswith("--")]
            if any(posixpath.normpath(source) == "terms" for source in sources):
                landed.append(posixpath.normpath(posixpath.join(workdir, destination)))
    if not landed:
        return ["the glossary (terms/) is not copied into the image"]
    if posixpath.normpath(terms_dir) not in landed:
        return [f"terms/ is copied to {landed}, but GLOSSARY_TERMS_DIR is {terms_dir}"]
    return []


CHECKS: dict[str, Callable[[list[Step]], Problems]] = {
    "user": user_problems,
    "store": store_problems,
    "healthcheck": healthcheck_problems,
    "command": command_problems,
    "glossary": glossary_problems,
}


def test_runtime_stage_passes_every_check() -> None:
    stage = runtime_stage(DOCKERFILE.read_text())
    problems = [problem for check in CHECKS.values() for problem in check(stage)]
    assert problems == []


Mutation = Callable[[list[Step]], list[Step]]


def without(instruction: str, containing: str = "") -> Mutation:
    def mutate(stage: list[Step]) -> list[Step]:
        return [(i, a) for i, a in stage if not (i == instruction and containing in a)]

    return mutate


def edited(instruction: str, edit: Callable[[str], str], containing: str = "") -> Mutation:
    def mutate(stage: list[Step]) -> list[Step]:
        return [(i, edit(a) if i == instruction and containing in a else a) for i, a in stage]

    return mutate


def with_option(option: str, *values: str) -> Callable[[str], str]:
    """Edits an exec-form CMD: sets `option` (appending it when absent)."""

    def edit(argument: str) -> str:
        argv = json.loads(argument)
        if option in argv:
            at = argv.index(option)
            argv[at : at + 1 + len(values)] = [option, *values]
        else:
            argv += [option, *values]
        return json.dumps(argv)

    return edit


MUTATIONS: list[tuple[str, str, Mutation]] = [
    ("user", "USER removed", without("USER")),
    ("user", "USER root", edited("USER", lambda _: "root")),
    ("user", "USER 0:0", edited("USER", lambda _: "0:0")),
    ("user", "USER by name", edited("USER", lambda _: "glossary")),
    ("store", "data folder not chowned", edited("RUN", lambda a: a.split("&&")[0], "chown")),
    ("store", "store moved", edited("ENV", lambda a: a.replace("/data/", "/srv/"), "sqlite")),
    ("healthcheck", "HEALTHCHECK removed", without("HEALTHCHECK")),
    ("healthcheck", "HEALTHCHECK NONE", edited("HEALTHCHECK", lambda _: "NONE")),
    (
        "healthcheck",
        "HEALTHCHECK probes /metrics",
        edited("HEALTHCHECK", lambda a: a.replace("/healthz", "/metrics")),
    ),
    (
        "healthcheck",
        "HEALTHCHECK on another port",
        edited("HEALTHCHECK", lambda a: re.sub(r":\d+/healthz", ":8080/healthz", a)),
    ),
    (
        "healthcheck",
        "HEALTHCHECK probes another host",
        edited("HEALTHCHECK", lambda a: re.sub(r"//[^/:'\"]+", "//example.com", a)),
    ),
    ("healthcheck", "CMD on another port", edited("CMD", with_option("--port", "8080"))),
    ("healthcheck", "EXPOSE another port", edited("EXPOSE", lambda _: "8080")),
    ("healthcheck", "EXPOSE removed", without("EXPOSE")),
    ("command", "CMD removed", without("CMD")),
    ("command", "ENTRYPOINT removed", without("ENTRYPOINT")),
    ("command", "CMD socket", edited("CMD", lambda _: json.dumps(["socket"]))),
    ("command", "CMD validate", edited("CMD", lambda _: json.dumps(["validate"]))),
    ("command", "CMD in shell form", edited("CMD", lambda a: shlex.join(json.loads(a)))),
    ("command", "CMD on loopback", edited("CMD", with_option("--host", "127.0.0.1"))),
    ("command", "CMD --terms elsewhere", edited("CMD", with_option("--terms", "/srv/terms"))),
    ("glossary", "COPY terms removed", without("COPY", "terms")),
    ("glossary", "COPY terms elsewhere", edited("COPY", lambda _: "terms /srv/terms", "terms")),
    (
        "glossary",
        "GLOSSARY_TERMS_DIR changed",
        edited("ENV", lambda a: re.sub(r"GLOSSARY_TERMS_DIR=\S+", "GLOSSARY_TERMS_DIR=/srv/t", a)),
    ),
    (
        "glossary",
        "GLOSSARY_TERMS_DIR not set",
        edited("ENV", lambda a: re.sub(r"GLOSSARY_TERMS_DIR=\S+", "", a)),
    ),
]


@pytest.mark.parametrize(
    ("check", "mutate"),
    [pytest.param(check, mutate, id=name) for check, name, mutate in MUTATIONS],
)
def test_each_check_objects_when_its_line_is_removed_or_changed(
    check: str, mutate: Mutation
) -> None:
    stage = runtime_stage(DOCKERFILE.read_text())
    changed = mutate(stage)
    assert changed != stage, "the mutation no longer applies to the Dockerfile; update it"
    assert CHECKS[check](changed), f"the {check} check accepts the changed stage"


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(type(self).status if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_probe_fails_unless_healthz_answers_ok(
    health_server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch, status: int, healthy: bool
) -> None:
    """The probe itself, run against a stand-in /healthz: 503 (cannot serve) is unhealthy."""
    argument = last(runtime_stage(DOCKERFILE.read_text()), "HEALTHCHECK") or ""
    probe = exec_form(argument.split("CMD", 1)[1].strip())
    assert probe is not None, "the HEALTHCHECK command is not in exec form"
    assert probe[0] == "python", "the probe is expected to use the image's python"
    port = health_server.server_address[1]
    argv = [sys.executable, *(re.sub(r"(//[^/:'\"]+):\d+", rf"\g<1>:{port}", a) for a in probe[1:])]
    monkeypatch.setattr(_Health, "status", status)
    done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
    assert (done.returncode == 0) == healthy, done.stderr.decode()
