"""The `widgetserver` command: database, shops, keys, import/export, demo, serving, checks."""

from __future__ import annotations

import sys

import click
from flask.cli import ScriptInfo

from . import create_app, store

db_option = click.option(
    "--db", "db_path", envvar="WIDGETSERVER_DB", type=click.Path(dir_okay=False),
    help="SQLite database file (env WIDGETSERVER_DB; default: instance/widgetserver.db in the current directory, "
         "or in WIDGETSERVER_INSTANCE).",
)


def load_app(db_path: str | None, *, views: bool = True):
    """The app for this command: the test runner's app, or one built for `--db`.

    Built with `serving=False`: most commands answer no HTTP requests, so they need no public URL;
    `serve` checks for one itself once `--public-url` is applied, `demo` sets its own. Commands that
    only use the database pass `views=False` (see `create_app`).
    """
    ctx = click.get_current_context()
    info = ctx.find_object(ScriptInfo)
    if info is not None and db_path is None:
        return info.load_app()
    return create_app({"DATABASE": db_path} if db_path else None, serving=False, views=views)


def open_db(db_path: str | None, *, views: bool = True):
    """(app, db) for a command; the schema is created or upgraded on the way."""
    app = load_app(db_path, views=views)
    return app, store.connect(app.config["DATABASE"])


def shop_or_fail(db, slug: str) -> dict:
    """The shop, or exit with a message that says how to create it."""
    shop = store.get_shop(db, slug)
    if shop is None:
        raise click.ClickException(f"No shop {slug!r}. Create it: widgetserver shops create {slug} --name 'Shop name'")
    return shop


@click.group(help="Eerlijk widget server: honest review widgets for your shop.")
@click.version_option(package_name="eerlijk")
def main():
    """Entry point of the `widgetserver` command."""


@main.command()
@db_option
def init(db_path):
    """Create the database (or upgrade its schema)."""
    app, db = open_db(db_path)
    click.echo(f"Database ready at {app.config['DATABASE']} (schema version {store.schema_version(db)}).")


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--debug/--no-debug", default=False, help="Reload on change and show tracebacks (never in production).")
@click.option("--send-invitations-every", "send_every", type=click.FloatRange(min=10), default=None, metavar="SECONDS",
              help="Also send due invitation e-mails this often (needs MAIL_HOST; see docs/invitations.md).")
