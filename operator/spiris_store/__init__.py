"""The stores: the Postgres ledger (schema `spiris`, alembic migrations), S3 documents and the rate budget.

Imports nothing else of ours. `migrate.migrate(dsn)` applies the schema; `ledger` holds the ledger functions
(upserts, runs, checkpoints, missing documents, reconciliation queries, company deletion) over a psycopg
connection from `connection.connect`; `documents.DocumentStore` stores content-addressed document bytes;
`budget.PostgresRateBudget` is the token bucket every worker draws from; the read API's queries are
`read_queries` and `sie4_copy` over a `read_pool.ReadOnlyPool`. Inputs and outputs are the plain dataclasses
of `records` (and the read models of `read_records`).
"""
