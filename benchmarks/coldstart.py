"""Cold start at 1k, 10k and 100k terms: load + index time, process start to /healthz ready,
and peak memory; with nothing cached, with the cache warm, and with one file changed.

    python -m benchmarks.coldstart [--sizes 1000 10000 100000] [--repeat 5]

Every figure comes from a fresh process. "Uncached" starts with an empty cache folder (what a
new replica sees); "cached" restarts on an unchanged glossary; "one changed" edits one file
between starts (a typical deploy), so that file is parsed again and the index is rebuilt.
Files are in the OS page cache in every case: this measures the bot, not the disk.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import (
    SIZES,
    bot_env,
    bot_server,
    ensure_glossary,
    machine,
    median,
    running,
    save_results,
)


def probe(terms: Path, cache: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.probe_load", str(terms), cache],
        capture_output=True,
        text=True,
        env=bot_env(),
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def import_floor(repeat: int) -> dict[str, float]:
    """A new interpreter importing what `serve` imports, and nothing else: the part of every
    start-up that no glossary work can remove (it shows how fast the machine is just then)."""
    code = "import bot.__main__, bot.cli.serve, bot.slack.server"
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=bot_env(), check=True)
        times.append(time.perf_counter() - started)
    return {"median": median(times), "min": min(times), "max": max(times), "n": len(times)}


def serve_once(terms: Path, cache: str, workdir: Path) -> dict[str, float]:
    """Process start to the first /healthz 200, and peak memory once ready."""
    server = bot_server(terms, cache, workdir, "http://127.0.0.1:9/api/", GLOSSARY_WATCH="true")
    with running(server):
        ready = server.wait_healthy()
        # Memory once the start-up work is all done: a first start saves the index after it
        # is ready, and the typo, suggestion and search parts load a second after that.
        deadline = time.perf_counter() + 300
        while not list(Path(cache).glob("*.index.bin")) and time.perf_counter() < deadline:
            time.sleep(0.05)
        time.sleep(WARM_UP_SETTLE_SECONDS)
        return {"ready_s": ready, "peak_rss_mb": server.peak_rss_mb()}


WARM_UP_SETTLE_SECONDS = 3.0


def edit_one(terms: Path) -> tuple[Path, bytes]:
    path = next(iter(sorted(terms.glob("*.yml"))))
    original = path.read_bytes()
    path.write_bytes(original + b"# edited by the benchmark\n")
    return path, original


def measure(count: int, repeat: int) -> dict[str, Any]:
    terms = ensure_glossary(count) / "terms"
    fresh_runs = 1 if count >= 100_000 else max(2, repeat // 2)
    out: dict[str, Any] = {"terms": count}
    with tempfile.TemporaryDirectory(prefix="glossary-bench-") as tmp:
        work = Path(tmp)
        probe(ensure_glossary(1_000) / "terms", "off")  # compiles bytecode once, for all runs

        out["import_floor"] = import_floor(repeat)

        # In-process load + index.
        uncached = []
        for i in range(fresh_runs):
            uncached.append(probe(terms, str(work / f"probe-cold-{i}")))
        warm = str(work / "probe-cold-0")
        cached = [probe(terms, warm) for _ in range(repeat)]
        path, original = edit_one(terms)
        try:
            changed = probe(terms, warm)
        finally:
            path.write_bytes(original)
        probe(terms, warm)  # back in step with the files
        out["load"] = {"uncached": uncached, "cached": cached, "one_changed": changed}

        # The server, from process start to ready.
        serve_cold = []
        for i in range(fresh_runs):
            db = work / f"serve-cold-{i}"
            db.mkdir()
            serve_cold.append(serve_once(terms, str(db / "cache"), db))
        db = work / "serve-warm"
        db.mkdir()
        serve_once(terms, str(db / "cache"), db)  # fills the cache
        serve_warm = [serve_once(terms, str(db / "cache"), db) for _ in range(repeat)]
        path, original = edit_one(terms)
        try:
            serve_changed = serve_once(terms, str(db / "cache"), db)
        finally:
            path.write_bytes(original)
        out["serve"] = {"uncached": serve_cold, "cached": serve_warm, "one_changed": serve_changed}
        shutil.rmtree(work, ignore_errors=True)
    return out


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Medians (and bests) of the runs, per case."""
    load, serve = result["load"], result["serve"]

    def stats(runs: list[dict[str, Any]], key: str) -> dict[str, float]:
        values = [r[key] for r in runs]
        return {"median": median(values), "min": min(values), "max": max(values), "n": len(values)}

    return {
        "terms": result["terms"],
        "import_floor_s": result["import_floor"],
        "load_index_uncached_s": stats(load["uncached"], "load_index_s"),
        "load_uncached_s": stats(load["uncached"], "load_s"),
        "index_uncached_s": stats(load["uncached"], "index_s"),
        "cache_write_s": stats(load["uncached"], "background_write_s"),
        "load_index_cached_s": stats(load["cached"], "load_index_s"),
        "load_cached_s": stats(load["cached"], "load_s"),
        "index_cached_s": stats(load["cached"], "index_s"),
        "load_index_one_changed_s": load["one_changed"]["load_index_s"],
        "import_s": stats(load["cached"], "import_s"),
        "ready_uncached_s": stats(serve["uncached"], "ready_s"),
        "ready_cached_s": stats(serve["cached"], "ready_s"),
        "ready_one_changed_s": serve["one_changed"]["ready_s"],
        "rss_uncached_mb": max(r["peak_rss_mb"] for r in serve["uncached"]),
        "rss_cached_mb": max(r["peak_rss_mb"] for r in serve["cached"]),
        "probe_rss_uncached_mb": max(r["peak_rss_mb"] for r in load["uncached"]),
        "probe_rss_cached_mb": max(r["peak_rss_mb"] for r in load["cached"]),
    }


def print_table(summaries: list[dict[str, Any]]) -> None:
    rows = [
        ("new process importing the bot, no glossary (floor)", "import_floor_s"),
        ("load + index, nothing cached", "load_index_uncached_s"),
        ("  of which load (parse YAML)", "load_uncached_s"),
        ("  of which index build", "index_uncached_s"),
        ("  then cache written in background", "cache_write_s"),
        ("load + index, cached", "load_index_cached_s"),
        ("load + index, one file changed", "load_index_one_changed_s"),
        ("start to /healthz 200, nothing cached", "ready_uncached_s"),
        ("start to /healthz 200, cached", "ready_cached_s"),
        ("start to /healthz 200, one file changed", "ready_one_changed_s"),
        ("peak RSS of the bot, nothing cached (MB)", "rss_uncached_mb"),
        ("peak RSS of the bot, cached (MB)", "rss_cached_mb"),
    ]
    header = "| figure | " + " | ".join(f"{s['terms']:,} terms" for s in summaries)
    print(header + " |")
    print("|---|" + "---|" * len(summaries))
    for label, key in rows:
        cells = []
        for s in summaries:
            value = s[key]
            if isinstance(value, dict):
                cells.append(f"{value['median']:.3f} (min {value['min']:.3f}, n={value['n']})")
            else:
                cells.append(f"{value:.3f}" if "_s" in key else f"{value:.0f}")
        print(f"| {label} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    results = [measure(count, args.repeat) for count in args.sizes]
    summaries = [summary(r) for r in results]
    print_table(summaries)
    print(f"results: {save_results('coldstart', {'runs': results, 'summary': summaries})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
