"""The shared rate budget's queue: waiters, round-robin turns, class shares and the grant step.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

`spiris_store.budget` explains the scheduling. A caller that finds the bucket short becomes a row of
`rate_budget_waiters` (with a lease: a crashed process's row expires); `spiris.rate_budget_wait()` takes the
bucket row's lock, refills it, grants every whole token to the waiters first in line (class, then the company
served least recently, then arrival) and reports the caller's state, all in one transaction, so processes on
different machines agree. `rate_budget_turns` remembers when each company was last served in a class (round
robin); `rate_budget.class_shares` is each class's decayed share of the queued grants (minimum shares).
"""

from __future__ import annotations

from spiris_store.migrations.statements import execute_all

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_BUCKET = (
    "FOREIGN KEY (client_id, endpoint) REFERENCES spiris.rate_budget (client_id, endpoint) ON DELETE CASCADE"
)

# The bucket's tokens at `now`: refilled since `updated_at`, at most the capacity. Never negative time: a
# statement that read its clock before waiting for the row lock refills nothing rather than twice.
_REFILLED = """
CREATE FUNCTION spiris.rate_budget_refilled(
    tokens double precision, capacity double precision, refill_per_second double precision,
    updated_at timestamptz, now timestamptz
) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
SELECT least(capacity, tokens + greatest(0, extract(epoch FROM (now - updated_at))) * refill_per_second)
$$
"""

# Where every waiting row of a client stands: better classes first; within the class, round robin over the
# companies ordered by their last grant (never served = 0, ties by their oldest waiter), FIFO in a company.
# The k-th waiter of its company comes after min(n, k) waiters of each company ahead of its own in the round
# (its own included) and min(n, k - 1) of each company behind it. An estimate: minimum shares and arrivals
# of better classes move it, so waiters re-read it each time they wake.
_QUEUE = """
CREATE FUNCTION spiris.rate_budget_queue(p_client text, p_endpoint text)
RETURNS TABLE (waiter_id bigint, endpoint text, company text, priority smallint, queue_position bigint,
               enqueued_at timestamptz)
LANGUAGE sql STABLE AS $$
WITH waiting AS (
    SELECT w.id, w.endpoint, w.company, w.priority, w.enqueued_at,
           row_number() OVER (PARTITION BY w.endpoint, w.priority, w.company ORDER BY w.id) AS k,
           count(*) OVER (PARTITION BY w.endpoint, w.priority, w.company) AS n,
           min(w.id) OVER (PARTITION BY w.endpoint, w.priority, w.company) AS head,
           coalesce(t.last_grant, 0) AS last_grant
    FROM spiris.rate_budget_waiters AS w
    LEFT JOIN spiris.rate_budget_turns AS t
        ON t.client_id = w.client_id AND t.endpoint = w.endpoint AND t.priority = w.priority
        AND t.company = w.company
    WHERE w.client_id = p_client AND (p_endpoint IS NULL OR w.endpoint = p_endpoint)
        AND w.granted_at IS NULL AND w.expires_at > clock_timestamp()
), companies AS (
    SELECT DISTINCT endpoint, priority, company, n,
           dense_rank() OVER (PARTITION BY endpoint, priority ORDER BY last_grant, head) AS turn
    FROM waiting
), placed AS (
    SELECT w.*, c.turn FROM waiting AS w JOIN companies AS c USING (endpoint, priority, company)
)
SELECT p.id, p.endpoint, p.company, p.priority,
       (SELECT count(*) FROM waiting AS b WHERE b.endpoint = p.endpoint AND b.priority < p.priority)
       + (SELECT sum(least(c.n, p.k - CASE WHEN c.turn > p.turn THEN 1 ELSE 0 END))
          FROM companies AS c WHERE c.endpoint = p.endpoint AND c.priority = p.priority)::bigint,
       p.enqueued_at
FROM placed AS p
$$
"""