@click.option("--deliver-every", "deliver_every", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Also deliver queued e-mails (alerts, confirmations, follow-ups, decisions) and webhook calls this often (or run 'widgetserver deliver').")
@click.option("--public-url", default=None, metavar="URL",
              help="This server's public address, e.g. https://reviews.shop.example (default: the PUBLIC_BASE_URL setting).")
@click.option("--proxies", type=click.IntRange(min=0), default=None, metavar="N",
              help="Proxies in front that set X-Forwarded-For (default: the TRUSTED_PROXIES setting, 0).")
def serve(db_path, host, port, debug, send_every, deliver_every, public_url, proxies):
    """Serve with Werkzeug's threaded server (for production use gunicorn: see docs/operations.md).

    Needs the public address (--public-url or PUBLIC_BASE_URL) or a TRUSTED_HOSTS list: links in
    cacheable answers must not follow whatever Host header a client sends.
    """
    from .security import PublicAddressMissing, require_public_url, trust_proxies

    app = load_app(db_path)
    if public_url is not None:
        app.config["PUBLIC_BASE_URL"] = public_url
    if proxies is not None:
        trust_proxies(app, proxies)
    try:
        require_public_url(app)
    except PublicAddressMissing as exc:
        raise click.ClickException(str(exc)) from None
    if deliver_every:
        from .outbox import start_delivery_thread

        start_delivery_thread(app, deliver_every)
        click.echo(f"Delivering alerts, follow-ups and webhooks every {deliver_every:g} s.")
    if send_every:
        from .mail import start_sender_thread

        start_sender_thread(app, send_every)
        click.echo(f"Sending due invitations every {send_every:g} s.")
    click.echo(f"Serving {app.config['DATABASE']} on http://{host}:{port}/")
    app.run(host=host, port=port, debug=debug, threaded=True, use_reloader=debug)


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only create the demo data and print the key, then exit.")
def demo(db_path, host, port, no_serve):
    """Create (or reuse) a demo shop with realistic reviews, print where to look, and serve it."""
    from .demo import build_demo

    app = load_app(db_path or "demo.db")
    db = store.connect(app.config["DATABASE"])
    created, key = build_demo(db)
    shop = store.get_shop(db, "demo")
    summary = store.summary_for(db, shop["id"])
    base = f"http://{host}:{port}"
    # Links in cacheable answers name this address, never a client's Host header.
    app.config["PUBLIC_BASE_URL"] = app.config.get("PUBLIC_BASE_URL") or base
    click.echo(("Created" if created else "Reusing") + f" demo shop in {app.config['DATABASE']}: "
               f"{summary['count']} reviews, average {summary['average']}.")
    products = store.list_products(db, shop["id"])
    click.echo("Open:")
    pages = [("/", "what Eerlijk is, with links to everything below"), ("/s/demo", "the hosted review page")]
    if products:
        pages.append((f"/s/demo/p/{products[0]['sku']}", "a product's review page"))
    pages += [("/demo", "every widget and an embed example"),
              ("/api/v1/shops/demo/summary", "JSON API: count, average, per-star counts"),
              ("/api/v1/shops/demo/reviews", "JSON API: the reviews"),
              ("/api/v1/openapi.json", "the API's OpenAPI description")]
    width = max(len(base + path) for path, _ in pages)
    for path, what in pages:
        click.echo(f"  {base + path:<{width}}  {what}")
    from .demo import demo_login

    email, password = demo_login(db)
    click.echo(f"Workspace (inbox, replies, settings, snippet): {base}/workspace/login")
    click.echo(f"  e-mail {email}  password {password}")
    click.echo("Demo API key (write access to shop 'demo'):")
    click.echo(key)
    if not no_serve:
        app.run(host=host, port=port, threaded=True)


@main.group()
def shops():
    """Create, list and configure shops."""


@shops.command("create")
@db_option
@click.argument("slug")
@click.option("--name", required=True, help="The shop's public name.")
@click.option("--url", default=None, help="The shop's website.")
@click.option("--locale", default="en", show_default=True, type=click.Choice(["nl", "en", "de", "fr"]))
def shops_create(db_path, slug, name, url, locale):
    """Create a shop with SLUG (lower-case letters, digits, hyphens)."""
    _, db = open_db(db_path)
    try:
        shop = store.create_shop(db, slug, name, url, locale)
    except store.StoreError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created shop {shop['slug']!r}. Next: widgetserver keys create {shop['slug']}")


@shops.command("list")
@db_option
def shops_list(db_path):
    """List shops with their review counts."""
    _, db = open_db(db_path)
    for shop in store.list_shops(db):
        summary = store.summary_for(db, shop["id"])
        click.echo(f"{shop['slug']}\t{shop['name']}\t{summary['count']} reviews\taverage {summary['average']}")


@shops.command("set")
@db_option
@click.argument("slug")
@click.option("--organization-rating/--no-organization-rating", default=None,
              help="Put the shop rating on its Organization markup (Google ignores it: self-serving).")
@click.option("--locale", type=click.Choice(["nl", "en", "de", "fr"]), default=None)
@click.option("--invitation-delay-days", type=click.IntRange(0, 90), default=None,
              help="Days between delivery and the review invitation (default 5).")
@click.option("--allow-open-reviews/--no-allow-open-reviews", default=None,
              help="Also accept reviews without an invitation (shown as not verified).")
@click.option("--self-moderated/--no-self-moderated", default=None,
              help="The shop is also the operator of this server: its users may decide on reports about its "
                   "own reviews, and its transparency page says so.")
def shops_set(db_path, slug, organization_rating, locale, invitation_delay_days, allow_open_reviews, self_moderated):
    """Change a shop's settings."""
    _, db = open_db(db_path)
    shop = shop_or_fail(db, slug)
    settings = {}
    if organization_rating is not None:
        settings["organization_rating"] = organization_rating
    if invitation_delay_days is not None:
        settings["invitation_delay_days"] = invitation_delay_days
    if allow_open_reviews is not None:
        settings["allow_open_reviews"] = allow_open_reviews
    if self_moderated is not None:
        settings["self_moderated"] = self_moderated
    with store.write(db):  # both changes or neither
        if locale:
            db.execute("UPDATE shops SET locale = ? WHERE id = ?", [locale, shop["id"]])
        if settings:
            store.update_shop_settings(db, shop["id"], **settings)
    click.echo(f"Updated {slug}: {settings or ''} {('locale=' + locale) if locale else ''}".strip())


@main.group()
def keys():
    """Create and revoke API keys (only their hashes are stored)."""


@keys.command("create")
@db_option
@click.argument("shop")
@click.option("--label", default=None, help="What the key is for, e.g. 'shop backend'.")
def keys_create(db_path, shop, label):
    """Create an API key for SHOP; it is printed once, alone on the last line."""
    _, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    key = store.create_key(db, row["id"], label)
    click.echo(f"API key for {shop} (store it now; it cannot be shown again):")
    click.echo(key)


@keys.command("revoke")
@db_option
@click.argument("key")
def keys_revoke(db_path, key):
    """Revoke KEY (the whole key, or its id: the part after 'eer_')."""
    _, db = open_db(db_path)
    if not store.revoke_key(db, key):
        raise click.ClickException("No live key matches; nothing revoked.")
    click.echo("Revoked.")


@main.group()
def users():
    """Workspace accounts: shop owners and staff, and operators (docs/owners.md)."""


def _show_generated(password: str, generated: bool) -> None:
    """Print a password the command made up (the only time anyone sees it)."""
    if generated:
        click.echo("Password (shown once):")
        click.echo(password)


def _password(generate: bool, from_stdin: bool) -> tuple[str, bool]:
    """(password, generated): generated and printed, read from stdin, or prompted for twice."""
    import secrets

    if generate:
        return secrets.token_urlsafe(12), True
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return click.prompt("Password", hide_input=True, confirmation_prompt=True), False


password_options = [
    click.option("--generate", is_flag=True, help="Make a random password and print it."),
    click.option("--password-stdin", "from_stdin", is_flag=True, help="Read the password from the first line of stdin."),
]


def _with_password_options(command):
    for option in reversed(password_options):
        command = option(command)
    return command


@users.command("create")
@db_option
@click.argument("shop")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "staff"]), default="staff", show_default=True)
@click.option("--name", default="", help="Name shown under replies (default: the part of EMAIL before @).")
@click.option("--title", default="", help="Job title shown under replies, e.g. 'Customer service'.")
@_with_password_options
def users_create(db_path, shop, email, role, name, title, generate, from_stdin):
    """Give EMAIL a login to SHOP's workspace, as owner or staff (prompts for a password)."""
    from .workspace import users as accounts

    _, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    password, generated = _password(generate, from_stdin)
    try:
        user = accounts.create_user(db, shop_id=row["id"], email=email, name=name, title=title, role=role,
                                    password=password)
    except store.StoreError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created {user['role']} {user['email']} for shop {shop!r}. Log in at /workspace/login")
    _show_generated(password, generated)


