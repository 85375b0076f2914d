"""`widgetserver reports list|decide` and `widgetserver erase`: the operator's moderation commands.

Whoever runs these commands on the server is the operator (docs/moderation.md).
"""

from __future__ import annotations

import click

from . import store
from .cli import audit, db_option, main, open_db, shop_or_fail


def _moderation():
    # Imported when one of these commands runs: loading it (alerts, e-mail, i18n) would add ~0.1 s to the
    # start of every other command, `widgetserver import` among them.
    from . import moderation

    return moderation


@main.group()
def reports():
    """The moderation queue: open reports and the operator's decisions."""


@reports.command("list")
@db_option
@click.option("--shop", default=None, help="Only this shop's reports (default: every shop).")
def reports_list(db_path, shop):
    """Reviews with open reports, oldest first."""
    _, db = open_db(db_path)
    shop_id = shop_or_fail(db, shop)["id"] if shop else None
    queue = _moderation().open_reports(db, shop_id)
    if not queue:
        click.echo("No open reports.")
        return
    for item in queue:
        review = item["review"]
        click.echo(
            f"{item['shop']} review {review['id']}: {review['rating']}/5 by {review['author'] or '(erased)'}"
            f" [{item['status']}] - {item['reports']} report(s) since {item['first_reported_at']:%Y-%m-%d},"
            f" reasons: {', '.join(item['reasons'])}; from: {', '.join(item['reporters'])}"
        )
        text = " ".join(filter(None, [review["title"], review["body"]]))
        click.echo(f"    {text[:200]}{'...' if len(text) > 200 else ''}")
        for note in item["notes"]:
            if note["note"]:
                click.echo(f"    note ({note['reporter']}, {note['reason']}): {note['note'][:200]}")


@reports.command("decide")
@db_option
@click.argument("shop")
@click.argument("review_id", type=int)
@click.argument("outcome", type=click.Choice(store.DECISION_OUTCOMES))
@click.option("--reason", type=click.Choice(store.REPORT_REASONS), default=None,
              help="Required to remove: exactly one reason from the fixed list.")
@click.option("--note", default="", help="Why, for the record (kept with the decision).")
@click.option("--by", "decided_by", default="operator", show_default=True, help="Who decides (audit actor).")
def reports_decide(db_path, shop, review_id, outcome, reason, note, decided_by):
    """Keep or remove REVIEW_ID of SHOP, deciding all its open reports at once."""
    _, db = open_db(db_path)
    shop_row = shop_or_fail(db, shop)
    try:
        decision = _moderation().decide(db, shop_row, review_id, outcome, reason=reason, note=note,
                                     decided_by=decided_by, operator=True)
    except store.StoreError as exc:
        raise click.ClickException(exc.message) from None
    verb = "Removed" if outcome == "remove" else "Kept"
    click.echo(f"{verb} review {review_id} of {shop} (decision {decision}{', reason ' + reason if reason else ''}).")


@main.command("erase")
@db_option
@click.argument("shop")
@click.argument("review_id", type=int)
@click.option("--requested-by", type=click.Choice(["author", "operator", "legal"]), default="author",
              show_default=True, help="Who asked for the erasure (counted on the transparency page).")
@click.option("--by", "erased_by", default="operator", show_default=True, help="Who erases (audit actor).")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
def erase_command(db_path, shop, review_id, requested_by, erased_by, yes):
    """Erase the personal data of REVIEW_ID of SHOP (any source: imported, open or invited)."""
    _, db = open_db(db_path)
    shop_row = shop_or_fail(db, shop)
    if not yes:
        click.confirm(f"Erase author, title and body of review {review_id} of {shop} for good?", abort=True)
    try:
        _moderation().erase(db, shop_row["id"], review_id, requested_by=requested_by, erased_by=erased_by)
    except store.StoreError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Erased review {review_id} of {shop}: withdrawn from every page, personal data blanked, audited.")


@audit.command("check-export")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--head", default=None, help="The head hash published on the transparency page, to compare with.")
def audit_check_export(file, head):
    """Check a downloaded audit log (…/transparency/audit.jsonl) without the database."""
    from .transparency import check_audit_export

    count, problems = check_audit_export(file, head)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in {count} entries.")
    click.echo(f"{count} entries: every hash matches{', ending at the published head' if head else ''}.")
