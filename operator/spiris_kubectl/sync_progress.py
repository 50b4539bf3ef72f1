"""Following a requested sync: the FiscalYearSync's `status.progress` as a tqdm progress bar until the
operator has handled the request and the run ended (Succeeded, Degraded or Failed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

TERMINAL = ("Succeeded", "Degraded", "Failed")


def follow(
    read: Callable[[], dict[str, Any]],
    *,
    request: str,
    timeout: float,
    out: TextIO,
    interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll `read()` until the request `request` is handled and no Job is active; returns the last status.
    Raises TimeoutError after `timeout` seconds."""
    deadline = clock() + timeout
    with tqdm(
        total=100,
        unit="%",
        file=out,
        desc="queued",
        dynamic_ncols=True,
        bar_format="{desc:<28} {percentage:3.0f}%|{bar}| {postfix}",
    ) as bar:
        while True:
            status = read().get("status") or {}
            progress = status.get("progress") or {}
            percent = int(progress.get("percent") or 0)
            handled = status.get("lastHandledSyncRequest") == request
            phase = str(status.get("phase") or "Pending")
            bar.set_description_str(f"{phase} {progress.get('stage') or ''}".strip())
            vouchers = progress.get("vouchers") or {}
            documents = progress.get("documents") or {}
            bar.set_postfix_str(
                f"vouchers {vouchers.get('done', 0)}/{vouchers.get('total', '?')} "
                f"documents {documents.get('done', 0)}/{documents.get('total', '?')}"
            )
            if handled and not status.get("activeJob") and phase in TERMINAL:
                bar.n = 100 if phase != "Failed" else bar.n
                bar.refresh()
                return status
            if handled:
                bar.n = max(bar.n, min(percent, 100))
                bar.refresh()
            if clock() > deadline:
                raise TimeoutError(f"the sync did not finish within {timeout:.0f} s (phase {phase})")
            sleep(interval)