@users.command("operator")
@db_option
@click.argument("email")
@click.option("--name", default="", help="The operator's name.")
@_with_password_options
def users_operator(db_path, email, name, generate, from_stdin):
    """Give EMAIL an operator login: moderates reports of every shop, belongs to none."""
    from .workspace import users as accounts

    _, db = open_db(db_path)
    password, generated = _password(generate, from_stdin)
    try:
        user = accounts.create_user(db, shop_id=None, email=email, name=name, role="operator", password=password)
    except store.StoreError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created operator {user['email']}.")
    _show_generated(password, generated)


@users.command("password")
@db_option
@click.argument("email")
@_with_password_options
def users_password(db_path, email, generate, from_stdin):
    """Set a new password for EMAIL (ends their sessions and any reset link)."""
    from .workspace import users as accounts

    _, db = open_db(db_path)
    user = accounts.user_by_email(db, email)
    if user is None:
        raise click.ClickException(f"No user with e-mail {email!r}. Create one: widgetserver users create SHOP EMAIL")
    password, generated = _password(generate, from_stdin)
    try:
        accounts.set_password(db, user["id"], password, actor="cli")
    except store.StoreError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Password changed for {user['email']}.")
    _show_generated(password, generated)


@users.command("list")
@db_option
@click.argument("shop", required=False)
def users_list(db_path, shop):
    """List users (of SHOP, or all) with role and last login; never passwords."""
    _, db = open_db(db_path)
    where, params = "", []
    if shop:
        where, params = " WHERE u.shop_id = ?", [shop_or_fail(db, shop)["id"]]
    click.echo("email\trole\tshop\tname\tlast_login")
    for u in db.query("SELECT u.email, u.role, coalesce(s.slug, '-') AS shop, u.name, u.last_login_at"
                      " FROM users u LEFT JOIN shops s ON s.id = u.shop_id" + where + " ORDER BY shop, u.email", params):
        click.echo("\t".join(str(u[k] or "-") for k in ("email", "role", "shop", "name", "last_login_at")))


