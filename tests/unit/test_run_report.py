"""The run report's one-line summary counts each request once."""

from __future__ import annotations

from datetime import UTC, datetime

from zensync.sync import RunReport


def test_summary_counts_each_request_once() -> None:
    # 40 API requests, all on the plan's budget; 8 of them exports, 4 reference lists (those
    # draw on account too); 25 file downloads, which draw on their own bucket only.
    report = RunReport(
        run_id=3,
        connection_id="acme",
        mode="full",
        status="succeeded",
        started_at=datetime.now(UTC),
        requests_by_bucket={
            "account": 40,
            "incremental-exports": 8,
            "reference-lists": 4,
            "attachments-download": 25,
        },
    )
    assert report.requests_sent == 65
    assert "65 requests" in report.summary()
    assert report.requests == 40  # the plan's budget, as the report table shows it


def test_summary_without_an_account_bucket_sums_what_was_counted() -> None:
    report = RunReport(
        run_id=1,
        connection_id="acme",
        mode="incremental",
        status="succeeded",
        started_at=datetime.now(UTC),
        requests_by_bucket={"attachments-download": 2},
    )
    assert "2 requests" in report.summary()
