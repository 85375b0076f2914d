"""The review form in headless Chromium, filled with the keyboard only (Tab, arrow keys, Space, typing, Enter)."""

from __future__ import annotations

import pytest
from invitation_helpers import invite, path_of

pytestmark = pytest.mark.browser


def focused(page) -> str:
    return page.evaluate("document.activeElement.id")


def test_form_can_be_filled_with_the_keyboard_only(live_server, page, client, auth):
    data = invite(client, auth, skus=["SKU-1"], locale="en")
    page.goto(live_server.url + path_of(data["review_url"]))
    assert page.title().startswith("Review your order at Acme Kleding")

    page.keyboard.press("Tab")  # into the product's star group: its first radio
    assert focused(page) == "product-0-rating-1"
    page.keyboard.press("Space")  # 1 star
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # the arrow keys move the choice: 4 stars
    assert focused(page) == "product-0-rating-4"
    page.keyboard.press("Tab")
    assert focused(page) == "product-0-title"
    page.keyboard.type("Fits well")
    page.keyboard.press("Tab")
    assert focused(page) == "product-0-body"
    page.keyboard.type("Good fabric, true to size.")
    page.keyboard.press("Tab")  # the shop's star group
    assert focused(page) == "rating-1"
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")  # 2 stars
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "body"
    page.keyboard.type("Delivery took two weeks.")
    page.keyboard.press("Tab")
    assert focused(page) == "author"
    page.keyboard.type("Sanne")
    page.keyboard.press("Tab")  # the honeypot is skipped (tabindex -1): straight to the button
    assert page.evaluate("document.activeElement.type") == "submit"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.locator("[role=status]").inner_text().startswith("Thank you! Your reviews are published.")
    assert page.is_checked("#product-0-rating-4") and page.is_checked("#rating-2")
    assert page.console_errors == []

    items = client.get("/api/v1/shops/acme/reviews").get_json()["items"]
    got = sorted((r["product"] or "", r["rating"], r["verified"], r["title"], r["body"], r["author"]) for r in items)
    assert got == [("", 2, True, "", "Delivery took two weeks.", "Sanne"),
                   ("SKU-1", 4, True, "Fits well", "Good fabric, true to size.", "Sanne")]


def test_validation_error_is_announced_and_reachable(live_server, page, client, auth):
    data = invite(client, auth, skus=[], locale="en")
    page.goto(live_server.url + path_of(data["review_url"]))
    page.keyboard.press("Tab")
    assert focused(page) == "rating-1"
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("Tab")  # title, body, author (left empty)
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    alert = page.locator("[role=alert]")
    assert "Enter a display name." in alert.inner_text()
    author = page.locator("#author")
    assert author.get_attribute("aria-invalid") == "true"
    assert "author-error" in author.get_attribute("aria-describedby")
    assert page.is_checked("#rating-1")  # what was typed is kept
