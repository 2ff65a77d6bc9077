"""One load of a glossary folder in a fresh process, as the bot does it at start-up; prints JSON.

    python -m benchmarks.probe_load TERMS_DIR CACHE_DIR|off

Timed in this process: importing the glossary code, loading the term files (through the
cache unless `off`), building or restoring the index, and, after that, finishing the cache
files the bot writes in the background. Also the process's peak resident memory.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> int:
    started = time.perf_counter()
    from bot.glossary.cache import GlossaryCache
    from bot.glossary.load import load_glossary, paused_gc
    from bot.glossary.resolve import Glossary

    imported = time.perf_counter()
    folder = Path(sys.argv[1])
    cache = GlossaryCache.from_setting(sys.argv[2], keep_details=False)
    with paused_gc(freeze=True):  # as bot.slack.runtime.start_runtime does
        loaded = load_glossary(folder, cache=cache)
        loaded_at = time.perf_counter()
        glossary = cache.glossary(folder, loaded) if cache else Glossary(loaded.terms)
        indexed = time.perf_counter()
    if cache is not None:
        cache.wait()
    written = time.perf_counter()
    peak = float("nan")
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    result = {
        "terms": len(glossary.terms),
        "errors": sum(p.severity == "error" for p in loaded.problems),
        "import_s": imported - started,
        "load_s": loaded_at - imported,
        "index_s": indexed - loaded_at,
        "load_index_s": indexed - imported,
        "background_write_s": written - indexed,
        "peak_rss_mb": peak,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
