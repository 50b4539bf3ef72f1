"""Browser steps shared by the web tests: open a consent link, log in at the sandbox, pick, decide.

Each helper drives real Chromium through our pages and the sandbox's interactive identity pages, and records
every URL and page body seen so tests can prove that no code or token ever reached HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from spiris_sandbox.seed import DEMO_EMAIL, DEMO_PASSWORD

PHONE = {"width": 375, "height": 812}


@dataclass
class Journey:
    """One browser tab going through the consent flow, with what it saw."""

    page: Any
    artifacts: Path
    urls: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("request", lambda request: self.urls.append(request.url))

    def remember_body(self) -> str:
        html = str(self.page.content())
        self.bodies.append(html)
        return html

    def open(self, url: str) -> Any:
        response = self.page.goto(url)
        self.remember_body()
        return response

    def shot(self, name: str, *, full_page: bool = True) -> None:
        self.page.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=full_page)

    def grant(self) -> None:
        """Press "Ge behörighet" with the keyboard (focus + Enter), landing on the sandbox login."""
        self.page.get_by_role("button", name="Ge behörighet").focus()
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")
        self.remember_body()

    def login(self) -> None:
        self.page.fill("#email", DEMO_EMAIL)
        self.page.fill("#password", DEMO_PASSWORD)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Logga in").click()
        self.remember_body()

    def pick(self, company_number: int) -> None:
        with self.page.expect_navigation():
            self.page.locator(f'button[name="company"][value="{company_number}"]').click()
        self.remember_body()

    def decide(self, *, allow: bool) -> Any:
        """Allow or deny at the sandbox consent dialog; returns our callback's response."""
        value = "allow" if allow else "deny"
        with self.page.expect_response(lambda r: "/oauth/callback" in r.url) as info:
            self.page.locator(f'button[name="decision"][value="{value}"]').click()
        self.settle_at_callback()
        return info.value

    def settle_at_callback(self) -> str:
        """Wait until our callback's page is the loaded document and remember it. A response seen is not yet a
        page shown: until the navigation commits, the old document is the one "loaded", and reading its
        content fails because it is being replaced."""
        self.page.wait_for_url(lambda url: "/oauth/callback" in url, wait_until="load")
        return self.remember_body()

    def through_spiris(self, link_url: str, *, company: int, allow: bool = True) -> Any:
        """Link → our page → button → sandbox login → picker → decision; returns the callback response."""
        self.open(link_url)
        self.grant()
        self.login()
        self.pick(company)
        return self.decide(allow=allow)

    def callback_url(self) -> str:
        return next(u for u in reversed(self.urls) if "/oauth/callback" in u)

    def authorize_url(self) -> str:
        return next(u for u in self.urls if "/connect/authorize?" in u)

    def codes_seen(self) -> list[str]:
        codes: list[str] = []
        for url in self.urls:
            codes.extend(parse_qs(urlsplit(url).query).get("code", []))
        return codes

    def heading(self) -> str:
        return str(self.page.locator("h1").inner_text())
