"""MCP tool latency: ``search`` and ``get_ticket`` through ``zensync mcp`` over stdio.

    .venv/bin/python bench/mcp_latency.py --db COPY.db            # a copy made by zensync sync
    .venv/bin/python bench/mcp_latency.py --build 100000          # make the copy first (see below)

Each run starts ``zensync mcp --db COPY`` as a desktop agent would (the official SDK's stdio
client), warms up, then times ``--calls`` calls of each tool from the client's side (request
to parsed result, JSON-RPC over the pipe included): ``search`` with queries drawn from the
words support tickets use, with and without a status filter, and ``get_ticket`` on ticket ids
drawn uniformly from the copy (first page: 50 comments, 20,000 characters). ``--runs`` runs
(default 3); the figures are the median over runs of each run's p50 and p99.

``--build N`` makes the copy honestly but fast: the bundled simulator with N tickets and a
rate-limit minute of ``--minute-seconds`` (default 0.5 s, so the limits hardly bind), synced
by ``zensync sync --no-attachments`` (attachment metadata is stored, the bytes are not: the
tools read only metadata). Targets: p50 < 50 ms for get_ticket and < 150 ms for search.
Results go to ``bench/results/mcp-latency.json`` and ``.md``. Time the runs under
``flock /work/bench.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from zensync.testing import sync_into, zensync_command

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORDS = (
    "refund",
    "password reset",
    "invoice",
    "crash",
    "export csv",
    "two-factor",
    "billing address",
    "upload attachments",
    "api 500",
    "dashboard",
    "duplicate charge",
    "mobile app",
    "permissions",
    "order damaged",
    "sync stuck",
    "thank you",
    "latest update",
    "workaround",
    '"issued a refund"',
    "login -password",
)
TARGETS_MS = {"get_ticket": 50.0, "search": 150.0}


def build_copy(tickets: int, db: Path, minute_seconds: float) -> dict[str, Any]:
    from zendesk_simulator.testing import running_simulator

    started = time.monotonic()
    with running_simulator(tickets=tickets, minute_seconds=minute_seconds, plan="enterprise") as sim:
        # no time limit: 100,000 tickets take tens of minutes on a busy machine
        sync_into(sim, db, "--no-attachments", timeout=None)
        truth = sim.truth()
    return {
        "seconds": round(time.monotonic() - started, 1),
        "truth": {k: truth[k] for k in ("ticket", "comment")},
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


async def one_run(db: Path, calls: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM tickets")]
    command = zensync_command()
    params = StdioServerParameters(command=command[0], args=[*command[1:], "mcp", "--db", str(db)])
    timings: dict[str, list[float]] = {"search": [], "search_filtered": [], "get_ticket": []}
    async with Client(params) as client:
        for _ in range(5):  # warm-up: imports, caches, the first pages of the file
            await client.call_tool("search", {"query": rng.choice(WORDS)})
            await client.call_tool("get_ticket", {"ticket_id": rng.choice(ids)})
        for _ in range(calls):
            for name, arguments in (
                ("search", {"query": rng.choice(WORDS)}),
                ("search_filtered", {"query": rng.choice(WORDS), "status": ["open", "pending"]}),
                ("get_ticket", {"ticket_id": rng.choice(ids)}),
            ):
                tool = "search" if name.startswith("search") else name
                started = time.perf_counter()
                result = await client.call_tool(tool, arguments)
                timings[name].append((time.perf_counter() - started) * 1000)
                if result.is_error:
                    raise RuntimeError(f"{tool}{arguments}: {result.content[0]}")
    return {
        name: {"p50_ms": round(percentile(v, 0.5), 2), "p99_ms": round(percentile(v, 0.99), 2)}
        for name, v in timings.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, help="An existing copy (SQLite file)")
    parser.add_argument(
        "--build", type=int, metavar="TICKETS", help="Make a copy of a simulated account first"
    )
    parser.add_argument("--minute-seconds", type=float, default=0.5)
    parser.add_argument("--calls", type=int, default=200, help="Timed calls per tool and run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    built = None
    db: Path | None = args.db
    if args.build:
        db = db or Path(f"/tmp/zensync-mcp-bench-{args.build}.db")
        if db.exists():
            sys.exit(f"{db} exists: pass it with --db, or remove it to build again")
        built = build_copy(args.build, db, args.minute_seconds)
        print(f"built {db} in {built['seconds']} s", file=sys.stderr)
    if db is None or not db.exists():
        sys.exit("give --db COPY.db (an existing copy) or --build TICKETS")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("tickets", "comments")}  # noqa: S608
    runs = []
    for n in range(args.runs):
        runs.append(anyio.run(one_run, db, args.calls, n))
        print(json.dumps(runs[-1]), file=sys.stderr)
    summary = {
        name: {
            stat: round(statistics.median(run[name][stat] for run in runs), 2)
            for stat in ("p50_ms", "p99_ms")
        }
        for name in runs[0]
    }
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "db": str(db),
        "stored": counts,
        "built": built,
        "calls_per_tool_and_run": args.calls,
        "runs": runs,
        "median_of_runs": summary,
        "targets_p50_ms": TARGETS_MS,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mcp-latency.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"MCP tool latency over stdio, {counts['tickets']:,} tickets / {counts['comments']:,} comments "
        f"(SQLite), {args.calls} calls per tool, median of {args.runs} runs",
        "",
        "| tool | p50 (ms) | p99 (ms) | target p50 (ms) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, figures in summary.items():
        target = TARGETS_MS.get(name.split("_")[0] if name.startswith("search") else name, "")
        lines.append(f"| {name} | {figures['p50_ms']} | {figures['p99_ms']} | {target} |")
    (RESULTS / "mcp-latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
