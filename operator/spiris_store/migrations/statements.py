"""The shape most revisions here take: a list of SQL statements each way, run in order by `execute_all`.

Keeping each revision's SQL as plain module-level lists lets tests and reviewers read what a migration does
without running Alembic; this is the one loop that hands them to Alembic.
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op


def execute_all(statements: Iterable[str]) -> None:
    """Execute each statement in order; a failure aborts the one transaction every pending revision runs in
    (see env.py), so none of them stays."""
    for statement in statements:
        op.execute(statement)
