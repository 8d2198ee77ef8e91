"""One sync in its own process, so that a test can kill it with SIGKILL at any instant.

    python sync_runner.py --db URL [--blob-dir DIR] --source fake|simulator [--index] [...]

Prints ``started`` once everything is imported and the store is open (the test times its
kill from there), then the run report as JSON on the last line. A lock still held by a
killed predecessor's database session (PostgreSQL notices a dead client within moments) is
waited for, briefly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from zensync_sync_fakes import FakeAccount, FakeDownloadClient, FakeSource

from zensync.store import Store, SyncAlreadyRunning
from zensync.sync import SyncEngine
from zensync.sync.report import RunReport


async def _run_engine(store: Store, source: Any, args: argparse.Namespace, client: Any) -> RunReport:
    deadline = time.monotonic() + 20
    while True:
        engine = SyncEngine(store, source, args.connection, client=client, download_attachments=args.download)
        try:
            return await engine.run(full=args.full)
        except SyncAlreadyRunning:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def main(args: argparse.Namespace) -> None:
    store = Store.open(args.db, blob_dir=args.blob_dir)
    try:
        if args.source == "fake":
            account = FakeAccount(tickets=args.tickets, version=args.version)
            source = FakeSource(account, page_size=args.page_size, delay=args.delay)
            print("started", flush=True)
            report = await _run_engine(store, source, args, FakeDownloadClient() if args.download else None)
        else:
            from zensync.config import ZendeskConfig
            from zensync.source import ZendeskSource
            from zensync.zendesk.auth import ApiTokenAuth
            from zensync.zendesk.client import ZendeskClient

            config = ZendeskConfig(subdomain=args.subdomain, base_url=args.base_url)
            auth = ApiTokenAuth(args.email, args.token)
            async with ZendeskClient(config, auth, backoff=0.05, max_backoff=0.5) as client:
                print("started", flush=True)
                report = await _run_engine(store, ZendeskSource(client, config), args, client)
        result = report.to_dict()
        if args.index:
            # What `zensync sync` does after the download: embed what is new or changed.
            from zensync.embeddings import load_embedder
            from zensync.search.indexer import build_index
            from zensync.store.vectors import VectorStore

            result["index"] = build_index(VectorStore(store), load_embedder()).to_dict()
        print(json.dumps(result), flush=True)
    finally:
        store.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--blob-dir")
    parser.add_argument("--connection", default="acme")
    parser.add_argument("--source", choices=("fake", "simulator"), default="fake")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--tickets", type=int, default=30)
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--index", action="store_true", help="Then embed (zensync index).")
    parser.add_argument("--base-url")
    parser.add_argument("--subdomain")
    parser.add_argument("--email")
    parser.add_argument("--token")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
