"""sync → status → search → export through the real console script, against the simulator."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

ENTITY_TYPES = ("ticket", "comment", "user", "organization", "attachment")


def test_status_counts_equal_the_simulators_truth(
    simulator: Any, synced_db: Path, cli: Any, tmp_path: Path
) -> None:
    truth = simulator.truth()
    result = cli.run("status", "--json", "--db", str(synced_db), cwd=tmp_path)
    assert result.code == 0, result.stderr
    data = result.json()
    assert {t: data["entities"][t] for t in ENTITY_TYPES} == {t: truth[t] for t in ENTITY_TYPES}
    assert truth["ticket"] > 0 and truth["comment"] > truth["ticket"] and truth["attachment"] > 0
    # The run is recorded, and the default connection is named after the subdomain.
    assert data["runs"][0]["status"] == "succeeded"
    assert data["runs"][0]["mode"] == "full"
    assert [c["id"] for c in data["connections"]] == [simulator.subdomain]
    assert data["connections"][0]["cursor"], "cursor positions are reported"


def test_status_human_output_and_env_db(synced_db: Path, cli: Any, tmp_path: Path) -> None:
    result = cli.run("status", cwd=tmp_path, env=cli.env(ZENSYNC_DB=str(synced_db)))
    assert result.code == 0, result.stderr
    assert "tickets" in result.stdout and "Recent runs" in result.stdout
    assert "succeeded" in result.stdout


def test_search_finds_each_seeded_phrase_with_an_agent_link(
    simulator: Any, synced_db: Path, cli: Any, tmp_path: Path
) -> None:
    phrases = simulator.truth()["phrases"]
    assert phrases, "the simulated account seeds search phrases"
    for phrase in phrases:
        result = cli.run("search", phrase["phrase"], "--json", "--db", str(synced_db), cwd=tmp_path)
        assert result.code == 0, result.stderr
        results = result.json()["results"]
        # Comments and attachments show as their ticket, with the matching passage.
        found = [
            (r, p)
            for r in results
            for p in [*r["passages"], {"entity_type": r["entity_type"], "id": r["id"]}]
            if p["entity_type"] == phrase["type"] and p["id"] == phrase["id"]
        ]
        assert found, f"{phrase} not among {[(r['entity_type'], r['id']) for r in results]}"
        if phrase["type"] in ("ticket", "comment", "attachment"):
            ticket_id = phrase.get("ticket_id", phrase["id"])
            assert found[0][0]["entity_type"] == "ticket" and found[0][0]["id"] == ticket_id
            assert (
                found[0][0]["web_url"]
                == f"https://{simulator.subdomain}.zendesk.com/agent/tickets/{ticket_id}"
            )


def test_search_human_output_shows_snippet_and_link(
    simulator: Any, synced_db: Path, cli: Any, tmp_path: Path
) -> None:
    phrase = next(p for p in simulator.truth()["phrases"] if p["type"] == "comment")
    result = cli.run(
        "search", phrase["phrase"], "--type", "comment", "--limit", "3", "--db", str(synced_db), cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    assert "[ticket]" in result.stdout and "comment: " in result.stdout
    assert f"/agent/tickets/{phrase['ticket_id']}" in result.stdout
    assert "capacitor" in result.stdout.lower()


def test_search_rejects_an_unknown_type(synced_db: Path, cli: Any, tmp_path: Path) -> None:
    result = cli.run("search", "x", "--type", "tickte", "--db", str(synced_db), cwd=tmp_path)
    assert result.code == 2
    assert result.error_lines == [
        "Error: unknown --type 'tickte' — use one of: ticket, comment, user, organization, attachment"
    ]


def test_export_jsonl_line_counts(simulator: Any, synced_db: Path, cli: Any, tmp_path: Path) -> None:
    truth = simulator.truth()
    result = cli.run("export", "--format", "jsonl", "--type", "ticket", "--db", str(synced_db), cwd=tmp_path)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == truth["ticket"]
    first = json.loads(lines[0])
    assert first["entity_type"] == "ticket" and isinstance(first["id"], int) and "subject" in first
    assert len({json.loads(line)["id"] for line in lines}) == truth["ticket"]

    out = tmp_path / "all.jsonl"
    result = cli.run("export", "--output", str(out), "--db", str(synced_db), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # customer data: owner-only, whatever the umask
    per_type: dict[str, int] = {}
    with out.open() as handle:
        for line in handle:
            kind = json.loads(line)["entity_type"]
            per_type[kind] = per_type.get(kind, 0) + 1
    assert per_type == {t: truth[t] for t in ENTITY_TYPES}


def test_second_sync_is_incremental_and_changes_nothing(
    simulator: Any, synced_db: Path, cli: Any, tmp_path: Path
) -> None:
    db = cli.copy_db(synced_db, tmp_path)
    report = tmp_path / "report.json"
    result = cli.run(
        "sync",
        "--db",
        str(db),
        *cli.sim_args(simulator),
        "--report-json",
        str(report),
        cwd=tmp_path,
        env=cli.sim_env(simulator),
    )
    assert result.code == 0, result.stderr
    data = json.loads(report.read_text())
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert data["mode"] == "incremental" and data["status"] == "succeeded"
    assert data["totals"]["inserted"] == 0 and data["totals"]["deleted"] == 0
    assert "incremental" in result.stdout.lower()  # the rendered report
    assert cli.stored_counts(db, tmp_path) == {t: simulator.truth()[t] for t in ENTITY_TYPES}


def test_access_token_sync_without_attachment_bytes(simulator: Any, tmp_path: Path, cli: Any) -> None:
    """--access-token (here from the environment) and --no-attachments: metadata only, no secret shown."""
    token = simulator.static_access_token
    assert token, "the shared simulator issues a static access token"
    env = cli.env(ZENSYNC_ACCESS_TOKEN=token)
    result = cli.run(
        "sync",
        "--db",
        str(tmp_path / "s.db"),
        *cli.sim_args(simulator),
        "--no-attachments",
        "--verbose",
        cwd=tmp_path,
        env=env,
    )
    assert result.code == 0, result.stderr
    assert token not in result.stdout + result.stderr
    assert "(access token)" in result.stderr
    truth = simulator.truth()
    assert cli.stored_counts(tmp_path / "s.db", tmp_path) == {t: truth[t] for t in ENTITY_TYPES}
    blobs = tmp_path / "s.db.blobs"
    stored_files = [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else []
    assert stored_files == [], "no attachment bytes are downloaded with --no-attachments"


def test_config_file_settings_and_excluding_closed_tickets(simulator: Any, cli: Any, tmp_path: Path) -> None:
    """Settings from ./zensync.toml (db, account, exclude_closed_tickets); credentials from env."""
    (tmp_path / "zensync.toml").write_text(
        f'db = "from-file.db"\nsubdomain = "{simulator.subdomain}"\nbase_url = "{simulator.base_url}"\n'
        "exclude_closed_tickets = true\nattachments = false\n"
    )
    result = cli.run("sync", cwd=tmp_path, env=cli.sim_env(simulator))
    assert result.code == 0, result.stderr
    truth = simulator.truth()
    counts = cli.stored_counts(tmp_path / "from-file.db", tmp_path)
    assert counts["ticket"] == truth["ticket"] - truth["tickets_by_status"]["closed"]
    assert counts["user"] == truth["user"] and counts["organization"] == truth["organization"]
    assert 0 < counts["comment"] < truth["comment"]


def test_sync_through_a_stored_connection(simulator: Any, cli: Any, tmp_path: Path) -> None:
    """`zensync connect --api-token` stores the credentials (sealed); `zensync sync` then needs none."""
    env = cli.env(ZENSYNC_SECRET_KEY=cli.secret_key())
    db = tmp_path / "conn.db"
    connected = cli.run(
        "connect",
        "--db",
        str(db),
        *cli.sim_args(simulator),
        "--api-token",
        f"{simulator.admin_email}/{simulator.api_token}",
        cwd=tmp_path,
        env=env,
    )
    assert connected.code == 0, connected.stderr
    result = cli.run("sync", "--db", str(db), "--no-attachments", cwd=tmp_path, env=env)
    assert result.code == 0, result.stderr
    assert f"connection '{simulator.subdomain}'" in result.stderr
    truth = simulator.truth()
    assert cli.stored_counts(db, tmp_path) == {t: truth[t] for t in ENTITY_TYPES}

    unknown = cli.run("sync", "--db", str(db), "--connection", "nope", cwd=tmp_path, env=env)
    assert unknown.code == 2
    assert len(unknown.error_lines) == 1 and "No connection 'nope'" in unknown.error_lines[0]