@main.command("import")
@db_option
@click.argument("shop")
@click.argument("file", type=click.File("rb"))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
              help="Default: from the file name (.jsonl/.ndjson) or its first character.")
def import_command(db_path, shop, file, fmt):
    """Import reviews into SHOP from a CSV or JSON Lines FILE: all rows, or none if any row is bad."""
    from .transfer import DELIMITER_NAMES, ImportFailed, decode_upload, detect_format, import_reviews, sniff_delimiter

    _, db = open_db(db_path, views=False)
    row = shop_or_fail(db, shop)
    try:
        text, encoding = decode_upload(file.read())
    except ImportFailed as exc:
        raise click.ClickException(f"{file.name}: {exc.problems[0][1]}") from None
    head = text.read(4096)
    text.seek(0)
    fmt = fmt or detect_format(file.name, head[:100])
    delimiter = None
    if fmt == "csv":
        delimiter = sniff_delimiter(head)
        click.echo(f"Reading {file.name}: CSV, {encoding}, {DELIMITER_NAMES.get(delimiter, repr(delimiter))}-separated.")
    else:
        click.echo(f"Reading {file.name}: JSON Lines, {encoding}.")
    try:
        counts = import_reviews(db, row, text, fmt, delimiter)
    except ImportFailed as exc:
        for line, message in exc.problems:
            click.echo(f"{file.name}:{line}: {message}", err=True)
        raise click.ClickException(f"Nothing imported: {len(exc.problems)} bad row(s). Fix them and run again.") from None
    click.echo(f"Imported {counts['reviews']} reviews, {counts['products']} products, {counts['replies']} replies.")


@main.command("export")
@db_option
@click.argument("shop")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="Default: standard output.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "google-product-reviews"]), default="jsonl", show_default=True,
              help="jsonl: everything, for backup or moving; google-product-reviews: Google's product review feed (XML 2.2).")
@click.option("--base-url", default=None, help="Public root URL of this server, for review links in the Google feed "
                                                "(default: the PUBLIC_BASE_URL setting).")
def export_command(db_path, shop, output, fmt, base_url):
    """Export everything of SHOP (every review in every state, replies, history) as JSON Lines,
    or its product reviews as a Google product review feed (see docs/structured-data.md)."""
    from .transfer import export_lines

    app, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    if fmt == "google-product-reviews":
        from .feeds import feed_lines

        base_url = base_url or app.config.get("PUBLIC_BASE_URL")
        if not base_url:
            raise click.ClickException("The feed links to the hosted review pages: pass --base-url https://reviews.example.com "
                                       "(this server's public address) or set PUBLIC_BASE_URL.")
        for text in feed_lines(db, row, base_url):
            output.write(text)
        return
    for line in export_lines(db, row):
        output.write(line)


@main.command()
@db_option
@click.option("--fix", is_flag=True, help="Overwrite wrong aggregates with the scanned figures.")
def recompute(db_path, fix):
    """Check every stored aggregate against a full scan of the reviews."""
    _, db = open_db(db_path)
    problems = store.recompute(db, fix=fix)
    for problem in problems:
        click.echo(problem)
    bad_rows = store.check_rows(db)
    for problem in bad_rows:
        click.echo(problem, err=True)
    if problems and not fix:
        raise click.ClickException(f"{len(problems)} aggregate(s) differ; run with --fix to mend them."
                                   + (f" Also {len(bad_rows)} bad stored time(s): see 'widgetserver check'." if bad_rows else ""))
    click.echo("Fixed." if problems else "All aggregates match a full scan.")
    if bad_rows:
        raise click.ClickException(f"{len(bad_rows)} stored time(s) unreadable or out of range (listed above); "
                                   "--fix cannot mend them: correct each row, see 'widgetserver check' in docs/operations.md.")


