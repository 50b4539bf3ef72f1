"""Consent without a browser: the pages of ``consent_browser``, walked by submitting their forms over HTTP.

Our consent page's form ("Ge behörighet") leads to the sandbox's login, company picker and consent dialog;
each is an HTML form whose hidden fields are read from the page and posted back with the user's choices, with
one cookie jar for the whole walk, so the web's callback is reached exactly as a browser would reach it. It
costs a fraction of a second per company where Chromium costs many, which is what the soak test (three
companies) needs; the demo and the e2e test keep the real browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

__all__ = ["ConsentWalkError", "give_consent_http"]


class ConsentWalkError(RuntimeError):
    """A page of the consent walk did not have the form the next step needs."""


@dataclass
class _Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    """The forms of a page: action, hidden/text inputs with values, and the named submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.heading = ""
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(_Form(action=values.get("action", "")))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button" and self.forms and values.get("name"):
            self.forms[-1].buttons.append((values["name"], values.get("value", "")))
        elif tag == "h1" and not self.heading:
            self._in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.heading += data


def _parse(response: httpx.Response) -> _Forms:
    parser = _Forms()
    parser.feed(response.text)
    return parser


def _submit(client: httpx.Client, page: httpx.Response, form: _Form, extra: dict[str, str]) -> httpx.Response:
    target = urljoin(str(page.url), form.action or str(page.url))
    response = client.post(target, data={**form.fields, **extra})
    response.raise_for_status()
    return response


def give_consent_http(
    consent_url: str, *, email: str, password: str, company: int, timeout: float = 30.0
) -> str:
    """Walk link → "Ge behörighet" → login → company picker → "Ja, tillåt"; the last page's heading."""
    with httpx.Client(follow_redirects=True, timeout=timeout, headers={"Accept-Language": "sv-SE"}) as client:
        page = client.get(consent_url)
        page.raise_for_status()
        forms = _parse(page).forms
        if not forms:
            raise ConsentWalkError(f"no consent form at {consent_url} ({page.status_code})")
        page = _submit(client, page, forms[0], {})
        for _ in range(4):  # login, company picker, consent: each at most once
            parsed = _parse(page)
            form = next((f for f in parsed.forms if "flow" in f.fields), None)
            if form is None:
                return parsed.heading.strip()
            if "password" in form.fields or "email" in form.fields:
                page = _submit(client, page, form, {"email": email, "password": password})
            elif any(name == "company" for name, _ in form.buttons):
                page = _submit(client, page, form, {"company": str(company)})
            elif ("decision", "allow") in form.buttons:
                page = _submit(client, page, form, {"decision": "allow"})
            else:
                raise ConsentWalkError(f"unexpected form at {page.url}: {form}")
        raise ConsentWalkError(f"the consent walk did not end (last page {page.url})")
