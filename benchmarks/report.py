"""The figures of the last runs, as the Markdown tables of benchmarks/README.md, with growth.

    python -m benchmarks.report [--data benchmarks/data]

Reads benchmarks/data/{coldstart,resolver,e2e}.json (written by the three scripts) and prints
each table, the targets at 10,000 terms with whether they are met, and how each figure grows
from 1k to 10k to 100k terms.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.generate import DEFAULT_OUT


def _load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _value(v: Any) -> float:
    return float(v["median"]) if isinstance(v, dict) else float(v)


def _s(v: Any) -> str:
    if isinstance(v, dict):
        return f"{v['median']:.2f} s (best {v['min']:.2f})"
    return f"{v:.2f} s"


def _growth(values: list[float]) -> str:
    steps = [f"×{b / a:.1f}" for a, b in itertools.pairwise(values) if a > 0]
    return " → ".join(steps)


def coldstart(data: dict[str, Any]) -> None:
    s = data["summary"]
    print(f"Cold start (machine load average at the start: {_loadavg(data)})\n")
    print("| figure | " + " | ".join(f"{x['terms']:,} terms" for x in s) + " | growth |")
    print("|---|" + "---|" * (len(s) + 1))
    rows = [
        ("a new process importing the bot, no glossary (the floor)", "import_floor_s"),
        ("**start to /healthz 200, cached** (unchanged files)", "ready_cached_s"),
        ("**start to /healthz 200, nothing cached**", "ready_uncached_s"),
        ("start to /healthz 200, one file changed", "ready_one_changed_s"),
        ("load + index, cached", "load_index_cached_s"),
        ("load + index, nothing cached", "load_index_uncached_s"),
        ("   of which parsing the YAML files (and writing the cache)", "load_uncached_s"),
        ("   of which building the index", "index_uncached_s"),
        ("   then saving the index, in the background", "cache_write_s"),
        ("load + index, one file changed", "load_index_one_changed_s"),
    ]
    for label, key in rows:
        if key not in s[0]:
            continue
        cells = [_s(x[key]) for x in s]
        print(f"| {label} | " + " | ".join(cells) + f" | {_growth([_value(x[key]) for x in s])} |")
    for label, key in (
        ("**peak RSS, cached start** (after warm-up)", "rss_cached_mb"),
        ("peak RSS, first start (index saved in the background)", "rss_uncached_mb"),
    ):
        values = [float(x[key]) for x in s]
        cells = [f"{v:.0f} MB" for v in values]
        print(f"| {label} | " + " | ".join(cells) + f" | {_growth(values)} |")
    print()


def resolver(data: dict[str, Any]) -> None:
    sizes = data["sizes"]
    print(f"Resolver (load average: {_loadavg(data)})\n")
    print(
        "| query | terms | p50 | p99 | right "
        "| naive p50 | naive p99 | naive right | ×faster p50/p99 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in sizes[0]["kinds"]:
        for size in sizes:
            k = size["kinds"][kind]
            print(
                f"| {kind} | {size['terms']:,} | {k['p50_s'] * 1e6:.1f} µs"
                f" | {k['p99_s'] * 1e6:.1f} µs"
                f" | {k['accuracy']:.1%} | {k['naive_p50_s'] * 1e3:.2f} ms"
                f" | {k['naive_p99_s'] * 1e3:.2f} ms | {k['naive_accuracy']:.1%}"
                f" | ×{k['ratio_p50']:.0f} / ×{k['ratio_p99']:.0f} |"
            )
    print("\nGrowth 1k → 10k → 100k (p50; p99):\n")
    for kind in sizes[0]["kinds"]:
        p50 = [x["kinds"][kind]["p50_s"] for x in sizes]
        p99 = [x["kinds"][kind]["p99_s"] for x in sizes]
        naive = [x["kinds"][kind]["naive_p50_s"] for x in sizes]
        print(f"- {kind}: {_growth(p50)}; {_growth(p99)} (naive p50: {_growth(naive)})")
    print()


def e2e(data: dict[str, Any]) -> None:
    s = data["summary"]
    print(
        f"End to end, {data['terms']:,} terms, {len(data['rounds'])} rounds "
        f"(load average: {_loadavg(data)})\n"
    )
    print("| app | concurrency | p50 | p99 | requests/s | server CPU per request |")
    print("|---|---|---|---|---|---|")
    for concurrency in (1, 20):
        for name in ("bot", "minimal", "fixed"):
            if f"{name}_c{concurrency}" not in s:  # runs before "fixed" was measured
                continue
            e = s[f"{name}_c{concurrency}"]
            cpu = e.get("cpu_per_request_s")
            cpu_text = f"{cpu * 1e6:.0f} µs" if cpu is not None else "n/a"
            print(
                f"| {name} | {concurrency} | {e['p50_s'] * 1e3:.2f} ms | {e['p99_s'] * 1e3:.2f} ms"
                f" | {e['rps']:.0f} | {cpu_text} |"
            )
    print(
        f"\nbot / minimal requests per second: {s['rps_share_c1']:.2f} at concurrency 1, "
        f"{s['rps_share_c20']:.2f} at 20; bot peak RSS {data['bot_peak_rss_mb']:.0f} MB; "
        f"wrong or failed answers: {_failures(data)}"
    )
    if "fixed_rps_share_c20" in s:
        print(
            f"fixed ({data['fixed_answer_bytes']:,} bytes, one of the bot's answers) / minimal: "
            f"{s['fixed_rps_share_c1']:.2f} at concurrency 1, {s['fixed_rps_share_c20']:.2f} at 20"
        )
    print()


def _failures(data: dict[str, Any]) -> int:
    return sum(
        sum(run["failures"].values())
        for r in data["rounds"]
        for key, run in r.items()
        if key.startswith("bot_")
    )


def _loadavg(data: dict[str, Any]) -> str:
    load = data.get("machine", {}).get("load_average") or []
    return ", ".join(f"{x:.2f}" for x in load)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_OUT, help="folder of the JSON results")
    args = parser.parse_args(argv)
    for name, show in (("coldstart", coldstart), ("resolver", resolver), ("e2e", e2e)):
        data = _load(args.data, name)
        if data is None:
            print(f"(no {name} results yet: python -m benchmarks.{name})\n")
        else:
            show(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
