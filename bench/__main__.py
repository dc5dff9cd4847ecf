"""`make bench`: every benchmark, each beside its ceiling, then one summary table (docs/performance.md).

    python -m bench                     # everything (~15 min on 2 cores); or name some: python -m bench scale

Each benchmark runs on SQLite + memory and on PostgreSQL + Redis (a fresh database per run; skipped loudly
when they do not answer). The summary is printed as a Markdown table and kept in var/bench-results.md.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil

from bench import join_storm, match_pairing, message_fanout, rest_reads, scale, statements
from bench.support import SQLITE, Backend, Figure, run_backends, table

BENCHMARKS: dict[str, Callable[[Backend], Awaitable[list[Figure]]]] = {
    "statements": statements.measure,
    "rest_reads": rest_reads.measure,
    "message_fanout": message_fanout.measure,
    "join_storm": join_storm.measure,
    "scale": scale.measure,
    "match_pairing": match_pairing.measure,
}


async def vm_frames() -> list[Figure]:
    """bench/vm_frames.py as it is (its own child server and Chromium), read from its printed table."""
    if shutil.which("chromium") is None:
        print("!!! SKIPPED vm_frames: Debian's chromium is not installed", flush=True)
        return []
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.vm_frames",
        env={**os.environ, "PORTAL_BENCH_SECONDS": os.environ.get("PORTAL_BENCH_SECONDS", "5")},
        stdout=asyncio.subprocess.PIPE,
    )
    out = (await process.communicate())[0].decode()
    print(out, flush=True)
    rows = {
        int(m.group(1)): float(m.group(2))
        for m in re.finditer(
            r"^\s*(\d+)\s+[\d.]+\s+\(\s*[\d.]+\)\s+[\d.]+\s+[\d.]+\s+([\d.]+)%", out, re.MULTILINE
        )
    }
    if len(rows) < 2:
        print("!!! vm_frames printed no table", flush=True)
        return []
    few, many = min(rows), max(rows)
    per_viewer = (rows[many] - rows[few]) / (many - few)
    note = f"{rows[few]:.1f} % of a core with {few}, {rows[many]:.1f} % with {many}"
    return [
        Figure("VM frames: Portal CPU per extra viewer", SQLITE, per_viewer, None, "% core", ("≤", 0.2), note)
    ]


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return (
        f"{datetime.date.today()}, {os.cpu_count()} cores ({model}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )


async def main(wanted: list[str]) -> None:
    header = machine()
    print(f"make bench: {header}", flush=True)
    figures: list[Figure] = []
    started = time.perf_counter()
    for name, measure in BENCHMARKS.items():
        if wanted and name not in wanted:
            continue
        print(f"\n=== {name} ===", flush=True)
        begun = time.perf_counter()
        figures += await run_backends(measure, sqlite=name != "match_pairing")
        print(f"({name}: {time.perf_counter() - begun:.0f} s)", flush=True)
    if not wanted or "vm_frames" in wanted:
        print("\n=== vm_frames ===", flush=True)
        figures += await vm_frames()
    summary = table(figures)
    minutes = (time.perf_counter() - started) / 60
    print(f"\n=== summary ({header}; {minutes:.1f} min) ===\n{summary}", flush=True)
    results = Path("var") / "bench-results.md"
    results.parent.mkdir(exist_ok=True)
    results.write_text(f"{header}\n\n{summary}\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
