"""The README's Python example, run exactly as printed, against the simulator.

The code block under the README's "## Python" heading is read from README.md and executed
with the simulator's account in the environment variables it reads, in a fresh directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

from zensync.store import Store

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_python_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the README's Python section shows one example"
    return blocks[0]


def test_readme_python_example_runs_against_the_simulator(
    simulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("ZENSYNC_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("ZENSYNC_SUBDOMAIN", simulator.subdomain)
    monkeypatch.setenv("ZENSYNC_EMAIL", simulator.admin_email)
    monkeypatch.setenv("ZENSYNC_API_TOKEN", simulator.api_token)
    monkeypatch.setenv("ZENSYNC_BASE_URL", simulator.base_url)
    code = readme_python_example()
    printed = io.StringIO()
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - the README's own code
    out = printed.getvalue()
    truth = simulator.truth()

    # 1. The store: everything the account holds, and the search printed its hits.
    with Store.open(tmp_path / "zensync.db") as store:
        counts = store.counts(simulator.subdomain)
    assert counts == {t: truth[t] for t in counts}
    assert "Full sync" in out or "full sync" in out
    assert f"https://{simulator.subdomain}.zendesk.com/agent/tickets/" in out

    # 2. The stream: every live ticket printed once or more, and a cursor that resumes.
    printed_ids = {int(m) for m in re.findall(r"^(\d+) (?:new|open|pending|hold|solved|closed) ", out, re.M)}
    assert len(printed_ids) >= truth["ticket"]
    cursor = namespace["cursor"]
    assert isinstance(cursor, dict)
    again = io.StringIO()
    with contextlib.redirect_stdout(again):
        resumed = asyncio.run(namespace["stream"](cursor))
    assert again.getvalue() == "", "nothing changed in the account: resuming streams no ticket"
    assert isinstance(resumed, dict)
