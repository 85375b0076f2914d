"""The review form in headless Chromium, filled with the keyboard only (Tab, arrow keys, Space, typing, Enter)."""

from __future__ import annotations

import pytest
from invitation_helpers import invite, path_of

pytestmark = pytest.mark.browser


def focused(page) -> str:
    return page.evaluate("document.activeElement.id")


def test_form_can_be_filled_with_the_keyboard_only(live_server, page, client, auth):
    data = invite(client, auth, skus=["SKU-1"], locale="en", email=None)
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
    data = invite(client, auth, skus=[], locale="en", email=None)
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


STAR_FILLS = """(name) => [...document.querySelectorAll(`label.star[for^="${name}-"] svg`)].map(s => getComputedStyle(s).fill)"""


@pytest.mark.parametrize("width", [1280, 375])
def test_tapping_a_star_chooses_that_rating_and_fills_the_stars_before_it(live_server, page, client, auth, width):
    page.set_viewport_size({"width": width, "height": 900})
    data = invite(client, auth, skus=["SKU-1"], locale="nl", email=None)
    page.goto(live_server.url + path_of(data["review_url"]))
    empty = page.evaluate(STAR_FILLS, "product-0-rating")
    assert len(set(empty)) == 1  # nothing chosen: five empty stars
    star = page.locator("label.star[for='product-0-rating-4']")
    box = star.bounding_box()
    assert box["width"] >= 40 and box["height"] >= 40  # a comfortable tap target
    star.click()
    assert page.is_checked("#product-0-rating-4") and not page.is_checked("#product-0-rating-5")
    page.mouse.move(0, 0)  # no hover preview
    fills = page.evaluate(STAR_FILLS, "product-0-rating")
    assert fills[:4] == [fills[0]] * 4 and fills[4] == empty[4] != fills[0], fills
    # The chosen rating is also said in words, and the radio group still answers the arrow keys.
    assert page.locator(".star-row:has(#product-0-rating-4) .word-4").is_visible()
    assert page.locator(".star-row:has(#product-0-rating-4) .word-4").inner_text() == "Goed"
    page.focus("#product-0-rating-4")
    page.keyboard.press("ArrowLeft")
    assert page.is_checked("#product-0-rating-3")
    assert page.evaluate(STAR_FILLS, "product-0-rating")[3] == empty[3]
    # The group is named by its legend and each radio by its hidden text.
    assert page.get_by_role("radio", name="3 sterren").first.is_checked()
    assert page.console_errors == []
