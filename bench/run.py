"""Benchmarks: full and incremental syncs against the simulator, measured against the rate limits.

For each account size the harness starts a simulator (its own process, Enterprise plan, a
shortened rate-limit minute), runs ``zensync sync`` in a child process, changes a share of the
tickets through the simulator's write API, and runs ``zensync sync`` again. It reports:

* requests per rate-limit bucket, counted by the simulator (the server's view, not the client's);
* the lower bound on time that the limits impose: the busiest bucket's requests divided by its
  rate, in shortened minutes (design.md, "Rate-limit buckets"; api-reference.md, "Rate limits");
* measured wall time and its ratio to that bound, CPU seconds (``os.wait4`` of that one child)
  and peak RSS (``VmHWM`` of the child, so neither the simulator nor this process is counted);
* entities per second; the incremental run's requests as a share of the full run's;
* whether the stored counts equal the simulator's truth after each run;
* the CPU the simulator used meanwhile and the machine's load, since both share its cores.

Targets: full sync within 1.25× of the bound, incremental ≤ 2 % of the full run's requests,
peak memory < 300 MB at 100,000 tickets and flat with size.

``--tls`` serves the simulator over HTTPS (``--ssl-certfile/--ssl-keyfile``) with a certificate
from a throwaway CA made here with ``cryptography``; zensync trusts that CA alone
(``SSL_CERT_FILE``, which httpx reads for ``verify``), as it would a real Zendesk's.
``--repeat N`` runs each full sync N times (fresh database each time) and reports the median.

Usage: ``python bench/run.py [--sizes 1000,10000,100000] [--minute-seconds 10] [--no-attachments]
[--tls] [--repeat 3]``.
Results: ``bench/results/latest.json``, ``bench/results/latest.md`` and a timestamped JSON copy.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from zendesk_simulator.config import PLAN_LIMITS
from zendesk_simulator.testing import running_simulator

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PLAN = "enterprise"

# Requests per minute per bucket (docs/design.md, "Rate-limit buckets", from api-reference.md
# "Rate limits"): the plan limit, and the endpoint limits that apply without High Volume.
BUCKET_LIMITS: dict[str, int] = {
    "account": PLAN_LIMITS[PLAN],
    "incremental-exports": 10,
    "tickets-index": 100,
    "deleted-tickets-index": 10,
    "attachments-download": 2500,
}

# A tenth of a real minute: short enough to run 100,000 tickets in minutes, long enough that the
# limits (not this machine's CPU) bound a full sync, so time ÷ bound measures the pacing. With a
# 1-second minute a 10,000-ticket bound is 6 s, less than the CPU the sync needs on two cores.
DEFAULT_MINUTE_SECONDS = 10.0

TARGET_RATIO = 1.25
TARGET_INCREMENTAL_SHARE = 0.02
TARGET_PEAK_MB = 300.0


@dataclass
class ProcessRun:
    """One ``zensync`` child process: what it cost and what it said."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    peak_anon_mb: float | None
    exit_code: int
    report: dict[str, Any]
    stderr_tail: str


@dataclass
class SyncFigures:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    requests: int
    requests_by_bucket: dict[str, int]
    rate_limited: int
    bound_seconds: float
    busiest_bucket: str
    ratio_to_bound: float | None
    entities: int
    entities_per_second: float
    simulator_cpu_seconds: float | None = None
    # Peak of RssAnon (heap, stacks: the process's own memory), sampled; RSS adds the file-backed
    # pages of the interpreter and its libraries, which vary by several MB between identical runs
    # with how much of them the kernel maps around each fault.
    peak_anon_mb: float | None = None
    load_average: float | None = None  # 1-minute load of the machine when the run started
    report: dict[str, Any] = field(default_factory=dict)
    repeats: list[dict[str, Any]] = field(default_factory=list)  # every run when repeated


@dataclass
class SizeResult:
    tickets: int
    truth: dict[str, Any]
    full: SyncFigures
    incremental: SyncFigures
    changed_tickets: int
    incremental_share: float
    counts_match_truth: bool
    stored_counts: dict[str, int]
    full_counts_match_truth: bool = False
    tls: bool = False


