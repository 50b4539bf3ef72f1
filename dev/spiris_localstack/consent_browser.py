"""A headless Chromium that gives consent the way a person at the client would (`make demo`, the e2e test).

It opens the consent link, presses "Ge behörighet" on our page, logs in at the sandbox's identity pages,
picks the company and approves — real clicks through real pages over real HTTP, so the demo proves the same
path a person walks with `make run`. Debian's Chromium is used through Playwright; Playwright's own browser
download is never used (it cannot work on these machines).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHROMIUM", "ConsentResult", "give_consent"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass(frozen=True)
class ConsentResult:
    """What the browser ended on: the final page's heading and text (for the demo's log)."""

    heading: str
    text: str


def give_consent(
    consent_url: str,
    *,
    email: str,
    password: str,
    company: int,
    screenshots: Path | None = None,
    timeout_ms: int = 30_000,
) -> ConsentResult:
    """Walk link → "Ge behörighet" → login → company picker → "Ja, tillåt" → our success page."""
    from playwright.sync_api import sync_playwright  # a test/demo dependency, imported only when used

    if shutil.which(CHROMIUM) is None:
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(locale="sv-SE")
            page.set_default_timeout(timeout_ms)

            def shot(name: str) -> None:
                if screenshots is not None:
                    screenshots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)

            page.goto(consent_url)
            shot("1-consent")
            with page.expect_navigation():
                page.get_by_role("button", name="Ge behörighet").click()
            shot("2-login")
            page.fill("#email", email)
            page.fill("#password", password)
            with page.expect_navigation():
                page.get_by_role("button", name="Logga in").click()
            picker = page.locator(f'button[name="company"][value="{company}"]')
            if picker.count():
                shot("3-company")
                with page.expect_navigation():
                    picker.click()
            shot("4-spiris-consent")
            with page.expect_navigation():
                page.locator('button[name="decision"][value="allow"]').click()
            page.wait_for_load_state()
            shot("5-result")
            return ConsentResult(
                heading=str(page.locator("h1").first.inner_text()),
                text=str(page.locator("main").first.inner_text()) if page.locator("main").count() else "",
            )
        finally:
            browser.close()
