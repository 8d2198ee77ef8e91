"""Engine tests run on both backends with the store tests' fixtures (SQLite file, throwaway
PostgreSQL server), and import the fake account from this folder (also used by the runner
script that the kill -9 test starts in a subprocess)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

_spec = importlib.util.spec_from_file_location(
    "zensync_store_test_fixtures", HERE.parent / "store" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

BACKENDS = _fixtures.BACKENDS
postgres_server = _fixtures.postgres_server
postgres_module_url = _fixtures.postgres_module_url
store_url = _fixtures.store_url
store = _fixtures.store
