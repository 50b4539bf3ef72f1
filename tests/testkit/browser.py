"""The one way a test launches Chromium through Playwright: `chromium(executable, args)`, closed after."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def chromium(executable: str, args: Sequence[str]) -> Iterator[Any]:
    """A headless Chromium (`playwright.sync_api.Browser`); fails the test when `executable` is missing."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(executable):
        pytest.fail(f"{executable} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(args), headless=True)
        try:
            yield browser
        finally:
            browser.close()
