"""The inbox (reviews that need the shop, most urgent first), the reply composer, and reports by the shop.

Order of the inbox: unanswered 1-2 star reviews oldest first (the longest
waiting is the most urgent), then unanswered 3-star reviews oldest first,
then unanswered 4-5 star reviews newest first, then answered ones newest
first. Each unanswered review of three stars or fewer carries a clock: the
shop's reply target (`reply_target_hours`, default 24) counted from when the
review arrived. Happy reviews deserve thanks too, but have no deadline.

The composer publishes the shop's one public reply (earlier text kept in
reply_versions by the store). There is deliberately no route that edits,
hides or removes a review: only its author or an operator can.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from .. import followup, get_db, reports, store, tone, topics
from ..i18n import current_locale
from ..sanitize import UnsafeText, clean_text
from ..store import StoreError
from . import _, bp, drafts, member_required, users

PAGE_SIZE = 25
DEFAULT_TARGET_HOURS = 24
ANSWERED = ("all", "unanswered", "answered")
CLOCK_UP_TO = 3  # reviews rated this or lower have a reply target
RECENT_REPLIES = 50  # a new reply is compared with this many of the shop's latest replies
BODY_MAX, NAME_MAX = 5000, 100

_GROUP = ("CASE WHEN rp.review_id IS NULL AND r.rating <= 2 THEN 0"
          " WHEN rp.review_id IS NULL AND r.rating = 3 THEN 1"
          " WHEN rp.review_id IS NULL THEN 2 ELSE 3 END")


def target_hours(shop: dict) -> int:
    """The shop's reply target in hours."""
    value = shop["settings"].get("reply_target_hours", DEFAULT_TARGET_HOURS)
    return value if isinstance(value, int) and value > 0 else DEFAULT_TARGET_HOURS


def inbox_page(db, shop_id: int, *, rating: int | None = None, product_id: int | None = None,
               answered: str = "all", topic: str | None = None, page: int = 1,
               size: int = PAGE_SIZE) -> tuple[list[dict], int]:
    """One page of the inbox in urgency order, and how many reviews match the filters."""
    where = ["r.shop_id = ?", "r.status = 'published'"]
    params: list = [shop_id]
    if topic is not None:
        topics.refresh(db, shop_id)  # the first filter by topic finds the topics of the whole history once
        where.append("EXISTS (SELECT 1 FROM review_topics t WHERE t.review_id = r.id AND instr(t.topics, ?))")
        params.append(f" {topic} ")
    if rating is not None:
        where.append("r.rating = ?")
        params.append(rating)
    if product_id is not None:
        where.append("r.product_id = ?")
        params.append(product_id)
    if answered == "unanswered":
        where.append("rp.review_id IS NULL")
    elif answered == "answered":
        where.append("rp.review_id IS NOT NULL")
    base = (" FROM reviews r LEFT JOIN products p ON p.id = r.product_id"
            " LEFT JOIN replies rp ON rp.review_id = r.id WHERE " + " AND ".join(where))
    total = db.execute("SELECT count(*)" + base, params).fetchone()[0]
    rows = list(db.query(
        "SELECT r.id, r.rating, r.title, r.body, r.author, r.locale, r.verified, r.source, r.created_at,"
        " r.updated_at, p.sku AS product, p.name AS product_name, rp.body AS reply_body,"
        " rp.author AS reply_author, rp.role AS reply_role, rp.updated_at AS reply_updated_at,"
        " (SELECT count(*) FROM reports x WHERE x.review_id = r.id AND x.reporter = 'shop' AND x.status = 'open')"
        " AS shop_reports, " + _GROUP + " AS urgency" + base +
        " ORDER BY urgency, CASE WHEN " + _GROUP + " < 2 THEN r.created_at END ASC, r.created_at DESC, r.id DESC"
        " LIMIT ? OFFSET ?", params + [size, (max(1, page) - 1) * size]))
    return rows, total


def inbox_counts(db, shop_id: int, hours: int) -> dict:
    """Header figures: unanswered reviews, of them negative (1-2 stars), 3 stars, and 1-3 stars past the target;
    open reports."""
    deadline = store.format_time(store.utcnow() - timedelta(hours=hours))
    row = db.execute(
        "SELECT count(*), coalesce(sum(r.rating <= 2), 0), coalesce(sum(r.rating = 3), 0),"
        " coalesce(sum(r.created_at <= ? AND r.rating <= ?), 0)"
        " FROM reviews r LEFT JOIN replies rp ON rp.review_id = r.id"
        " WHERE r.shop_id = ? AND r.status = 'published' AND rp.review_id IS NULL",
        [deadline, CLOCK_UP_TO, shop_id]).fetchone()
    reported = db.execute("SELECT count(*) FROM reports WHERE shop_id = ? AND status = 'open'",
                          [shop_id]).fetchone()[0]
    return {"unanswered": row[0], "negative": row[1], "neutral": row[2], "overdue": row[3], "reports": reported}


