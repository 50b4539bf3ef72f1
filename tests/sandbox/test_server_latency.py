"""The sandbox answers small requests without Nagle stalls (found by the benchmarks, issue 9).

A listening socket made with proto 0 makes asyncio skip TCP_NODELAY on accepted connections; every response
whose headers and body leave in two writes then waits for the client's delayed ACK (~40 ms on Linux), which
made the sandbox ~40x slower than its handlers and the worker look latency-bound in `make bench`.
"""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from spiris_sandbox.server import SandboxServer
from testkit.sandbox_oauth import ControlFor


@pytest.mark.timeout(60)
def test_small_responses_arrive_without_delayed_ack_stalls(
    shared_sandbox: SandboxServer, control_for: ControlFor
) -> None:
    token = control_for(shared_sandbox).tokens(1)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with httpx.Client(headers=headers, timeout=30) as client:
        assert client.get(f"{shared_sandbox.api_url}/fiscalyears").status_code == 200  # builds the books
        durations = []
        for _ in range(25):
            began = time.perf_counter()
            response = client.get(f"{shared_sandbox.api_url}/fiscalyears")
            durations.append(time.perf_counter() - began)
            assert response.status_code == 200
    # A stall is >= 40 ms every time; an unstalled answer takes a few ms even on a busy 2-core machine.
    assert statistics.median(durations) < 0.02, f"median {statistics.median(durations) * 1000:.1f} ms"