@main.command()
@db_option
def check(db_path):
    """Check the database: SQLite integrity, every stored time readable and in range, aggregates, audit chain.

    Changes nothing; exits 1 when anything is wrong, listing each problem.
    """
    _, db = open_db(db_path)
    sections = []
    integrity = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
    sections.append(("SQLite integrity", [] if integrity == ["ok"] else integrity))
    sections.append(("stored times", store.check_rows(db)))
    sections.append(("aggregates", store.recompute(db, fix=False)))
    sections.append(("audit chain", store.verify_audit(db)[1]))
    failed = 0
    for title, problems in sections:
        if problems:
            failed += len(problems)
            click.echo(f"{title}: {len(problems)} problem(s)")
            for problem in problems:
                click.echo(f"  {problem}")
        else:
            click.echo(f"{title}: ok")
    if failed:
        raise click.ClickException(f"{failed} problem(s) found; see docs/operations.md ('widgetserver check').")


@main.group()
def audit():
    """The hash-chained audit log."""


@audit.command("verify")
@db_option
def audit_verify(db_path):
    """Check that no audit entry was changed, removed or inserted."""
    _, db = open_db(db_path)
    count, problems = store.verify_audit(db)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"Audit chain broken: {len(problems)} problem(s) in {count} entries.")
    click.echo(f"Audit chain intact: {count} entries.")
    head = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    if head:
        # Deleting the newest entries leaves a shorter chain that still verifies; comparing this
        # head with one recorded elsewhere (a log, a ticket) is how such a truncation shows.
        click.echo(f"Head: entry {head[0]}, hash {head[1]}")



# --- themes (docs/themes.md) -------------------------------------------------------


def theme_dirs_of(app, extra=()) -> list[str]:
    """The app's THEME_DIRS, then any extra folders given on the command line."""
    return [str(d) for d in app.config["THEME_DIRS"]] + [str(d) for d in extra if str(d) not in app.config["THEME_DIRS"]]


@main.group()
def theme():
    """Create, check, list and preview widget themes (see docs/themes.md)."""


@theme.command("new")
@click.argument("name")
@click.option("--extends", "parent", default="default", show_default=True, help="The theme to inherit from.")
@click.option("--dir", "dest", type=click.Path(file_okay=False), default=None,
              help="Folder to create the theme in (default: the first THEME_DIRS entry, instance/themes).")
def theme_new(name, parent, dest):
    """Scaffold theme NAME (theme.toml, an example list.html override, theme.css); never overwrites."""
    from pathlib import Path

    from widgets.theme import ThemeError, find_theme, scaffold

    app = load_app(None)
    dest = Path(dest or app.config["THEME_DIRS"][0])
    dirs = theme_dirs_of(app, [dest])
    try:
        find_theme(parent, dirs)
        dest.mkdir(parents=True, exist_ok=True)
        path = scaffold(name, dest, extends=parent)
    except ThemeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created theme {name!r} (extends {parent!r}) in {path}:")
    for file in ("theme.toml", "templates/list.html", "theme.css"):
        click.echo(f"  {path / file}")
    click.echo("Next:")
    if str(dest) not in [str(d) for d in app.config["THEME_DIRS"]]:
        click.echo(f"  add {dest} to THEME_DIRS (docs/operations.md), or pass --dir {dest} to check and preview")
    extra = "" if str(dest) in [str(d) for d in app.config["THEME_DIRS"]] else f" --dir {dest}"
    click.echo(f"  edit the files; override more templates by copying them from the {parent!r} theme")
    click.echo(f"  widgetserver theme check {name}{extra}      render every widget, locale and fixture case")
    click.echo(f"  widgetserver theme preview {name}{extra}    see every widget in your browser")


@theme.command("check")
@click.argument("name")
@click.option("--dir", "extra", multiple=True, type=click.Path(file_okay=False),
              help="Another folder to search for themes (before the shipped ones); repeatable.")
