"""Alembic migrations of schema `spiris` (run through `spiris_store.migrate.migrate`)."""
