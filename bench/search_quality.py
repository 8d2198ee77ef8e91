"""Search quality and speed: keyword, semantic and hybrid side by side on a simulated account.

    .venv/bin/python bench/search_quality.py [--tickets 1000] [--types ticket] [--db FILE]

1. Starts the simulator (``--tickets``, seed 11) and runs ``zensync sync --no-attachments``
   into a fresh SQLite file (attachment names are still stored and embedded), unless ``--db``
   names an already synced file.
2. Runs ``zensync index --json`` in a child process: chunks embedded, seconds, chunks per
   second and the child's peak RSS (``VmHWM``, read from /proc while it runs).
3. Asks every labelled query in each mode (``zensync.search.search``, ten results, grouped
   by ticket) and scores the ranked tickets: recall@10 (found ÷ min(10, relevant)), nDCG@10
   (binary relevance) and MRR@10; then times each mode (p50 / p99 over every query, warm).

Labels: the simulator builds each ticket subject from one of its templates
(``zendesk_simulator.words.SUBJECT_TEMPLATES``); a query's relevant tickets are those whose
subject came from its template. Paraphrase queries share no word with their template (checked
below, stop words aside); exact-phrase queries quote the template's fixed words or one of the
seeded phrases (``/_simulator/truth``). The simulator's comments are sentences drawn
independently of the ticket's subject, so only subjects can be judged: ``--types ticket``
(the default) searches tickets for the paraphrases (exact phrases, some seeded in comments and
attachment names, always search everything); ``--types all`` searches everything (comment passages then
pull in tickets whose subject is about something else, which the labels count as misses).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zendesk_simulator.testing import running_simulator
from zendesk_simulator.words import SUBJECT_TEMPLATES

HERE = Path(__file__).parent
ZENSYNC = str(Path(sys.executable).with_name("zensync"))
MODES = ("keyword", "semantic", "hybrid")
STOP = {
    "a",
    "an",
    "the",
    "to",
    "in",
    "on",
    "of",
    "for",
    "my",
    "our",
    "and",
    "is",
    "at",
    "when",
    "i",
    "we",
    "it",
}

# (query, template index): the template's words never appear in the query.
PARAPHRASES: list[tuple[str, int]] = [
    ("unable to sign into my account", 0),
    ("application freezes and quits unexpectedly", 1),
    ("bill total is incorrect", 2),
    ("forgot my credentials and the recovery message did not come", 4),
    ("want a higher subscription tier", 5),
    ("spreadsheet download lacks some fields", 6),
    ("sluggish performance lately, takes ages to load", 7),
    ("update the postal location on our payment details", 8),
    ("invite additional teammates", 9),
    ("package came broken in the mail", 10),
    ("server error from the developer interface", 11),
    ("night theme suggestion", 12),
    ("stop my membership and end recurring payments", 13),
    ("authenticator one-time passcodes not accepted", 14),
    ("synchronisation frozen partway through", 15),
    ("customer was billed twice", 16),
    ("big files fail when adding them", 17),
]
# (query, template index or None for a seeded phrase)
EXACT: list[tuple[str, int | None]] = [
    ("Password reset email never arrives", 4),
    ("Export to CSV is missing columns", 6),
    ("Please cancel my subscription", 13),
    ("arrived damaged", 10),
    ("Duplicate charge on card ending", 16),
    ("dark mode", 12),
    ("Refund request for order 12345", None),
    ("The flux capacitor overheated during the quarterly demo", None),
    ("quarterly-report-zx81.pdf", None),
]


def template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[A-Za-z0-9]+\}", template)
    return re.compile("^" + ".+?".join(re.escape(p) for p in parts) + "$", re.IGNORECASE)


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP}


def check_paraphrases() -> None:
    for query, index in PARAPHRASES:
        fixed = re.sub(r"\{[A-Za-z0-9]+\}", " ", SUBJECT_TEMPLATES[index])
        shared = words(query) & words(fixed)
        if shared:
            raise SystemExit(
                f"paraphrase {query!r} shares {shared} with its template {SUBJECT_TEMPLATES[index]!r}"
            )


def peak_rss_mb(pid: int, stop: threading.Event, out: list[float]) -> None:
    peak = 0.0
    while not stop.is_set():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            break
        time.sleep(0.2)
    out.append(peak)


def run_index(db: Path) -> dict[str, Any]:
    import resource

    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()
    proc = subprocess.Popen([ZENSYNC, "index", "--json", "--db", str(db)], stdout=subprocess.PIPE, text=True)
    stop, peaks = threading.Event(), []
    watcher = threading.Thread(target=peak_rss_mb, args=(proc.pid, stop, peaks))
    watcher.start()
    started = time.monotonic()
    out, _ = proc.communicate()
    wall = time.monotonic() - started
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"zensync index failed ({proc.returncode})")
    report = json.loads(out)
    report["wall_seconds"] = round(wall, 1)
    report["peak_rss_mb"] = round(peaks[0], 1) if peaks else None
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    report["cpu_seconds"] = round(cpu, 1)
    report["chunks_per_cpu_second"] = round(report["chunks"] / cpu, 1) if cpu else None
    report["load_before"] = [round(x, 2) for x in load_before]
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


def metrics(ranked: list[int], relevant: set[int]) -> dict[str, float]:
    top = ranked[:10]
    hits = [1 if t in relevant else 0 for t in top]
    ideal = min(10, len(relevant))
    dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
    idcg = sum(1 / math.log2(i + 2) for i in range(ideal))
    first = next((i for i, h in enumerate(hits) if h), None)
    return {
        "recall@10": sum(hits) / ideal if ideal else 0.0,
        "ndcg@10": dcg / idcg if idcg else 0.0,
        "mrr": 1 / (first + 1) if first is not None else 0.0,
    }


def evaluate(db: Path, queries: list[tuple[str, set[int]]], types: list[str] | None) -> dict[str, Any]:
    from zensync.search import search
    from zensync.store import Store

    store = Store.open(db)
    out: dict[str, Any] = {}
    try:
        search(store, "warm up the model", mode="hybrid", limit=10)
        for mode in MODES:
            per_query = []
            timings = []
            for query, relevant in queries:
                started = time.perf_counter()
                response = search(store, query, mode=mode, types=types, limit=10)
                timings.append((time.perf_counter() - started) * 1000)
                ranked = [r.id for r in response.results if r.entity_type == "ticket"]
                per_query.append({"query": query, **metrics(ranked, relevant), "top": ranked[:3]})
            for _ in range(2):  # more samples for the latency figures
                for query, _ in queries:
                    started = time.perf_counter()
                    search(store, query, mode=mode, types=types, limit=10)
                    timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            out[mode] = {
                "recall@10": round(statistics.mean(q["recall@10"] for q in per_query), 3),
                "ndcg@10": round(statistics.mean(q["ndcg@10"] for q in per_query), 3),
                "mrr": round(statistics.mean(q["mrr"] for q in per_query), 3),
                "p50_ms": round(timings[len(timings) // 2], 1),
                "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 1),
                "queries": per_query,
            }
    finally:
        store.close()
    return out


def labelled(
    db: Path, truth: dict[str, Any] | None
) -> tuple[list[tuple[str, set[int]]], list[tuple[str, set[int]]]]:
    from zensync.store import Store

    store = Store.open(db)
    try:
        with store.engine.connect() as conn:
            subjects = conn.exec_driver_sql("SELECT id, subject FROM tickets").all()
    finally:
        store.close()
    patterns = [template_pattern(t) for t in SUBJECT_TEMPLATES]
    by_template: dict[int, set[int]] = {}
    for tid, subject in subjects:
        for index, pattern in enumerate(patterns):
            if subject and pattern.match(subject):
                by_template.setdefault(index, set()).add(int(tid))
                break
    seeded: dict[str, set[int]] = {}
    for phrase in (truth or {}).get("phrases") or []:
        ticket_id = phrase.get("ticket_id") or (phrase["id"] if phrase.get("type") == "ticket" else None)
        if ticket_id is not None:
            seeded[phrase["phrase"].lower().rstrip(".")] = {int(ticket_id)}
    paraphrases = [(q, by_template.get(i, set())) for q, i in PARAPHRASES]
    exact = []
    for q, i in EXACT:
        relevant = by_template.get(i, set()) if i is not None else seeded.get(q.lower().rstrip("."), set())
        if relevant:
            exact.append((q, relevant))
    return paraphrases, exact


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--types", default="ticket", help="ticket (default) or all")
    parser.add_argument("--db", type=Path, help="An already synced SQLite file (skips the sync).")
    parser.add_argument("--skip-index", action="store_true", help="Use the vectors already in --db.")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "search-quality.json")
    args = parser.parse_args()
    check_paraphrases()
    types = None if args.types == "all" else args.types.split(",")
    truth = None
    db = args.db
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "tickets": args.tickets,
        "types": args.types,
    }
    with running_simulator(tickets=args.tickets, seed=11, minute_seconds=1, plan="enterprise") as sim:
        truth = sim.truth()
        if db is None:
            db = Path(tempfile.mkdtemp(prefix="semantic-bench-")) / "bench.db"
            started = time.monotonic()
            subprocess.run(
                [
                    ZENSYNC,
                    "sync",
                    "--db",
                    str(db),
                    "--no-attachments",
                    "--base-url",
                    sim.base_url,
                    "--subdomain",
                    sim.subdomain,
                    "--email",
                    sim.admin_email,
                    "--api-token",
                    sim.api_token,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            result["sync_seconds"] = round(time.monotonic() - started, 1)
    result["db"] = str(db)
    print(f"database: {db}", file=sys.stderr)
    if not args.skip_index:
        result["index"] = run_index(db)
        print(f"index: {json.dumps(result['index'])}", file=sys.stderr)
    paraphrases, exact = labelled(db, truth)
    result["paraphrase"] = evaluate(db, paraphrases, types)
    # Seeded phrases live in comments and attachment names too: exact queries search everything.
    result["exact"] = evaluate(db, exact, None)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(render(result))


def render(result: dict[str, Any]) -> str:
    lines = [
        f"{result['tickets']:,} tickets, types={result['types']}",
        "| queries | mode | recall@10 | nDCG@10 | MRR | p50 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in ("paraphrase", "exact"):
        n = len(result[kind]["hybrid"]["queries"])
        for mode in MODES:
            m = result[kind][mode]
            lines.append(
                f"| {kind} ({n}) | {mode} | {m['recall@10']:.3f} | {m['ndcg@10']:.3f} | {m['mrr']:.3f} | "
                f"{m['p50_ms']:.0f} | {m['p99_ms']:.0f} |"
            )
    index = result.get("index")
    if index:
        lines.append(
            f"\nindex: {index['chunks']:,} chunks from {index['embedded']:,} entities in "
            f"{index['seconds']:.1f} s ({index['chunks_per_second']:.0f} chunks/s), "
            f"peak RSS {index['peak_rss_mb']} MB"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