def theme_check(name, extra):
    """Render every widget in every locale with fixture data; list problems and exit 1 on any."""
    from widgets import LOCALES, WIDGETS, fixtures
    from widgets.rendering import environment
    from widgets.theme import check

    app = load_app(None)
    environment.cache_clear()  # re-read templates edited since this process last rendered them
    problems = check(name, theme_dirs_of(app, extra))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"theme {name!r}: {len(problems)} problem(s); fix them and run the check again.")
    renders = len(WIDGETS) * len(LOCALES) * len(fixtures.cases())
    click.echo(f"theme {name!r}: OK ({len(WIDGETS)} widgets x {len(LOCALES)} locales x "
               f"{len(fixtures.cases())} fixture cases = {renders} renders, no problems).")


@theme.command("list")
@click.option("--dir", "extra", multiple=True, type=click.Path(file_okay=False),
              help="Another folder to search for themes; repeatable.")
def theme_list(extra):
    """List the themes found in THEME_DIRS and the shipped ones, with what they extend."""
    from widgets.theme import ThemeError, available_themes, find_theme

    app = load_app(None)
    dirs = theme_dirs_of(app, extra)
    for name in available_themes(dirs):
        try:
            found = find_theme(name, dirs)
        except ThemeError as error:
            click.echo(f"{name}\t(broken: {error})")
            continue
        origin = "shipped" if found.shipped else str(found.path)
        parent = f"extends {found.extends}" if found.extends else "base theme"
        click.echo(f"{name}\t{parent}\t{origin}\t{found.description}")


@theme.command("preview")
@click.argument("name")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--dir", "extra", multiple=True, type=click.Path(file_okay=False),
              help="Another folder to search for themes; repeatable.")
def theme_preview(name, host, port, extra):
    """Serve a page showing every widget of theme NAME in every fixture case and locale."""
    from widgets.theme import ThemeError, theme_chain

    from .preview import create_preview_app

    app = load_app(None)
    dirs = theme_dirs_of(app, extra)
    try:
        theme_chain(name, dirs)
    except ThemeError as error:
        raise click.ClickException(str(error)) from None
    preview = create_preview_app(dirs)
    click.echo(f"Previewing theme {name!r}: http://{host}:{port}/_preview/{name} (Ctrl-C to stop)")
    preview.run(host=host, port=port, threaded=True)


@main.group()
def invitations():
    """Review invitations per order: import, send, list (docs/invitations.md)."""


@invitations.command("import")
@db_option
@click.argument("shop")
@click.argument("file", type=click.File("rb"))
@click.option("--show-links", is_flag=True,
              help="Print order_ref, send_at and the review link of each row to send yourself; rows with an e-mail "
                   "(we send those) or with reviews already written print why there is no link instead.")
def invitations_import(db_path, shop, file, show_links):
    """Invite the customers of the orders in a CSV FILE to review SHOP: all rows, or none if any row is bad."""
    from . import invitations as inv
    from .transfer import ImportFailed, decode_upload

    app, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    try:
        text, _ = decode_upload(file.read())  # a file that is no text is a bad row 1, not a traceback
        results = inv.import_csv(db, row, app.config["SECRET_KEY"], text,
                                 valid_days=app.config["INVITATION_VALID_DAYS"])
    except ImportFailed as exc:
        for line, message in exc.problems:
            click.echo(f"{file.name}:{line}: {message}", err=True)
        raise click.ClickException(f"Nothing imported: {len(exc.problems)} bad row(s). Fix them and run again.") from None
    created = sum(1 for _, new in results if new)
    click.echo(f"Invited {created} order(s); {len(results) - created} were invited before (unchanged).")
    if show_links:
        base = app.config.get("PUBLIC_BASE_URL")
        if not base:
            base = "http://127.0.0.1:8000"
            click.echo(f"PUBLIC_BASE_URL is not set; links below start with {base}.", err=True)
        for invitation, _ in results:
            url, status = inv.disclose_link(db, invitation, base, app.config["SECRET_KEY"])
            click.echo(f"{invitation['order_ref']}\t{invitation['send_at']}\t{url or '(no link: ' + status + ')'}")


@invitations.command("send")
@db_option
def invitations_send(db_path):
    """E-mail every invitation that is due (send_at passed), retrying temporary failures later."""
    from .mail import MailConfigError, send_due

    app, db = open_db(db_path)
    try:
        counts = send_due(app, db)
    except MailConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if "waiting" in counts:
        click.echo(f"MAIL_HOST is not set: nothing sent ({counts['waiting']} due). Send the review links yourself "
                   "(see docs/invitations.md) or configure SMTP.")
    else:
        click.echo(f"Sent {counts['sent']}, to retry later {counts['retry']}, failed {counts['failed']}.")
    if counts["expired"] or counts["interrupted"]:
        click.echo(f"Expired unsent: {counts['expired']}; interrupted while sending (not resent): {counts['interrupted']}.")