def _peak_rss_poller(pid: int, peak: list[float], interval: float = 0.05) -> threading.Thread:
    """Follow ``VmHWM`` of ``/proc/PID/status`` (``peak[0]``): the peak RSS of that process's own
    memory map, and the largest ``RssAnon`` seen (``peak[1]``).

    ``VmHWM`` cannot be inflated by the parent (``ru_maxrss`` can, see :func:`stored_ticket_ids`)
    and only grows, so the last reading before exit is the peak to within ``interval``.
    ``RssAnon`` is sampled, so a spike shorter than ``interval`` may be missed.
    """
    status = Path(f"/proc/{pid}/status")

    def follow() -> None:
        while True:
            try:
                text = status.read_text()
            except OSError:
                return
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            if "VmHWM" not in fields:
                return  # a zombie has no memory map left
            peak[0] = max(peak[0], int(fields["VmHWM"].split()[0]) / 1024)
            if "RssAnon" in fields:
                peak[1] = max(peak[1], int(fields["RssAnon"].split()[0]) / 1024)
            time.sleep(interval)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    return thread


def run_zensync(args: list[str], env: dict[str, str], report_path: Path) -> ProcessRun:
    """Run ``python -m zensync.cli ARGS``; read its CPU time with ``os.wait4``, its peak RSS from /proc.

    ``wait4`` on the child's pid gives that process's CPU time alone (``RUSAGE_CHILDREN`` would
    mix in every other child ever waited on). Peak memory is ``VmHWM`` when /proc has it, else
    ``ru_maxrss``.
    """
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "zensync.cli", *args, "--report-json", str(report_path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        peak = [0.0, 0.0]
        poller = _peak_rss_poller(proc.pid, peak)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        poller.join(timeout=1)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr_tail = err.read().decode(errors="replace")[-2000:]
    report: dict[str, Any] = {}
    if report_path.exists():
        report = json.loads(report_path.read_text())
    return ProcessRun(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=peak[0] or usage.ru_maxrss / 1024,
        peak_anon_mb=peak[1] or None,
        exit_code=proc.returncode,
        report=report,
        stderr_tail=stderr_tail,
    )


def bucket_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    old = before.get("buckets", {})
    return {
        name: n - int(old.get(name, 0))
        for name, n in after.get("buckets", {}).items()
        if n - int(old.get(name, 0)) > 0
    }


def requests_diff(before: dict[str, Any], after: dict[str, Any]) -> int:
    old = before.get("requests", {})
    return sum(n - int(old.get(ep, 0)) for ep, n in after.get("requests", {}).items())


def rate_bound(buckets: dict[str, int], minute_seconds: float) -> tuple[float, str]:
    """Seconds the busiest bucket needs at its rate: requests ÷ (limit per shortened minute)."""
    best, name = 0.0, "account"
    for bucket, n in buckets.items():
        limit = BUCKET_LIMITS.get(bucket)
        if not limit:
            continue
        seconds = n / limit * minute_seconds
        if seconds > best:
            best, name = seconds, bucket
    return best, name


def entities_in(report: dict[str, Any]) -> int:
    """Entities the run processed (inserted + updated + unchanged + deleted, all types)."""
    total = 0
    per_type = report.get("entities") or report.get("counts") or {}
    for counts in per_type.values():
        if isinstance(counts, dict):
            total += sum(int(counts.get(k, 0)) for k in ("inserted", "updated", "unchanged", "deleted"))
    return total


def simulator_cpu(sim: Any) -> float | None:
    """CPU seconds the simulator process has used so far (psutil), to show contention."""
    try:
        import psutil
    except ImportError:
        return None
    times = psutil.Process(sim.process.pid).cpu_times()
    return float(times.user + times.system)


def measured_sync(
    sim: Any, args: list[str], env: dict[str, str], report_path: Path, minute_seconds: float, label: str
) -> SyncFigures:
    """One sync in a child process, with the simulator's view of the requests it made."""
    load = os.getloadavg()[0]
    before, sim_cpu = sim.stats(), simulator_cpu(sim)
    run = run_zensync(args, env, report_path)
    if run.exit_code != 0:
        raise SystemExit(f"{label} failed:\n{run.stderr_tail}")
    after, sim_cpu_after = sim.stats(), simulator_cpu(sim)
    result = figures(run, before, after, minute_seconds)
    result.load_average = round(load, 2)
    if sim_cpu is not None and sim_cpu_after is not None:
        result.simulator_cpu_seconds = round(sim_cpu_after - sim_cpu, 2)
    return result


def figures(
    run: ProcessRun, before: dict[str, Any], after: dict[str, Any], minute_seconds: float
) -> SyncFigures:
    buckets = bucket_diff(before, after)
    bound, busiest = rate_bound(buckets, minute_seconds)
    entities = entities_in(run.report)
    return SyncFigures(
        seconds=round(run.seconds, 2),
        cpu_seconds=round(run.cpu_seconds, 2),
        peak_rss_mb=round(run.peak_rss_mb, 1),
        peak_anon_mb=round(run.peak_anon_mb, 1) if run.peak_anon_mb else None,
        requests=requests_diff(before, after),
        requests_by_bucket=buckets,
        rate_limited=int(after.get("rate_limited", 0)) - int(before.get("rate_limited", 0)),
        bound_seconds=round(bound, 2),
        busiest_bucket=busiest,
        ratio_to_bound=round(run.seconds / bound, 2) if bound > 0 else None,
        entities=entities,
        entities_per_second=round(entities / run.seconds, 1) if run.seconds > 0 else 0.0,
        report=run.report,
    )


def change_tickets(sim: Any, ticket_ids: list[int]) -> None:
    """Update each ticket through the simulator's write API (api-reference.md, "Update Ticket").

    The simulator enforces the plan limit on writes too, so a 429 waits out its Retry-After.
    """
    for n, ticket_id in enumerate(ticket_ids):
        body = {"ticket": {"comment": {"body": f"bench change {n}", "public": False}, "priority": "high"}}
        for _attempt in range(20):
            response = sim.request("PUT", f"/api/v2/tickets/{ticket_id}.json", json=body)
            if response.status_code == 429:
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code >= 400:
                raise SystemExit(
                    f"updating ticket {ticket_id} failed: HTTP {response.status_code} {response.text}"
                )
            break


def stored_ticket_ids(db: Path, env: dict[str, str], count: int) -> list[int]:
    """The first ``count`` stored ids of tickets that can still change (not closed), read through
    ``zensync export`` (no coupling to the store's schema).

    The export is read line by line and stopped early: this process must stay small, because
    a child's ``ru_maxrss`` starts from the parent's high-water mark (Linux keeps it across
    fork/vfork and exec), which would inflate the next sync's measured peak.
    """
    command = [sys.executable, "-m", "zensync.cli", "export", "--format", "jsonl", "--type", "ticket"]
    ids: list[int] = []
    with subprocess.Popen([*command, "--db", str(db)], env=env, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            ticket = json.loads(line)
            if ticket.get("status") == "closed":
                continue  # Zendesk refuses updates to closed tickets ("closed prevents ticket update")
            ids.append(int(ticket["id"]))
            if len(ids) >= count:
                proc.terminate()
                break
    return ids


def stored_counts(db: Path, env: dict[str, str]) -> dict[str, int]:
    proc = subprocess.run(
        [sys.executable, "-m", "zensync.cli", "status", "--json", "--db", str(db)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {k: int(v) for k, v in json.loads(proc.stdout)["entities"].items()}


def throwaway_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A CA of its own and a certificate for the simulator's two loopback names (127.0.0.1 for
    the API, localhost for the pre-signed storage host): ``(ca.pem, chain.pem, key.pem)``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zensync bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = folder / "ca.pem"
    chain_pem = folder / "chain.pem"
    key_pem = folder / "key.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain_pem.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    )
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_pem.chmod(0o600)
    return ca_pem, chain_pem, key_pem


def median_run(runs: list[SyncFigures]) -> SyncFigures:
    """The run with the median time (of an odd number; the lower middle of an even one)."""
    ordered = sorted(runs, key=lambda f: f.seconds)
    return ordered[(len(ordered) - 1) // 2]


def bench_size(
    tickets: int,
    minute_seconds: float,
    change_share: float,
    attachments: bool,
    workdir: Path,
    *,
    tls: bool = False,
    repeat: int = 1,
    incremental_run: bool = True,
) -> SizeResult:
    db = workdir / f"bench-{tickets}.db"
    flags: dict[str, Any] = {"tickets": tickets, "plan": PLAN, "minute_seconds": minute_seconds}
    extra_env: dict[str, str] = {}
    if tls:
        ca, chain, key = throwaway_tls(workdir)
        flags.update(ssl_certfile=str(chain), ssl_keyfile=str(key))
        extra_env["SSL_CERT_FILE"] = str(ca)
    with running_simulator(**flags) as sim:
        env = {
            **os.environ,
            **extra_env,
            "ZENSYNC_EMAIL": sim.admin_email,
            "ZENSYNC_API_TOKEN": sim.api_token,
        }

        def sync_args(target: Path) -> list[str]:
            return [
                "sync",
                "--db",
                str(target),
                "--subdomain",
                sim.subdomain,
                "--base-url",
                sim.base_url,
                "--attachments" if attachments else "--no-attachments",
            ]

        args = sync_args(db)
        truth_before = sim.truth()
        keys = ("ticket", "comment", "user", "organization", "attachment")

        runs: list[SyncFigures] = []
        for attempt in range(repeat):
            if attempt:
                # a fresh copy each time, once the windows the previous run drew down have refilled
                time.sleep(minute_seconds * 1.5)
            target = db if attempt == repeat - 1 else workdir / f"bench-{tickets}-{attempt}.db"
            figures_ = measured_sync(
                sim,
                sync_args(target),
                env,
                workdir / f"full-{tickets}-{attempt}.json",
                minute_seconds,
                f"full sync of {tickets} tickets",
            )
            runs.append(figures_)
            print(
                f"  full: {figures_.seconds}s (bound {figures_.bound_seconds}s, ×{figures_.ratio_to_bound}), "
                f"CPU {figures_.cpu_seconds}s / simulator {figures_.simulator_cpu_seconds}s, "
                f"{figures_.peak_rss_mb} MB (anonymous {figures_.peak_anon_mb} MB), "
                f"{figures_.rate_limited} 429s",
                flush=True,
            )
        full = median_run(runs)
        full.repeats = [
            {
                "seconds": f.seconds,
                "bound_seconds": f.bound_seconds,
                "ratio_to_bound": f.ratio_to_bound,
                "cpu_seconds": f.cpu_seconds,
                "simulator_cpu_seconds": f.simulator_cpu_seconds,
                "load_average": f.load_average,
                "peak_rss_mb": f.peak_rss_mb,
                "peak_anon_mb": f.peak_anon_mb,
                "rate_limited": f.rate_limited,
            }
            for f in runs
        ]
        after_full = stored_counts(db, env)
        if not incremental_run:
            return SizeResult(
                tickets=tickets,
                truth={"before": truth_before, "after": truth_before},
                full=full,
                incremental=full,
                changed_tickets=0,
                incremental_share=0.0,
                counts_match_truth=all(after_full.get(k) == truth_before.get(k) for k in keys),
                stored_counts=after_full,
                full_counts_match_truth=all(after_full.get(k) == truth_before.get(k) for k in keys),
                tls=tls,
            )

        changed = max(1, round(tickets * change_share))
        change_tickets(sim, stored_ticket_ids(db, env, changed))
        # Let the rate-limit windows drawn down by the writes refill, as between scheduled runs.
        time.sleep(minute_seconds * 1.5)

        incremental = measured_sync(
            sim,
            args,
            env,
            workdir / f"incremental-{tickets}.json",
            minute_seconds,
            f"incremental sync of {tickets} tickets",
        )
        print(f"  incremental: {incremental.seconds}s, {incremental.requests} requests", flush=True)

        truth = sim.truth()
        counts = stored_counts(db, env)
    return SizeResult(
        tickets=tickets,
        truth={"before": truth_before, "after": truth},
        full=full,
        incremental=incremental,
        changed_tickets=changed,
        incremental_share=round(incremental.requests / full.requests, 4) if full.requests else 0.0,
        counts_match_truth=all(counts.get(k) == truth.get(k) for k in keys),
        stored_counts=counts,
        full_counts_match_truth=all(after_full.get(k) == truth_before.get(k) for k in keys),
        tls=tls,
    )


def _mb(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def markdown(results: list[SizeResult], minute_seconds: float) -> str:
    def buckets(f: SyncFigures) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(f.requests_by_bucket.items()))

    tls = any(r.tls for r in results)
    repeats = max((len(r.full.repeats) for r in results), default=1)
    lines = [
        f"Enterprise plan limits, rate-limit minute shortened to {minute_seconds:g} s; "
        f"bound = busiest bucket's requests ÷ its rate"
        + ("; over TLS (HTTPS, own CA)" if tls else "")
        + (f"; full runs: median of {repeats}" if repeats > 1 else "")
        + ".",
        "",
        "| tickets | run | requests by bucket | bound (s) | time (s) | time ÷ bound "
        "| CPU zensync / simulator (s) | load | peak RSS / anonymous (MB) | entities/s | 429s "
        "| share of full | counts = truth |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        runs = (
            (("full", r.full), ("incremental", r.incremental)) if r.changed_tickets else (("full", r.full),)
        )
        for label, f in runs:
            ratio = "–" if f.ratio_to_bound is None else f"{f.ratio_to_bound:.2f}"
            share = "" if label == "full" else f"{r.incremental_share:.2%} ({r.changed_tickets} changed)"
            ok = r.full_counts_match_truth if label == "full" else r.counts_match_truth
            match = "yes" if ok else "**no**"
            sim_cpu = "?" if f.simulator_cpu_seconds is None else f"{f.simulator_cpu_seconds:.1f}"
            lines.append(
                f"| {r.tickets:,} | {label} | {buckets(f)} | {f.bound_seconds:.1f} ({f.busiest_bucket}) "
                f"| {f.seconds:.1f} | {ratio} | {f.cpu_seconds:.1f} / {sim_cpu} | {f.load_average} "
                f"| {f.peak_rss_mb:.0f} / {_mb(f.peak_anon_mb)} "
                f"| {f.entities_per_second:,.0f} | {f.rate_limited} | {share} | {match} |"
            )
    for r in results:
        if len(r.full.repeats) > 1:
            lines += ["", f"{r.tickets:,} tickets, every full run (the median is the table's):", ""]
            for n, run in enumerate(r.full.repeats, 1):
                run_sim_cpu = run.get("simulator_cpu_seconds")
                bound = run.get("bound_seconds", r.full.bound_seconds)
                lines.append(
                    f"- run {n}: {run['seconds']:.1f} s ÷ {bound:.1f} s "
                    f"= {run['ratio_to_bound']}, CPU zensync {run['cpu_seconds']:.1f} s / simulator "
                    f"{'?' if run_sim_cpu is None else f'{run_sim_cpu:.1f}'} s, {run['rate_limited']} 429s, "
                    f"load {run.get('load_average')}, peak RSS {run['peak_rss_mb']:.0f} MB "
                    f"(anonymous {_mb(run.get('peak_anon_mb'))} MB)"
                )
    lines += [
        "",
        "Targets: full ≤ 1.25 × bound; incremental ≤ 2 % of full requests; "
        "peak RSS < 300 MB and flat with size.",
    ]
    return "\n".join(lines) + "\n"


def verdicts(results: list[SizeResult]) -> list[str]:
    out: list[str] = []
    for r in results:
        ratio = r.full.ratio_to_bound
        if ratio is not None and ratio > TARGET_RATIO:
            out.append(f"{r.tickets}: full sync {ratio:.2f}× the bound (target ≤ {TARGET_RATIO})")
        if r.incremental_share > TARGET_INCREMENTAL_SHARE:
            out.append(f"{r.tickets}: incremental {r.incremental_share:.2%} of full (target ≤ 2%)")
        for label, f in (("full", r.full), ("incremental", r.incremental)):
            if f.peak_rss_mb >= TARGET_PEAK_MB:
                out.append(f"{r.tickets}: {label} sync peak RSS {f.peak_rss_mb:.0f} MB (target < 300)")
        if not (r.counts_match_truth and r.full_counts_match_truth):
            out.append(f"{r.tickets}: stored counts {r.stored_counts} differ from the simulator's truth")
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="comma-separated ticket counts (default: 1000,10000,100000)",
    )
    parser.add_argument(
        "--minute-seconds",
        type=float,
        default=DEFAULT_MINUTE_SECONDS,
        help=f"length of a rate-limit minute in seconds (default {DEFAULT_MINUTE_SECONDS:g})",
    )
    parser.add_argument(
        "--change-share",
        type=float,
        default=0.01,
        help="share of tickets changed before the incremental run (default 0.01)",
    )
    parser.add_argument("--no-attachments", action="store_true", help="sync attachment metadata only")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument("--tls", action="store_true", help="serve the simulator over HTTPS (own CA)")
    parser.add_argument("--repeat", type=int, default=1, help="full syncs per size; the median is reported")
    parser.add_argument(
        "--no-incremental", action="store_true", help="full syncs only (no changes, no incremental run)"
    )
    args = parser.parse_args(argv)
    try:
        args.size_list = [int(s.replace("_", "").replace(",", "")) for s in args.sizes.split(",") if s]
    except ValueError:
        parser.error(f"--sizes takes comma-separated integers, e.g. 1000,10000 (got {args.sizes!r})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: list[SizeResult] = []
    with tempfile.TemporaryDirectory(prefix="zensync-bench-") as tmp:
        for size in args.size_list:
            print(f"{size:,} tickets", flush=True)
            results.append(
                bench_size(
                    size,
                    args.minute_seconds,
                    args.change_share,
                    not args.no_attachments,
                    Path(tmp),
                    tls=args.tls,
                    repeat=max(1, args.repeat),
                    incremental_run=not args.no_incremental,
                )
            )
    table = markdown(results, args.minute_seconds)
    payload = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "plan": PLAN,
        "bucket_limits_per_minute": BUCKET_LIMITS,
        "minute_seconds": args.minute_seconds,
        "change_share": args.change_share,
        "tls": args.tls,
        "repeat": args.repeat,
        "results": [asdict(r) for r in results],
        "missed_targets": verdicts(results),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (args.output / f"bench-{stamp}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.output / "latest.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.output / "latest.md").write_text(table)
    print()
    print(table)
    for line in payload["missed_targets"]:
        print(f"missed: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
