"""Hostile documents are stored safely: Swedish and path-like names, 300 characters, zero bytes, a lying
content type, and a 200 MB file streamed by the worker process with flat memory."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import psycopg
import pytest
from testkit.ledger_checks import assert_objects_match_sha256
from testkit.sync_stack import VENV_BIN, summary_of

LARGE = 200 * 1024 * 1024
RSS_LIMIT_KB = 200 * 1024

MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(done.stdout); sys.stderr.write(done.stderr)\n"
    "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(done.returncode)\n"
)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_hostile_documents_are_stored_safely(make_stack, tmp_path) -> None:
    stack = make_stack(
        vouchers_per_year=40, documents_ratio=0.5, seed=3, fiscal_years=(2025,), large_document_bytes=LARGE
    )
    # The worker runs as a real process under a tiny wrapper that reports its peak resident memory.
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(VENV_BIN / "spiris-sync"), *stack.cli_run_args(2025)],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=220,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    peak_kb = int(done.stdout.rsplit("PEAK_RSS_KB", 1)[1].split()[0])
    print(f"worker peak RSS {peak_kb / 1024:.0f} MiB while storing a {LARGE // 2**20} MiB document")
    assert peak_kb <= RSS_LIMIT_KB, f"worker peak RSS {peak_kb / 1024:.0f} MiB"
    summary = summary_of(subprocess.CompletedProcess(done.args, 0, done.stdout.split("PEAK_RSS_KB")[0], ""))
    assert summary["outcome"] == "succeeded"

    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT original_file_name, content_type, size_bytes, sha256, object_key FROM spiris.documents"
        ).fetchall()
    by_name = {r[0]: r for r in rows if r[0] is not None}
    swedish = next(n for n in by_name if n.startswith("Kvitto Åhléns"))
    assert "ÅÄÖ åäö" in swedish
    assert "../../etc/passwd" in by_name
    long_name = next(n for n in by_name if n.startswith("Mycket långt filnamn"))
    assert len(long_name) == 300
    empty = by_name["tom fil.pdf"]
    assert empty[2] == 0 and empty[3] == hashlib.sha256(b"").hexdigest()
    # As declared; the bytes are a PDF, and the key says nothing about either.
    assert by_name["skanning.jpg"][1] == "image/jpeg"
    large = by_name[next(n for n in by_name if n.startswith("Årsbokslut"))]
    assert large[2] >= LARGE
    for _, _, _, sha256, key in rows:
        assert key == f"companies/{stack.company_key}/sha256/{sha256[:2]}/{sha256}"
    # No file name ever became a path.
    assert not list(tmp_path.rglob("*passwd*"))
    distinct_objects = len({r[4] for r in rows})
    assert assert_objects_match_sha256(stack.s3, stack.bucket, stack.database_url) == distinct_objects
    metadata = stack.s3.client().stat_object(stack.bucket, by_name["../../etc/passwd"][4]).metadata
    assert "passwd" in json.dumps(dict(metadata))