@invitations.command("list")
@db_option
@click.argument("shop")
def invitations_list(db_path, shop):
    """Each invitation of SHOP with its status, attempts, times and last error (no e-mail addresses)."""
    from . import invitations as inv

    _, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    click.echo("id\torder_ref\tstatus\tattempts\tsend_at\tsent_at\treviews\tlast_error")
    for i in inv.list_invitations(db, row["id"]):
        status = i["status"] + (" (no e-mail: link only)" if i["status"] == "pending" and i["email"] is None else "")
        click.echo("\t".join(str(v) for v in (i["id"], i["order_ref"], status, i["attempts"], i["send_at"],
                                               i["sent_at"] or "-", i["review_count"], i["last_error"] or "-")))


# --- alerts, webhooks and the outbox (docs/operations.md#alerts-and-webhooks) -------------


@main.group()
def alerts():
    """Who at a shop gets an e-mail about new reviews at or below a rating, at once or daily."""


@alerts.command("add")
@db_option
@click.argument("shop")
@click.argument("email")
@click.option("--max-rating", type=click.IntRange(1, 5), default=2, show_default=True,
              help="Alert for reviews with at most this many stars.")
@click.option("--mode", type=click.Choice(["immediate", "digest"]), default="immediate", show_default=True,
              help="One e-mail per review, or one daily digest (run 'widgetserver alerts send-digests' daily).")
def alerts_add(db_path, shop, email, max_rating, mode):
    """Alert EMAIL about new reviews of SHOP (run again to change the rating or mode)."""
    from . import alerts as alerts_module

    _, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    try:
        recipient, created = alerts_module.add_recipient(db, row["id"], email, max_rating, mode, actor="cli")
    except store.StoreError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{'Added' if created else 'Updated'} alert {recipient['id']}: {recipient['email']} gets "
               f"{'an e-mail per review' if mode == 'immediate' else 'a daily digest'} for reviews with at most "
               f"{max_rating} star(s).")


@alerts.command("list")
@db_option
@click.argument("shop")
def alerts_list(db_path, shop):
    """The alert recipients of SHOP and its latest digests."""
    from . import alerts as alerts_module

    _, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    click.echo("id\temail\tmax_rating\tmode")
    for r in alerts_module.list_recipients(db, row["id"]):
        click.echo(f"{r['id']}\t{r['email']}\t{r['max_rating']}\t{r['mode']}")
    history = alerts_module.digest_history(db, row["id"], limit=5)
    if history:
        click.echo("latest digests: id\temail\treviews\tcreated_at\tstatus")
        for d in history:
            click.echo(f"{d['id']}\t{d['email']}\t{d['review_count']}\t{d['created_at']}\t{d['status']}"
                       + (f" ({d['last_error']})" if d["last_error"] else ""))


@alerts.command("remove")
@db_option
@click.argument("shop")
@click.argument("recipient")
def alerts_remove(db_path, shop, recipient):
    """Stop alerting RECIPIENT (its id or e-mail address) about SHOP."""
    from . import alerts as alerts_module

    _, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    if not alerts_module.remove_recipient(db, row["id"], recipient, actor="cli"):
        raise click.ClickException(f"No alert recipient {recipient!r} in {shop}; see 'widgetserver alerts list {shop}'.")
    click.echo("Removed.")


@alerts.command("send-digests")
@db_option
def alerts_send_digests(db_path):
    """Gather every digest recipient's new reviews into one e-mail each and send them (run once a day)."""
    from . import alerts as alerts_module
    from .mail import MailConfigError

    app, db = open_db(db_path)
    try:
        counts = alerts_module.send_digests(app, db)
    except MailConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Gathered {counts['gathered']} digest(s); sent {counts['delivered']}, to retry later "
               f"{counts['retry']}, failed {counts['failed']}.")
    if counts["waiting"]:
        click.echo(f"MAIL_HOST is not set: {counts['waiting']} digest(s) wait in the outbox until it is.")


@main.group()
def webhooks():
    """Signed HTTP calls to a shop's endpoints when reviews, replies and reports change."""


