"""Plain data types for what a widget shows, buildable from the JSON API's output."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from datetime import datetime, timezone

RATINGS = (1, 2, 3, 4, 5)


def parse_time(value: str | datetime | None) -> datetime | None:
    """Parse an ISO 8601 timestamp (as the JSON API emits it) into an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


@dataclass(frozen=True)
class Shop:
    """The shop whose reviews a widget shows."""

    slug: str
    name: str
    url: str | None = None
    locale: str = "en"
    reviews_url: str | None = None
    organization_rating: bool = False
    transparency_url: str | None = None

    @classmethod
    def from_api(cls, data: dict) -> "Shop":
        """Build from `GET /api/v1/shops/{shop}`."""
        return cls(
            slug=data["slug"],
            name=data["name"],
            url=data.get("url"),
            locale=data.get("locale") or "en",
            reviews_url=data.get("reviews_url"),
            organization_rating=bool(data.get("organization_rating", False)),
            transparency_url=data.get("transparency_url"),
        )


@dataclass(frozen=True)
class Product:
    """A product of the shop; `product_id` is the shop's own schema.org `@id`, if any."""

    sku: str
    name: str
    url: str | None = None
    image_url: str | None = None
    gtin: str | None = None
    product_id: str | None = None

    @classmethod
    def from_api(cls, data: dict) -> "Product":
        """Build from an item of `GET /api/v1/shops/{shop}/products`."""
        return cls(
            sku=data["sku"],
            name=data["name"],
            url=data.get("url"),
            image_url=data.get("image_url"),
            gtin=data.get("gtin"),
            product_id=data.get("product_id"),
        )


@dataclass(frozen=True)
class Reply:
    """The shop's one public reply to a review, signed with a name and role."""

    body: str
    author: str
    role: str
    created_at: datetime
    updated_at: datetime | None = None
    outcome: str | None = None  # the customer's answer to the "resolved" follow-up: "resolved", "not_resolved"
    outcome_at: datetime | None = None

    @classmethod
    def from_api(cls, data: dict | None) -> "Reply | None":
        """Build from a review's `reply` object (None stays None)."""
        if not data:
            return None
        return cls(
            body=data["body"],
            author=data["author"],
            role=data["role"],
            created_at=parse_time(data["created_at"]),
            updated_at=parse_time(data.get("updated_at")),
            outcome=data.get("outcome") if data.get("outcome") in ("resolved", "not_resolved") else None,
            outcome_at=parse_time(data.get("outcome_at")),
        )


@dataclass(frozen=True)
class Review:
    """One published review, as plain text (never render its fields as HTML)."""

    id: int
    rating: int
    title: str
    body: str
    author: str
    created_at: datetime
    updated_at: datetime
    verified: bool = False
    locale: str | None = None
    product: str | None = None
    reply: Reply | None = None

    @property
    def updated(self) -> bool:
        """True when the author changed the review after publishing it."""
        return self.updated_at > self.created_at

    @classmethod
    def from_api(cls, data: dict) -> "Review":
        """Build from an item of `GET /api/v1/shops/{shop}/reviews`."""
        created = parse_time(data["created_at"])
        return cls(
            id=data["id"],
            rating=int(data["rating"]),
            title=data.get("title") or "",
            body=data.get("body") or "",
            author=data.get("author") or "",
            created_at=created,
            updated_at=parse_time(data.get("updated_at")) or created,
            verified=bool(data.get("verified", False)),
            locale=data.get("locale"),
            product=data.get("product"),
            reply=Reply.from_api(data.get("reply")),
        )


@dataclass(frozen=True)
class ReplyStats:
    """How the shop answers negative (1-2 star) reviews: how many there are, how many got a reply, how fast."""

    reviews: int = 0
    replied: int = 0
    median_hours: float | None = None

    @property
    def rate(self) -> float | None:
        """Share of negative reviews with a public reply (0-1), None without negative reviews."""
        return self.replied / self.reviews if self.reviews else None

    @classmethod
    def from_api(cls, data: dict) -> "ReplyStats":
        """Build from the `replies` object of `GET /api/v1/shops/{shop}/summary` (its `negative` part)."""
        part = data.get("negative") or {}
        return cls(int(part.get("reviews") or 0), int(part.get("replied") or 0), part.get("median_hours"))


@dataclass(frozen=True)
class Summary:
    """Aggregate of every published review: count, sum and count per star (and reply figures when known)."""

    count: int = 0
    rating_sum: int = 0
    distribution: dict[int, int] = field(default_factory=lambda: {r: 0 for r in RATINGS})
    replies: ReplyStats | None = None

    @property
    def average(self) -> float | None:
        """Mean rating rounded to 2 decimals, or None when there are no reviews."""
        if not self.count:
            return None
        return round(self.rating_sum / self.count, 2)

    @property
    def score_value(self) -> float | None:
        """The score shown and marked up: the exact mean rounded half up to one decimal (4.249 -> 4.2).

        Rounded once from `rating_sum / count`, never from the two-decimal
        `average` (that would round 4.249 to 4.25 and then to 4.3).
        """
        if not self.count:
            return None
        mean = Decimal(self.rating_sum) / Decimal(self.count)
        return float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))

    @classmethod
    def from_api(cls, data: dict) -> "Summary":
        """Build from `GET /api/v1/shops/{shop}/summary`."""
        dist = {r: int(data["distribution"].get(str(r), 0)) for r in RATINGS}
        count = int(data["count"])
        rating_sum = data.get("rating_sum")
        if rating_sum is None:
            rating_sum = sum(r * n for r, n in dist.items())
        replies = ReplyStats.from_api(data["replies"]) if data.get("replies") else None
        return cls(count=count, rating_sum=int(rating_sum), distribution=dist, replies=replies)


SORTS = ("newest", "oldest", "highest", "lowest")


@dataclass(frozen=True)
class Page:
    """A visitor's view of a review list: star filter, sort order, page number, page size and link builder.

    `link(stars=, sort=, page=)` returns the URL of another view; when None,
    links are query-only relative URLs (`?stars=5&page=2`) on
    `shop.reviews_url` (or the current page when the shop has none).
    Filtering and sorting are the visitor's choice: the default is every
    rating, newest first.
    """

    stars: int | None = None
    sort: str = "newest"
    number: int = 1
    size: int = 10
    link: object = None

    def __post_init__(self):
        if self.stars is not None and self.stars not in RATINGS:
            raise ValueError(f"Page.stars: {self.stars!r} is not a rating; use None or one of 1-5")
        if self.sort not in SORTS:
            raise ValueError(f"Page.sort: {self.sort!r} is unknown; use one of {', '.join(SORTS)}")
        if int(self.number) < 1 or int(self.size) < 1:
            raise ValueError("Page.number and Page.size must be 1 or more")

    @classmethod
    def from_query(cls, args, *, size: int = 10, link=None) -> "Page":
        """Build from query parameters (`stars`, `sort`, `page`), ignoring invalid values."""
        def number(key, allowed=None):
            try:
                value = int(args.get(key) or "")
            except ValueError:
                return None
            return value if allowed is None or value in allowed else None

        sort = args.get("sort")
        return cls(
            stars=number("stars", RATINGS),
            sort=sort if sort in SORTS else "newest",
            number=max(1, number("page") or 1),
            size=size,
            link=link,
        )
