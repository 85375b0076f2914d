"""Sample shops and reviews for `theme check`, previews and tests: empty, one review, long text, RTL names, every rating."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .data import Page, Product, Reply, Review, Shop, Summary

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc)

SHOP = Shop(slug="demo", name="Fietsenwinkel De Ketting", url="https://shop.example", locale="nl",
            reviews_url="https://reviews.example/s/demo")
PRODUCT = Product(sku="BIKE-1", name="Stadsfiets Classic", url="https://shop.example/p/bike-1",
                  image_url="https://shop.example/img/bike-1.jpg", gtin="08712345678906",
                  product_id="https://shop.example/p/bike-1#product")


def review(id, rating, *, days=3, author="Anna", title="Prima", body="Snel geleverd.", verified=True, reply=None, edited=False, product=None):
    """A published review created `days` before NOW."""
    created = NOW - timedelta(days=days)
    return Review(id=id, rating=rating, title=title, body=body, author=author, created_at=created,
                  updated_at=created + timedelta(hours=5) if edited else created, verified=verified,
                  locale="nl", product=product, reply=reply)


def summary_of(reviews) -> Summary:
    """The Summary the store would keep for these reviews."""
    dist = {r: 0 for r in range(1, 6)}
    for r in reviews:
        dist[r.rating] += 1
    return Summary(count=len(reviews), rating_sum=sum(r.rating for r in reviews), distribution=dist)


def cases() -> dict[str, dict]:
    """Named render inputs (keyword arguments for `render`, except widget/theme/locale)."""
    one = [review(1, 2, title="Te laat", body="Twee weken te laat.\nWel netjes ingepakt.", product="BIKE-1",
                  reply=Reply("Sorry! We hebben de vervoerder gesproken.", "Sanne", "klantenservice", NOW - timedelta(days=1),
                              outcome="resolved", outcome_at=NOW))]
    long = [review(2, 5, author="X" * 300, title="Lang " * 80, body=("Heel lang verhaal zonder spaties" * 200 + "\n") * 5,
                   product="BIKE-1", verified=False, edited=True)]
    rtl = [review(3, 1, author="محمد عبد الله", title="سيء جدا", body="لم يصل الطلب", product="BIKE-1"),
           review(4, 4, author="שרה כהן", title="טוב", body="משלוח מהיר", product="BIKE-1",
                  reply=Reply("תודה!", "דוד", "בעלים", NOW, outcome="not_resolved", outcome_at=NOW))]
    # Every rating, lowest first in id order: a theme that hides any star count fails the honesty check.
    every = [review(10 + stars, stars, days=stars, author=f"R{stars}", title=f"{stars} sterren", product="BIKE-1",
                    verified=stars % 2 == 0) for stars in range(1, 6)]
    out = {}
    for name, reviews in (("empty shop", []), ("one review", one), ("very long text", long), ("RTL names", rtl),
                          ("every rating", every)):
        out[name] = dict(shop=SHOP, summary=summary_of(reviews), reviews=reviews, product=PRODUCT, page=Page(size=2))
    return out


def problems_in(html: str, widget: str) -> list[str]:
    """Problems a rendered fragment shows: missing root attributes or stars without a text alternative."""
    problems = []
    if f'data-eerlijk-widget="{widget}"' not in html:
        problems.append(f'root element lacks data-eerlijk-widget="{widget}"')
    if not re.search(r'<[a-z]+ [^>]*lang="[a-z]{2}"', html):
        problems.append("root element lacks lang")
    for tag in re.findall(r'<[^>]*class="eerlijk-stars"[^>]*>', html):
        if 'aria-label="' not in tag or 'role="img"' not in tag:
            problems.append("stars without role=img and an aria-label text alternative")
    return problems