def clock(created_at: str, hours: int, now=None) -> dict:
    """The reply clock of an unanswered review: state ok / soon / missed and a short text."""
    now = now or store.utcnow()
    left = store.parse_time(created_at) + timedelta(hours=hours) - now
    seconds = int(left.total_seconds())
    if seconds <= 0:
        late = -seconds
        if late < 3600:
            text = _("Reply target missed by %(n)s min", n=max(1, late // 60))
        elif late < 2 * 86400:
            text = _("Reply target missed by %(n)s h", n=late // 3600)
        else:
            text = _("Reply target missed by %(n)s days", n=late // 86400)
        return {"state": "missed", "text": text, "seconds": seconds}
    if seconds < 3600:
        text = _("%(n)s min left to reply", n=max(1, seconds // 60))
    else:
        text = _("%(h)s h %(m)s min left to reply", h=seconds // 3600, m=(seconds % 3600) // 60)
    return {"state": "soon" if seconds < hours * 3600 / 4 else "ok", "text": text, "seconds": seconds}


def _int_arg(name: str, low: int, high: int) -> int | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        abort(400, description=f"{name}={value[:20]!r} must be a whole number from {low} to {high}.")
    return int(value)


@bp.get("/<shop>/")
@member_required
def inbox(shop):
    """The inbox: filters rating, product, answered, topic; paged.

    :raise 400: bad filter values. :raise 404: not your shop.
    """
    db = get_db()
    rating = _int_arg("rating", 1, 5)
    page = _int_arg("page", 1, 100000) or 1
    answered = request.args.get("answered") or "all"
    if answered not in ANSWERED:
        abort(400, description=f"answered must be one of {', '.join(ANSWERED)}.")
    topic = request.args.get("topic") or None
    if topic is not None and topic not in topics.TOPICS:
        abort(400, description=f"topic must be one of {', '.join(topics.TOPICS)}.")
    sku = (request.args.get("product") or "").strip()
    product = None
    if sku:
        product = store.product_by_sku(db, shop["id"], sku)
        if product is None:
            abort(400, description="No product with that SKU in this shop.")
    hours = target_hours(shop)
    rows, total = inbox_page(db, shop["id"], rating=rating, product_id=product["id"] if product else None,
                             answered=answered, topic=topic, page=page)
    now = store.utcnow()
    topic_labels = topics.labels()
    topics.refresh(db, shop["id"], review_ids=[row["id"] for row in rows])
    found = topics.stored_topics(db, [row["id"] for row in rows])
    for row in rows:
        row["created"] = store.parse_time(row["created_at"])
        row["topic_items"] = [(t, topic_labels[t]) for t in found.get(row["id"], [])]
        row["topics"] = [label for _t, label in row["topic_items"]]
        row["clock"] = (clock(row["created_at"], hours, now)
                        if row["reply_body"] is None and row["rating"] <= CLOCK_UP_TO else None)
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template(
        "workspace/inbox.html", shop=shop, rows=rows, total=total, page=page, pages=pages,
        counts=inbox_counts(db, shop["id"], hours), hours=hours,
        products=store.list_products(db, shop["id"]), topic_labels=topic_labels,
        filters={"rating": rating, "product": sku, "answered": answered, "topic": topic},
    )


def _review_or_404(db, shop: dict, review_id: int) -> dict:
    row = store.review_row(db, shop["id"], review_id)
    if row is None or row["status"] != "published":
        abort(404)  # another shop's, unknown, withdrawn or removed
    return store.get_review(db, shop["id"], review_id)


def recent_replies(db, shop_id: int, exclude_review: int | None = None) -> list[str]:
    """The shop's latest replies to other reviews: what a new reply must not copy."""
    return store.recent_reply_texts(db, shop_id, exclude_review, RECENT_REPLIES)


def review_language(review: dict, shop: dict) -> str:
    """The language to answer in: the review's, else the shop's (nl, en, de or fr)."""
    locale = (review.get("locale") or "").split("-")[0].lower()
    if locale in drafts.LANGUAGES:
        return locale
    return shop["locale"] if shop["locale"] in drafts.LANGUAGES else "en"


def ui_locale() -> str:
    """The language workspace messages are shown in (the request's: ?locale=, the browser's, English)."""
    return current_locale()


def default_title() -> str:
    """What the user signs with under their name: their saved job title, else a label for their role."""
    if current_user.title:
        return current_user.title
    return _("Owner") if current_user.is_owner else _("Customer service")


def run_tone_check(db, shop: dict, review: dict | None, body: str, author: str, role: str) -> dict:
    """The tone check of a reply draft to `review` (or to no particular review)."""
    return tone.check(
        body, author=author, role=role, rating=review["rating"] if review else None,
        language=review_language(review, shop) if review else None,
        review_text=f"{review['title']}\n{review['body']}" if review else "",
        recent_replies=recent_replies(db, shop["id"], review["id"] if review else None),
        gettext=_,
    )


def _draft(db, shop: dict, review: dict, author: str, role: str) -> str:
    product = store.product_by_sku(db, shop["id"], review["product"]) if review["product"] else None
    return drafts.draft_reply(
        review, language=review_language(review, shop), shop_name=shop["name"],
        product_name=product["name"] if product else None, author=author, role=role,
        email=shop["settings"].get("contact_email") or "", phone=shop["settings"].get("contact_phone") or "",
        recent_replies=recent_replies(db, shop["id"], review["id"]),
    )


def _clean(value: str, limit: int, field: str, errors: dict, multiline: bool, label: str) -> str:
    try:
        text = clean_text(value or "", multiline=multiline)
    except UnsafeText as exc:
        errors[field] = str(exc)
        return ""
    if not text:
        errors[field] = _("Fill in %(what)s.", what=label)
    elif len(text) > limit:
        errors[field] = _("%(what)s is too long: at most %(n)s characters.", what=label, n=limit)
    return text


@bp.route("/<shop>/reviews/<row_id:review_id>", methods=["GET", "POST"])
@member_required
def review(shop, review_id):
    """The reply composer: write or edit, draft, check the tone, publish.

    POST `action`: `draft` (fill a draft), `check` (tone check), `publish`.
    :raise 404: unknown review, not published, or not your shop.
    """
    db = get_db()
    item = _review_or_404(db, shop, review_id)
    reply = item["reply"]
    values = {"body": reply["body"] if reply else "", "author": reply["author"] if reply else current_user.name,
              "role": reply["role"] if reply else default_title()}
    if reply and reply["author"] != current_user.name:
        values.update(author=current_user.name, role=default_title())  # the person editing signs
    errors: dict = {}
    result = None
    status = 200
    if request.method == "POST":
        action = request.form.get("action") or "publish"
        values = {
            "body": _clean(request.form.get("body"), BODY_MAX, "body", errors, True, _("the reply")),
            "author": _clean(request.form.get("author"), NAME_MAX, "author", errors, False, _("your name")),
            "role": _clean(request.form.get("role"), NAME_MAX, "role", errors, False, _("your role")),
        }
        if action == "draft":
            errors.pop("body", None)
            values["body"] = _draft(db, shop, item, values["author"] or current_user.name,
                                    values["role"] or default_title())
            errors.clear()
        elif action == "check":
            errors.pop("author", None), errors.pop("role", None)
            result = run_tone_check(db, shop, item, values["body"], values["author"], values["role"])
        elif action == "publish" and not errors:
            created = store.set_reply(db, shop["id"], item["id"], body=values["body"], author=values["author"],
                                      role=values["role"], actor=current_user.actor)
            if not current_user.title:
                users.update_profile(db, current_user.id, name=current_user.name, title=values["role"])
            flash(_("Your reply is published.") if created else _("Your reply is updated; the earlier text is kept in its history."),
                  "notice")
            return redirect(url_for("workspace.review", shop=shop["slug"], review_id=item["id"]))
        elif action not in ("publish",):
            abort(400, description="action must be draft, check or publish.")
        if errors:
            status = 400
    if result is None and values["body"]:
        result = run_tone_check(db, shop, item, values["body"], values["author"], values["role"])
    history = list(db.query("SELECT body, author, role, valid_from, valid_to FROM reply_versions"
                            " WHERE review_id = ? ORDER BY id DESC", [item["id"]]))
    for version in history:
        version["valid_to"] = store.parse_time(version["valid_to"])
    review_versions = db.execute("SELECT count(*) FROM review_versions WHERE review_id = ?", [item["id"]]).fetchone()[0]
    hours = target_hours(shop)
    product = store.product_by_sku(db, shop["id"], item["product"]) if item["product"] else None
    open_report = db.execute("SELECT reason, created_at FROM reports WHERE review_id = ? AND reporter = 'shop'"
                             " AND status = 'open' ORDER BY id DESC LIMIT 1", [item["id"]]).fetchone()
    return render_template(
        "workspace/review.html", shop=shop, review=item, values=values, errors=errors, tone=result,
        history=history, edited=review_versions > 0, product=product, open_report=open_report,
        clock=None if reply or item["rating"] > CLOCK_UP_TO else clock(store.format_time(item["created_at"]), hours),
        language=review_language(item, shop), counts=inbox_counts(db, shop["id"], hours),
        reasons=_reason_labels(), followup=followup.get_followup(db, shop["id"], item["id"]),
    ), status


@bp.post("/<shop>/reviews/<row_id:review_id>/resolved")
@member_required
def resolved(shop, review_id):
    """Mark the customer's issue resolved: once, after a reply; the customer may get one polite question."""
    db = get_db()
    _review_or_404(db, shop, review_id)
    try:
        state, created = followup.mark_resolved(db, shop["id"], review_id, actor=current_user.actor)
    except StoreError as exc:
        flash(exc.message, "error")
        return redirect(url_for("workspace.review", shop=shop["slug"], review_id=review_id)), 303
    if created:
        flash(_("Marked as resolved. We ask the customer once whether it is resolved for them, and whether they "
                "want to update their review.") if state["email"] == "queued" else
              _("Marked as resolved. We hold no address for this customer, so nobody is asked."), "success")
    return redirect(url_for("workspace.review", shop=shop["slug"], review_id=review_id)), 303


@bp.post("/<shop>/reviews/<row_id:review_id>/draft")
@member_required
def draft(shop, review_id):
    """A reply draft as JSON `{"body": ...}` (the composer's Draft button; CSRF header required)."""
    db = get_db()
    item = _review_or_404(db, shop, review_id)
    data = request.get_json(silent=True) or {}
    author = str(data.get("author") or current_user.name)[:NAME_MAX]
    role = str(data.get("role") or default_title())[:NAME_MAX]
    return jsonify({"body": _draft(db, shop, item, author, role), "language": review_language(item, shop)})


@bp.post("/<shop>/tone-check")
@member_required
def tone_check(shop):
    """The tone check as JSON for the composer's as-you-type checklist (CSRF header required).

    Body: `{"body", "author", "role", "review_id"}`. :raise 400: not JSON or too long.
    """
    db = get_db()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify({"error": "Send a JSON object."}), 400
    body = str(data.get("body") or "")
    if len(body) > BODY_MAX:
        return jsonify({"error": f"The reply is too long: at most {BODY_MAX} characters."}), 400
    item = None
    if data.get("review_id") not in (None, ""):
        try:
            item = _review_or_404(db, shop, int(data["review_id"]))
        except (TypeError, ValueError):
            return jsonify({"error": "review_id must be a number."}), 400
    result = run_tone_check(db, shop, item, body, str(data.get("author") or "")[:NAME_MAX],
                            str(data.get("role") or "")[:NAME_MAX])
    return jsonify(result)


def _reason_labels() -> list[tuple[str, str]]:
    return [(reason, reports.REASON_LABELS[reason]) for reason in store.REPORT_REASONS]


@bp.route("/<shop>/reviews/<row_id:review_id>/report", methods=["GET", "POST"])
@member_required
def report(shop, review_id):
    """Report a review to the operator for one of the fixed reasons (the shop cannot remove it itself).

    :raise 404: unknown review or not your shop.
    """
    db = get_db()
    item = _review_or_404(db, shop, review_id)
    errors: dict = {}
    values = {"reason": "", "note": ""}
    if request.method == "POST":
        values["reason"] = request.form.get("reason") or ""
        if values["reason"] not in store.REPORT_REASONS:
            errors["reason"] = _("Choose one of the reasons.")
        try:
            values["note"] = clean_text(request.form.get("note") or "")
        except UnsafeText as exc:
            errors["note"] = str(exc)
        if len(values["note"]) > reports.NOTE_MAX:
            errors["note"] = _("The note is too long: at most %(n)s characters.", n=reports.NOTE_MAX)
        if not errors:
            if db.execute("SELECT 1 FROM reports WHERE review_id = ? AND reporter = 'shop' AND status = 'open'",
                          [item["id"]]).fetchone():
                flash(_("You reported this review already; the operator will decide."), "notice")
            else:
                reports.add_report(db, shop["id"], item["id"], values["reason"], values["note"], ui_locale(),
                                   reporter="shop", actor=current_user.actor)
                flash(_("Your report is sent to the operator. The review stays visible until they decide."),
                      "notice")
            return redirect(url_for("workspace.review", shop=shop["slug"], review_id=item["id"]))
    hours = target_hours(shop)
    return render_template("workspace/report.html", shop=shop, review=item, values=values, errors=errors,
                           reasons=_reason_labels(), note_max=reports.NOTE_MAX,
                           counts=inbox_counts(db, shop["id"], hours)), 400 if errors else 200


@bp.errorhandler(StoreError)
def store_error(exc):
    """A refused write: the store's message on an error page (JSON for the composer's fetches)."""
    if request.is_json:
        return jsonify({"error": exc.message}), exc.status
    return render_template("workspace/error.html", message=exc.message), exc.status
