"""End to end: signed `/define` requests to the real bot over HTTP, beside a minimal Bolt app.

    python -m benchmarks.e2e [--terms 10000] [--requests 1000] [--rounds 2]

The bot runs as `python -m bot serve` with the synthetic glossary (started once beforehand so
its cache is warm, then given time to finish warming up), its own SQLite file, and the test
suite's fake Slack Web API. The yardstick is `benchmarks.minimal_bolt`: an AsyncApp that acks
`/define` with fixed text, with the same `process_before_response=True` and aiohttp adapter.
A third app, "fixed", is the same minimal app acking with one answer the bot gave (of median
size): the cost of sending a real answer through Bolt and aiohttp, without finding it.

Queries mix exact names, aliases, names with a typo and phrases that name nothing, in equal
parts, all distinct within a round (N at concurrency 1, 2N at 20). The answer a user sees is
in the HTTP response to the slash command (the ack body), so each request is timed from
sending it to reading the whole response. Each round runs, for each concurrency: the bot,
then the minimal app, then the fixed one, on the same pre-signed requests; the figures are
p50, p99, requests per second and the server's CPU time per request, with the bot's answers
checked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._common import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Server,
    bot_env,
    bot_server,
    cpu_seconds,
    ensure_glossary,
    machine,
    median,
    percentile,
    running,
    save_results,
)
from benchmarks.generate import load_manifest
from bot.glossary.load import load_glossary

KINDS = ("exact", "alias", "typo", "not_found")
WARM_UP = 200
CONCURRENCIES = (1, 20)
# The bot; Bolt acking one line of text; Bolt acking a typical answer of the bot's, fixed.
APPS = ("bot", "minimal", "fixed")


def queries(folder: Path, count: int, seed: int = 11) -> list[tuple[str, str, str | None]]:
    """`count` (kind, text, expected slug) in a fixed shuffled order, kinds in equal parts."""
    manifest = load_manifest(folder)["queries"]
    picked = [
        (kind, text, slug)
        for kind in KINDS
        for text, slug in manifest[kind][: max(1, count // len(KINDS))]
    ]
    random.Random(seed).shuffle(picked)  # noqa: S311 - an order, not a secret
    return picked


def signed(texts: list[str], response_url: str) -> list[tuple[bytes, dict[str, str]]]:
    """Slash command requests signed as Slack signs them, with a timestamp of now."""
    from slack_signing import signature, slash_command_body

    out = []
    timestamp = str(int(time.time()))
    for text in texts:
        body = slash_command_body(text, response_url=response_url)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature(body, timestamp, SIGNING_SECRET),
        }
        out.append((body.encode(), headers))
    return out


async def load(
    url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> tuple[list[float], list[tuple[int, bytes]], float]:
    """Send every request, `concurrency` at a time; latencies, responses, wall time."""
    latencies: list[float] = [0.0] * len(requests)
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    next_index = iter(range(len(requests)))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for i in next_index:
                body, headers = requests[i]
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    content = await response.read()
                latencies[i] = time.perf_counter() - started
                answers[i] = (response.status, content)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return latencies, answers, wall


def check(
    answers: list[tuple[int, bytes]],
    asked: list[tuple[str, str, str | None]],
    names: dict[str, str],
) -> dict[str, int]:
    """What the user saw: a 200 with a message, naming the expected term for exact/alias."""
    bad = {"status": 0, "empty": 0, "wrong_term": 0}
    for (status, content), (kind, _, slug) in zip(answers, asked, strict=True):
        if status != 200:
            bad["status"] += 1
            continue
        message = json.loads(content or b"{}")
        if not (message.get("text") or message.get("blocks")):
            bad["empty"] += 1
        elif (
            kind in ("exact", "alias")
            and slug
            and names[slug].lower() not in content.decode().lower()
        ):
            bad["wrong_term"] += 1
    return bad


def run(count: int, requests: int, rounds: int) -> dict[str, Any]:
    from slack_fake import FakeSlack

    folder = ensure_glossary(count)
    # Distinct queries in each run (no answer can come from a warm repeat of the same text),
    # and others again for the warm-up.
    pool = queries(folder, 4 * 1000)
    needed = 3 * requests + WARM_UP
    if len(pool) < needed:
        raise SystemExit(f"at most {(len(pool) - WARM_UP) // 3} requests a run")
    names = {t.slug: t.term for t in load_glossary(folder / "terms").terms}
    results: dict[str, Any] = {"terms": count, "requests": requests, "rounds": []}
    with FakeSlack(token=BOT_TOKEN) as fake, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = str(work / "cache")
        warm = bot_server(folder / "terms", cache, work, fake.api_url)
        with running(warm):  # fills the cache, as a previous deploy would have
            warm.wait_healthy()
            time.sleep(3)
        bot = bot_server(folder / "terms", cache, work, fake.api_url)
        minimal = minimal_server(fake.api_url)
        with running(bot), running(minimal):
            bot.wait_healthy()
            time.sleep(3)  # the bot's warm-up of typo and search structures is done
            response_url = fake.response_url("benchmark")
            warm_up = [text for _, text, _ in pool[-WARM_UP:]]
            # Warm up connections, auth.test and the loop; keep the bot's answers.
            _, answers_seen, _ = warm_up_app(bot, warm_up, response_url)
            warm_up_app(minimal, warm_up, response_url)
            # The third app: minimal, but acking with an answer the bot gave (the median in
            # size of the warm-up's answers about a term). What sending an answer costs.
            fixed_file = work / "answer.json"
            fixed_file.write_text(json.dumps(typical_answer(answers_seen)))
            fixed = minimal_server(fake.api_url, BENCH_FIXED_MESSAGE=str(fixed_file))
            with running(fixed):
                warm_up_app(fixed, warm_up, response_url)
                results["fixed_answer_bytes"] = len(fixed_file.read_bytes())
                apps = (("bot", bot), ("minimal", minimal), ("fixed", fixed))
                results["rounds"] = measure(apps, pool, requests, rounds, response_url, names)
            results["bot_peak_rss_mb"] = bot.peak_rss_mb()
    results["summary"] = summarize(results["rounds"])
    return results


def warm_up_app(
    target: Server, texts: list[str], response_url: str
) -> tuple[list[float], list[tuple[int, bytes]], float]:
    return asyncio.run(load(f"{target.base_url}/slack/events", signed(texts, response_url), 4))


def minimal_server(api_url: str, **env: str) -> Server:
    return Server(
        [sys.executable, "-m", "benchmarks.minimal_bolt"],
        bot_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=api_url,
            **env,
        ),
    )


def typical_answer(answers: list[tuple[int, bytes]]) -> dict[str, Any]:
    """The answer about a term (it has a header) of median size, without `response_type`."""
    sized = sorted(
        (len(content), content)
        for status, content in answers
        if status == 200 and b'"type": "header"' in content
    )
    if not sized:
        raise SystemExit("the bot gave no answer about a term during the warm-up")
    message = json.loads(sized[len(sized) // 2][1])
    return {"text": message["text"], "blocks": message["blocks"]}


def measure(
    apps: tuple[tuple[str, Server], ...],
    pool: list[tuple[str, str, str | None]],
    requests: int,
    rounds: int,
    response_url: str,
    names: dict[str, str],
) -> list[dict[str, Any]]:
    """Each round, each concurrency, each app in turn on the same requests."""
    out = []
    runs = {1: pool[:requests], 20: pool[requests : 3 * requests]}
    for number in range(rounds):
        round_result: dict[str, Any] = {}
        for concurrency in CONCURRENCIES:
            run_asked = runs[concurrency]
            total = len(run_asked)
            batch = [text for _, text, _ in run_asked]
            for name, target in apps:
                assert target.process is not None
                cpu_before = cpu_seconds(target.process.pid)
                latencies, answers, wall = asyncio.run(
                    load(
                        f"{target.base_url}/slack/events",
                        signed(batch, response_url),
                        concurrency,
                    )
                )
                cpu = cpu_seconds(target.process.pid) - cpu_before
                entry: dict[str, Any] = {
                    "cpu_per_request_s": cpu / total,
                    "p50_s": percentile(latencies, 50),
                    "p99_s": percentile(latencies, 99),
                    "rps": total / wall,
                    "requests": total,
                }
                if name == "bot":
                    entry["failures"] = check(answers, run_asked, names)
                round_result[f"{name}_c{concurrency}"] = entry
                print(f"  round {number + 1} {name} c={concurrency}: {fmt(entry)}", flush=True)
        out.append(round_result)
    return out


def fmt(entry: dict[str, Any]) -> str:
    text = (
        f"p50 {entry['p50_s'] * 1e3:.2f} ms  p99 {entry['p99_s'] * 1e3:.2f} ms  "
        f"{entry['rps']:.0f} req/s  CPU {entry['cpu_per_request_s'] * 1e6:.0f} µs/request"
    )
    if "failures" in entry:
        text += f"  failures {entry['failures']}"
    return text


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds, per app and concurrency, and the bot's share of the yardstick."""
    out: dict[str, Any] = {}
    for key in rounds[0]:
        out[key] = {
            stat: median([r[key][stat] for r in rounds])
            for stat in ("p50_s", "p99_s", "rps", "cpu_per_request_s")
        }
    for concurrency in CONCURRENCIES:
        out[f"rps_share_c{concurrency}"] = (
            out[f"bot_c{concurrency}"]["rps"] / out[f"minimal_c{concurrency}"]["rps"]
        )
        if f"fixed_c{concurrency}" in out:
            out[f"fixed_rps_share_c{concurrency}"] = (
                out[f"fixed_c{concurrency}"]["rps"] / out[f"minimal_c{concurrency}"]["rps"]
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    result = run(args.terms, args.requests, args.rounds)
    s = result["summary"]
    print("| app | concurrency | p50 | p99 | req/s | server CPU per request |")
    print("|---|---|---|---|---|---|")
    for concurrency in CONCURRENCIES:
        for name in APPS:
            e = s[f"{name}_c{concurrency}"]
            print(
                f"| {name} | {concurrency} | {e['p50_s'] * 1e3:.2f} ms | "
                f"{e['p99_s'] * 1e3:.2f} ms | {e['rps']:.0f} | "
                f"{e['cpu_per_request_s'] * 1e6:.0f} µs |"
            )
    for concurrency in CONCURRENCIES:
        print(
            f"req/s as a share of minimal's at c={concurrency}: "
            f"bot {s[f'rps_share_c{concurrency}']:.2f}, "
            f"fixed {s[f'fixed_rps_share_c{concurrency}']:.2f}"
        )
    print(f"the fixed answer: {result['fixed_answer_bytes']:,} bytes of JSON")
    print(f"bot peak RSS: {result['bot_peak_rss_mb']:.0f} MB")
    print(f"results: {save_results('e2e', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
