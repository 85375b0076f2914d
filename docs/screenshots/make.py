"""Regenerate docs/screenshots: every widget in every shipped theme, and every page of the owner's workspace.

<theme>-<widget>.png is one widget 520 px wide; <theme>-1280.png and <theme>-375.png are all
widgets of a theme on a page 1,280 px wide (a 640 px column) and on a 375 px phone.

    python docs/screenshots/make.py                    # everything
    python docs/screenshots/make.py --workspace-only   # only workspace-*.png (the demo shop, 1280 and 375 px)
    python docs/screenshots/make.py --pages-only       # only page-*.png: landing, hosted, product, error, review form

Renders each widget with `widgets.render` (a realistic shop: several reviews of
every kind, a 1-star review with the shop's reply), puts one theme's widgets on
a page, opens it in Debian's headless Chromium through Playwright (never a
downloaded browser) and saves an element screenshot of each widget.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

import widgets
from widgets import WIDGETS, Page, Product, Reply
from widgets.fixtures import NOW, PRODUCT, SHOP, review, summary_of

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the same browser and flags as the tests)

THEMES = ("default", "minimal", "dark")
WIDTH = 520  # px: a typical sidebar/column width


def sample():
    """A realistic shop: mixed ratings, a 1-star review with a reply, verified and unverified, an edit."""
    reviews = [
        review(11, 5, days=1, author="Anna de Vries", title="Top fiets", body="Snel geleverd en goed afgesteld. "
               "Rijdt heerlijk licht.", product="BIKE-1"),
        review(12, 1, days=2, author="Mark", title="Kapot aangekomen", body="Het achterspatbord was gebroken "
               "en de bel ontbrak.", product="BIKE-1",
               reply=Reply("Wat vervelend, Mark. We sturen vandaag een nieuw spatbord en een bel mee.",
                           "Sanne", "klantenservice", NOW - timedelta(days=1))),
        review(13, 4, days=4, author="Ilse", title="Prima", body="Goede fiets, alleen het zadel is wat hard.",
               product="BIKE-1", edited=True),
        review(14, 3, days=6, author="Johan", title="Gaat wel", body="Levering duurde een week.", verified=False,
               product="BIKE-1"),
        review(15, 5, days=9, author="Fatima", title="Aanrader", body="Tweede fiets hier gekocht.", product="BIKE-1"),
    ]
    lamp = Product(sku="LAMP-7", name="Fietslamp Helder", url="https://shop.example/p/lamp-7")
    reviews.insert(2, review(16, 2, days=3, author="Sophie Bakker", title="Valt tegen",
                             body="De lamp knippert na een week al. Jammer, want hij is wel fel.", product="LAMP-7"))
    return dict(shop=SHOP, summary=summary_of(reviews), reviews=reviews, product=PRODUCT, products=[PRODUCT, lamp],
                page=Page(size=5), now=NOW, base_url="https://reviews.example", options={"limit": 3})


def page_for(theme: str, width: str = f"{WIDTH}px") -> str:
    """One HTML page holding every widget of `theme` (one theme per page: their stylesheets share selectors).

    Each widget sits in a shadow root with the embed loader's reset, as on a shop's page.
    """
    data = sample()
    sections = []
    for widget in WIDGETS:
        html = widgets.render(widget, theme=theme, locale="nl", **data)
        sections.append(f'<section id="shot-{widget}" style="width:{width};max-width:100%;box-sizing:border-box;padding:12px">'
                        f'<div class="host"></div><template>{html}</template></section>')
    sections.append("<script>for (const s of document.querySelectorAll('section')) { const r = s.querySelector('.host')"
                    ".attachShadow({mode: 'open'}); r.innerHTML = '<style>:where(.eerlijk){all:initial;display:block}</style>' +"
                    " s.querySelector('template').innerHTML; }</script>")
    background = "#1b1d21" if theme == "dark" else "#ffffff"
    return (f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{theme}</title></head>'
            f'<body style="margin:0;font:16px/1.5 system-ui,sans-serif;background:{background}">' + "\n".join(sections) + "</body></html>")


WORKSPACE_WIDTHS = (1280, 375)  # desktop and a small phone


def workspace_shots(browser) -> list[Path]:
    """Every workspace page of the demo shop (docs/owners.md), logged in as its owner, at 1280 and 375 px."""
    import re
    import tempfile

    from conftest import LiveServer

    from widgetserver import create_app, store
    from widgetserver.demo import build_demo, demo_login

    written = []
    with tempfile.TemporaryDirectory() as tmp:
        # A mail server is named (nothing is sent here) so the team page shows its invite form as owners see it.
        app = create_app({"DATABASE": f"{tmp}/demo.db", "THEME_DIRS": [], "TRUSTED_HOSTS": ["127.0.0.1", "localhost"],
                          "MAIL_HOST": "mail.example", "MAIL_FROM": "Eerlijk <reviews@demo.example>"})
        db = store.connect(app.config["DATABASE"])
        build_demo(db)
        email, password = demo_login(db)
        fresh = db.execute("SELECT id FROM reviews WHERE external_id = 'nl-fresh-0'").fetchone()[0]
        # The team page: a staff member who logged in before, and one invited who has not chosen a password.
        from widgetserver.workspace import users

        demo = store.get_shop(db, "demo")
        staff = users.create_user(db, shop_id=demo["id"], email="piet@demo.example", name="Piet Jansen", role="staff",
                                  password="staff password for the screenshot", actor="demo")
        users.record_login(db, staff["id"])
        users.create_user(db, shop_id=demo["id"], email="noor@demo.example", name="Noor Bakker", role="staff",
                          password=None, actor="demo")
        server = LiveServer(app)
        try:
            for width in WORKSPACE_WIDTHS:
                suffix = "" if width == 1280 else f"-{width}"
                context = browser.new_context(viewport={"width": width, "height": 900}, locale="nl-NL")
                page = context.new_page()

                def shot(name: str, full: bool = True):
                    path = HERE / f"workspace-{name}{suffix}.png"
                    page.screenshot(path=str(path), full_page=full, animations="disabled")
                    written.append(path)

                page.goto(f"{server.url}/workspace/login")
                shot("login", full=False)
                page.fill("#email", email)
                page.fill("#password", password)
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(r".*/workspace/demo/$"))
                page.set_viewport_size({"width": width, "height": 1100 if width > 400 else 1400})
                shot("inbox", full=False)
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{server.url}/workspace/demo/reviews/{fresh}")
                page.click("#draft-button")
                page.wait_for_selector("#tone-list .finding.pass")
                page.fill("#body", page.input_value("#body").replace("We willen dit graag goedmaken.",
                                                                     "Had u maar het label gelezen."))
                page.wait_for_selector("#tone-list .finding.fail[data-rule=defensive]")
                shot("reply")
                page.goto(f"{server.url}/workspace/demo/reviews/{fresh}/report")
                shot("report")
                page.goto(f"{server.url}/workspace/demo/settings")
                shot("settings")
                page.goto(f"{server.url}/workspace/demo/settings/team")
                shot("team")
                page.goto(f"{server.url}/workspace/demo/snippet?widget=badge&widget=summary&locale=nl&accent=%231d5c4a")
                page.wait_for_timeout(2500)  # the preview frame loads embed.js and its widgets
                shot("snippet")
                context.close()
        finally:
            server.stop()
            db.conn.close()
    return written


def pages_shots(browser) -> list[Path]:
    """The public pages of the demo shop at 1280 and 375 px, in Dutch: landing, hosted page, product page
    (filtered on 1 star), a 404, and the review form with four stars tapped."""
    import tempfile
    from urllib.parse import urlsplit

    from conftest import LiveServer

    from widgetserver import create_app, store
    from widgetserver.demo import build_demo

    written = []
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE": f"{tmp}/demo.db", "THEME_DIRS": [], "TRUSTED_HOSTS": ["127.0.0.1", "localhost"]})
        db = store.connect(app.config["DATABASE"])
        _, key = build_demo(db)
        invitation = app.test_client().post(
            "/api/v1/shops/demo/invitations", headers={"Authorization": f"Bearer {key}"},
            json={"order_ref": "A-1042", "name": "Sanne", "skus": ["JURK-1078"], "locale": "nl",
                  "delivered_at": "2026-01-05T10:00:00Z"}).get_json()
        form_path = urlsplit(invitation["review_url"]).path
        server = LiveServer(app)
        pages = [("landing", "/"), ("shop", "/s/demo"), ("product", "/s/demo/p/JURK-1078?rating=1"),
                 ("404", "/s/demo/p/BESTAAT-NIET"), ("review-form", form_path)]
        try:
            for width in (1280, 375):
                suffix = "" if width == 1280 else f"-{width}"
                context = browser.new_context(viewport={"width": width, "height": 1100 if width > 400 else 1500},
                                              locale="nl-NL")
                page = context.new_page()
                for name, path in pages:
                    page.goto(server.url + path)
                    if name == "review-form":
                        page.click("label.star[for='product-0-rating-4']")
                        page.mouse.move(0, 0)
                    target = HERE / f"page-{name}{suffix}.png"
                    page.screenshot(path=str(target), animations="disabled")
                    written.append(target)
                context.close()
        finally:
            server.stop()
            db.conn.close()
    return written


def main() -> list[Path]:
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        if "--pages-only" in sys.argv:
            written += pages_shots(browser)
            browser.close()
            return written
        if "--workspace-only" not in sys.argv:
            page = browser.new_page(viewport={"width": WIDTH + 40, "height": 900}, device_scale_factor=1)
            for theme in THEMES:
                page.set_content(page_for(theme), wait_until="load")
                for widget in WIDGETS:
                    path = HERE / f"{theme}-{widget}.png"
                    page.locator(f"#shot-{widget}").screenshot(path=str(path), animations="disabled")
                    written.append(path)
            for label, viewport, width in (("1280", {"width": 1280, "height": 900}, "640px"),
                                           ("375", {"width": 375, "height": 740}, "100%")):
                wide = browser.new_page(viewport=viewport, device_scale_factor=1)
                for theme in THEMES:
                    wide.set_content(page_for(theme, width), wait_until="load")
                    path = HERE / f"{theme}-{label}.png"
                    wide.screenshot(path=str(path), full_page=True, animations="disabled")
                    written.append(path)
                wide.close()
        written += workspace_shots(browser)
        if "--workspace-only" not in sys.argv:
            written += pages_shots(browser)
        browser.close()
    return written


if __name__ == "__main__":
    paths = main()
    total = sum(p.stat().st_size for p in paths)
    for p in paths:
        print(f"{p.relative_to(HERE.parent.parent)}\t{p.stat().st_size // 1024} KB")
    print(f"{len(paths)} screenshots, {total / 1024:.0f} KB in all")