# One grant step under the bucket row's lock. The class: a waiting class below its minimum share (the best
# of those) before the best waiting class; the company: the one served least recently in that class; the
# waiter: its oldest. A grant takes the token now and notifies the waiter's channel (its session LISTENs);
# the waiter claims it with its next step, within p_claim_seconds or not at all.
_WAIT = """
CREATE FUNCTION spiris.rate_budget_wait(
    p_client text, p_endpoint text, p_waiter bigint, p_company text, p_priority smallint, p_channel text,
    p_lease_seconds double precision, p_claim_seconds double precision, p_share_decay double precision,
    p_min_shares double precision[]
) RETURNS TABLE (waiter_id bigint, granted boolean, queue_position bigint, tokens double precision,
                 refill_per_second double precision)
LANGUAGE plpgsql AS $$
DECLARE
    b spiris.rate_budget;
    now_ timestamptz;
    me bigint := p_waiter;
    cls smallint;
    pick record;
    was_granted boolean;
    granted_before bigint;
BEGIN
    SELECT * INTO b FROM spiris.rate_budget AS r
    WHERE r.client_id = p_client AND r.endpoint = p_endpoint FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;  -- no bucket (never configured, or deleted): the caller configures it and comes back
    END IF;
    now_ := clock_timestamp();  -- read after the lock, so a step that waited for it refills up to now
    b.tokens := spiris.rate_budget_refilled(b.tokens, b.capacity, b.refill_per_second, b.updated_at, now_);
    b.updated_at := greatest(b.updated_at, now_);
    granted_before := b.granted_total;
    DELETE FROM spiris.rate_budget_waiters AS w
    WHERE w.client_id = p_client AND w.endpoint = p_endpoint AND w.expires_at < now_;

    -- the caller: a heartbeat on its row, or a new row (first call, or its row expired or vanished). A grant
    -- it claims later than p_claim_seconds is void and it waits again in its place: its request would go out
    -- long after its token was counted, bunched with those granted since (the token is lost, not reused)
    UPDATE spiris.rate_budget_waiters AS w SET expires_at = now_ + make_interval(secs => p_lease_seconds),
        granted_at = CASE WHEN w.granted_at < now_ - make_interval(secs => p_claim_seconds) THEN NULL
                          ELSE w.granted_at END
    WHERE w.id = me AND w.client_id = p_client AND w.endpoint = p_endpoint;
    IF me IS NULL OR NOT FOUND THEN
        INSERT INTO spiris.rate_budget_waiters
            (client_id, endpoint, company, priority, channel, enqueued_at, expires_at)
        VALUES (p_client, p_endpoint, p_company, p_priority, p_channel, now_,
                now_ + make_interval(secs => p_lease_seconds))
        RETURNING id INTO me;
    END IF;

    WHILE b.tokens >= 1 LOOP
        SELECT c.priority INTO cls
        FROM unnest(ARRAY[1, 2, 3, 4]::smallint[]) AS c(priority)
        WHERE EXISTS (
            SELECT 1 FROM spiris.rate_budget_waiters AS w
            WHERE w.client_id = p_client AND w.endpoint = p_endpoint AND w.priority = c.priority
                AND w.granted_at IS NULL
        )
        ORDER BY coalesce(b.class_shares[c.priority], 0) >= p_min_shares[c.priority], c.priority
        LIMIT 1;
        EXIT WHEN NOT FOUND;
        SELECT w.id, w.company, w.channel INTO pick
        FROM spiris.rate_budget_waiters AS w
        LEFT JOIN spiris.rate_budget_turns AS t
            ON t.client_id = w.client_id AND t.endpoint = w.endpoint AND t.priority = w.priority
            AND t.company = w.company
        WHERE w.client_id = p_client AND w.endpoint = p_endpoint AND w.priority = cls
            AND w.granted_at IS NULL
        ORDER BY coalesce(t.last_grant, 0), w.id
        LIMIT 1;
        UPDATE spiris.rate_budget_waiters SET granted_at = now_ WHERE id = pick.id;
        b.tokens := b.tokens - 1;
        b.granted_total := b.granted_total + 1;
        b.class_shares := ARRAY(
            SELECT s * (1 - p_share_decay) + CASE WHEN i = cls THEN p_share_decay ELSE 0 END
            FROM unnest(b.class_shares) WITH ORDINALITY AS u(s, i) ORDER BY i
        );
        INSERT INTO spiris.rate_budget_turns AS t
            (client_id, endpoint, priority, company, last_grant, last_granted_at)
        VALUES (p_client, p_endpoint, cls, pick.company, b.granted_total, now_)
        ON CONFLICT (client_id, endpoint, priority, company) DO UPDATE
            SET last_grant = excluded.last_grant, last_granted_at = excluded.last_granted_at;
        PERFORM pg_notify(pick.channel, pick.id::text);
    END LOOP;

    UPDATE spiris.rate_budget AS r SET tokens = b.tokens, updated_at = b.updated_at,
        granted_total = b.granted_total, class_shares = b.class_shares
    WHERE r.client_id = p_client AND r.endpoint = p_endpoint;
    -- once per 1000 grants, a company idle for an hour is forgotten: it comes back as never served, which
    -- it nearly is
    IF b.granted_total / 1000 > granted_before / 1000 THEN
        DELETE FROM spiris.rate_budget_turns AS t
        WHERE t.client_id = p_client AND t.endpoint = p_endpoint
            AND t.last_granted_at < now_ - interval '1 hour';
    END IF;

    -- the caller's state: a granted row is the caller's to take, so it goes
    DELETE FROM spiris.rate_budget_waiters AS w WHERE w.id = me AND w.granted_at IS NOT NULL
    RETURNING true INTO was_granted;
    IF was_granted THEN
        RETURN QUERY SELECT me, true, 0::bigint, b.tokens, b.refill_per_second;
    ELSE
        RETURN QUERY SELECT me, false, coalesce(
            (SELECT q.queue_position FROM spiris.rate_budget_queue(p_client, p_endpoint) AS q
             WHERE q.waiter_id = me), 1), b.tokens, b.refill_per_second;
    END IF;
END
$$
"""