@webhooks.command("add")
@db_option
@click.argument("shop")
@click.argument("url")
@click.option("--event", "events", multiple=True, type=click.Choice(store.WEBHOOK_EVENTS),
              help="Subscribe to this event (repeatable; default: all).")
@click.option("--description", default="", help="What the endpoint is, e.g. 'helpdesk'.")
def webhooks_add(db_path, shop, url, events, description):
    """Send SHOP's events to URL; prints the signing secret once, alone on the last line."""
    from . import webhooks as webhooks_module

    app, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    try:
        endpoint, secret = webhooks_module.add_endpoint(
            db, row["id"], url, list(events) or None, description,
            allow_private=app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"], actor="cli")
    except store.StoreError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Webhook {endpoint['id']} for {shop}: {url} ({', '.join(endpoint['events'])}).")
    click.echo("Signing secret (store it now; it cannot be shown again):")
    click.echo(secret)


@webhooks.command("list")
@db_option
@click.argument("shop")
def webhooks_list(db_path, shop):
    """SHOP's endpoints with their events and delivery figures (never their secrets)."""
    from . import webhooks as webhooks_module

    _, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    click.echo("id\turl\tevents\tpending\tdelivered\tfailed\tsecret")
    for e in webhooks_module.list_endpoints(db, row["id"]):
        click.echo(f"{e['id']}\t{e['url']}\t{','.join(e['events'])}\t{e['pending']}\t{e['delivered']}\t{e['failed']}"
                   f"\t{e['secret_hint']}")


@webhooks.command("remove")
@db_option
@click.argument("shop")
@click.argument("endpoint_id", type=int)
def webhooks_remove(db_path, shop, endpoint_id):
    """Stop calling endpoint ENDPOINT_ID of SHOP (queued calls are dropped; its log stays)."""
    from . import webhooks as webhooks_module

    _, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    if not webhooks_module.remove_endpoint(db, row["id"], endpoint_id, actor="cli"):
        raise click.ClickException(f"No webhook {endpoint_id} in {shop}; see 'widgetserver webhooks list {shop}'.")
    click.echo("Removed.")


@webhooks.command("log")
@db_option
@click.argument("shop")
@click.argument("endpoint_id", type=int)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
def webhooks_log(db_path, shop, endpoint_id, limit):
    """Each delivery attempt to ENDPOINT_ID, newest first: event, attempt, time, status code, error."""
    from . import webhooks as webhooks_module

    _, db = open_db(db_path)
    row = shop_or_fail(db, shop)
    log = webhooks_module.delivery_log(db, row["id"], endpoint_id, limit)
    if log is None:
        raise click.ClickException(f"No webhook {endpoint_id} in {shop}; see 'widgetserver webhooks list {shop}'.")
    click.echo("delivery\tevent\tattempt\tat\tstatus\toutcome\tms\terror\tnext_attempt_at")
    for e in log:
        click.echo(f"{e['delivery']}\t{e['event']}\t{e['attempt']}\t{store.format_time(e['at'])}\t"
                   f"{e['status_code'] or '-'}\t{e['outcome']}\t{e['duration_ms']}\t{e['error'] or '-'}\t"
                   f"{store.format_time(e['next_attempt_at']) if e['next_attempt_at'] else '-'}")


@main.command()
@db_option
@click.option("--loop", "every", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Keep running, delivering every SECONDS (for a systemd service); default: one pass.")
def deliver(db_path, every):
    """Deliver due e-mails (alerts, digests, authors' confirmations, follow-ups, decisions) and webhook calls, with retries."""
    import time

    from .mail import MailConfigError
    from .outbox import deliver_due

    app, db = open_db(db_path)
    while True:
        try:
            counts = deliver_due(app, db)
        except MailConfigError as exc:
            raise click.ClickException(str(exc)) from None
        if every is None or counts["delivered"] or counts["retry"] or counts["failed"]:
            click.echo(f"Delivered {counts['delivered']}, to retry later {counts['retry']}, failed {counts['failed']}"
                       + (f", waiting for MAIL_HOST {counts['waiting']}" if counts["waiting"] else "") + ".")
        if every is None:
            return
        time.sleep(every)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# Commands that live in their own modules register themselves on `main`.
from . import cli_moderation  # noqa: E402,F401
