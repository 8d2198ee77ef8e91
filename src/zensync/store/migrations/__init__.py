"""Alembic migrations of the zensync schema, run by :func:`zensync.store.migrate.upgrade`."""