UPGRADE = [
    # The shares always sum to 1 (each grant decays all by the same factor and adds it to one class). A new
    # bucket starts as if classes 2-4 had had twice their minimum (budget.MIN_SHARE) lately: class order
    # rules until some 35 queued grants have gone elsewhere, instead of the first grants going to whichever
    # lower class happens to wait.
    "ALTER TABLE spiris.rate_budget ADD COLUMN class_shares double precision[] NOT NULL"
    " DEFAULT '{0.7,0.1,0.1,0.1}'",
    f"""
    CREATE TABLE spiris.rate_budget_waiters (
        id bigserial PRIMARY KEY,
        client_id text NOT NULL,
        endpoint text NOT NULL,
        company text NOT NULL,
        priority smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
        channel text NOT NULL,
        enqueued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        granted_at timestamptz,
        {_BUCKET}
    )
    """,
    "CREATE INDEX rate_budget_waiters_queue_idx ON spiris.rate_budget_waiters"
    " (client_id, endpoint, priority, id) WHERE granted_at IS NULL",
    "CREATE INDEX rate_budget_waiters_expiry_idx ON spiris.rate_budget_waiters"
    " (client_id, endpoint, expires_at)",
    f"""
    CREATE TABLE spiris.rate_budget_turns (
        client_id text NOT NULL,
        endpoint text NOT NULL,
        priority smallint NOT NULL,
        company text NOT NULL,
        last_grant bigint NOT NULL,
        last_granted_at timestamptz NOT NULL,
        PRIMARY KEY (client_id, endpoint, priority, company),
        {_BUCKET}
    )
    """,
    _REFILLED,
    _QUEUE,
    _WAIT,
]

DOWNGRADE = [
    "DROP FUNCTION spiris.rate_budget_wait",
    "DROP FUNCTION spiris.rate_budget_queue",
    "DROP FUNCTION spiris.rate_budget_refilled",
    "DROP TABLE spiris.rate_budget_turns",
    "DROP TABLE spiris.rate_budget_waiters",
    "ALTER TABLE spiris.rate_budget DROP COLUMN class_shares",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
