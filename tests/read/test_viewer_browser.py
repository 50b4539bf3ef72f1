"""The auditor's viewer in real Chromium: a signed link opens the year, arrow keys, buttons and swipes
(touch emulation) move through the vouchers with a counter, a PDF and an image render inline beside their
voucher, filters narrow the year, Swedish and English. Screenshots go to test-artifacts/read/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import expect
from testkit.browser import chromium as launch_chromium
from testkit.read_stack import ReadStack

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "read"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launch_chromium(CHROMIUM, CHROMIUM_ARGS) as browser:
        yield browser


def _viewer_url(stack: ReadStack, year: int = 2024) -> str:
    response = stack.post(f"{stack.base()}/fiscal-years/{year}/viewer-links")
    assert response.status_code == 201, response.text
    return str(response.json()["url"])


def _counter(page: Any) -> str:
    return str(page.locator("#counter").inner_text())


def _position_of(stack: ReadStack, content_type: str, magic: bytes) -> tuple[int, str]:
    """1-based position in the unfiltered year of the first voucher whose first document has this type and
    really is one (the sandbox also carries a PNG declared as a PDF, which no viewer can render)."""
    with psycopg.connect(stack.owner_dsn) as conn:
        rows = conn.execute(
            """
            SELECT v.id, v.number, (SELECT d.content_type || ' ' || d.id FROM spiris.voucher_documents vd
                JOIN spiris.documents d ON d.company_key = vd.company_key AND d.id = vd.document_id
                WHERE vd.company_key = v.company_key AND vd.voucher_id = v.id
                ORDER BY d.original_file_name NULLS LAST, d.id LIMIT 1)
            FROM spiris.vouchers v JOIN spiris.fiscal_years fy
                ON fy.company_key = v.company_key AND fy.id = v.fiscal_year_id
            WHERE v.company_key = %s AND v.vanished_at IS NULL AND fy.start_date = '2024-01-01'
            ORDER BY v.voucher_date, coalesce(v.number, ''), v.id
            """,
            (stack.connection_uid,),
        ).fetchall()
    for index, (_, number, first) in enumerate(rows, start=1):
        kind, _, document_id = (first or "").rpartition(" ")
        if kind != content_type:
            continue
        link = stack.get(f"{stack.base()}/documents/{document_id}/content", params={"redirect": "false"})
        if httpx.get(link.json()["url"], timeout=30).content.startswith(magic):
            return index, str(number)
    raise AssertionError(f"no voucher whose first document is {content_type}")


def test_keyboard_buttons_pdf_and_image(read_stack: ReadStack, chromium: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    total = read_stack.truth(2024)["vouchers"]
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(_viewer_url(read_stack))
    # Waits are locator assertions: the page's CSP (script-src 'self') forbids evaluating strings.
    expect(page.locator("#counter")).to_have_text(f"1 av {total}")
    expect(page.locator("#voucher-number")).not_to_be_empty()
    assert page.locator("html").get_attribute("lang") == "sv"
    first = page.locator("#voucher-number").inner_text()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#counter")).to_have_text(f"2 av {total}")
    expect(page.locator("#voucher-number")).not_to_have_text(first)
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#voucher-number")).to_have_text(first)
    page.locator("#next").click()
    expect(page.locator("#counter")).to_have_text(f"2 av {total}")
    page.locator("#previous").click()
    expect(page.locator("#counter")).to_have_text(f"1 av {total}")
    # Walk to a voucher whose document is a PDF, then to one with an image; both render inline.
    for kind, tag, magic in (("application/pdf", "iframe", b"%PDF"), ("image/png", "img", b"\x89PNG")):
        position, number = _position_of(read_stack, kind, magic)
        while not _counter(page).startswith(f"{position} "):
            current = _counter(page)
            page.keyboard.press("ArrowRight")
            expect(page.locator("#counter")).not_to_have_text(current)
        expect(page.locator("body")).to_have_attribute("data-voucher", number)
        view = page.locator(f"#document-frame {tag}")
        view.wait_for()
        assert page.locator("#file-name").inner_text()
        if tag == "img":
            expect(view).to_have_js_property("complete", True)
            assert view.evaluate("img => img.naturalWidth") > 0
        else:
            frame = page.frame_locator("#document-frame iframe")
            assert frame is not None
            page.wait_for_timeout(1500)  # the PDF viewer paints after load
        page.screenshot(path=str(ARTIFACTS / f"viewer-{tag}.png"))
    context.close()


def test_swipe_filters_and_english(read_stack: ReadStack, chromium: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 420, "height": 860}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(_viewer_url(read_stack) + "?lang=en")
    total = read_stack.truth(2024)["vouchers"]
    expect(page.locator("#counter")).to_have_text(f"1 of {total}")
    assert page.locator("#next").inner_text().startswith("Next")

    def swipe(dx: int) -> None:
        page.evaluate(
            """(dx) => {
                const stage = document.getElementById('stage');
                const touch = (x) => new Touch({identifier: 1, target: stage, clientX: x, clientY: 300});
                stage.dispatchEvent(new TouchEvent('touchstart', {touches: [touch(200)], bubbles: true}));
                stage.dispatchEvent(new TouchEvent('touchend', {changedTouches: [touch(200 + dx)],
                                                                 bubbles: true}));
            }""",
            dx,
        )

    swipe(-150)
    expect(page.locator("#counter")).to_have_text(f"2 of {total}")
    swipe(150)
    expect(page.locator("#counter")).to_have_text(f"1 of {total}")
    page.screenshot(path=str(ARTIFACTS / "viewer-touch-en.png"))
    # Filters: only vouchers with documents, then by account.
    page.select_option("#filter-documents", "with")
    page.locator("#apply").click()
    with_documents = read_stack.get(
        f"{read_stack.base()}/fiscal-years/2024/vouchers", params={"hasDocuments": "true", "limit": "1"}
    ).json()["total"]
    expect(page.locator("#counter")).to_have_text(f"1 of {with_documents}")
    expect(page.locator("#documents li").first).to_be_visible()
    page.select_option("#filter-documents", "")
    page.fill("#filter-account", "1930")
    page.locator("#apply").click()
    on_1930 = read_stack.get(
        f"{read_stack.base()}/fiscal-years/2024/vouchers", params={"account": "1930", "limit": "1"}
    ).json()["total"]
    expect(page.locator("#counter")).to_have_text(f"1 of {on_1930}")
    expect(page.locator("#rows")).to_contain_text("1930")  # the counter moves before the voucher arrives
    page.screenshot(path=str(ARTIFACTS / "viewer-filter-account.png"))
    context.close()
