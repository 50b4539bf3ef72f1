"""The audit-log reader on a log the API server is still writing: whole events only, from the mark on.

The server appends one JSON line per request while tests read; a mark taken between two of its writes of one
line once made a test's teardown fail on the fragment (CI, 2026-12-01). Plain files, no control plane needed.
"""

from __future__ import annotations

import json
from pathlib import Path

from spiris_localstack.kube_audit import AuditReader, service_account_user

USER = service_account_user("ns", "operator")


def _line(code: int, uri: str) -> bytes:
    event = {"user": {"username": USER}, "verb": "get", "requestURI": uri,
             "objectRef": {"resource": "secrets"}, "responseStatus": {"code": code}}
    return json.dumps(event).encode() + b"\n"


def test_a_mark_inside_a_line_skips_that_line_and_reads_the_next(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    before = _line(403, "/before")
    log.write_bytes(before[:40])  # the server is half-way through writing a line
    reader = AuditReader(log).mark()
    with log.open("ab") as out:
        out.write(before[40:] + _line(403, "/after"))
    assert reader.refused({USER}) == [f"{USER}: get secrets (403): /after"]


def test_a_mark_on_a_line_boundary_reads_every_later_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(_line(200, "/old"))
    reader = AuditReader(log).mark()
    with log.open("ab") as out:
        out.write(_line(403, "/first") + _line(200, "/second"))
    assert reader.refused({USER}) == [f"{USER}: get secrets (403): /first"]
    assert reader.counts({USER}) == {"GET secrets": 2}


def test_a_line_still_being_written_is_left_for_the_next_read(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"")
    reader = AuditReader(log).mark()
    whole = _line(403, "/late")
    log.write_bytes(whole[:25])
    assert reader.refused({USER}) == []
    log.write_bytes(whole)
    assert reader.refused({USER}) == [f"{USER}: get secrets (403): /late"]
    assert AuditReader(tmp_path / "missing.log").mark().refused({USER}) == []
