"""`widgetserver theme preview`: a small Flask app showing every widget of a theme with fixture data.

Only the preview command builds this app; the production app never mounts it.
Templates are re-read on every request (debug rendering), so a theme developer
edits a file and reloads the page.
"""

from __future__ import annotations

from flask import Flask, abort, redirect, request, url_for
from markupsafe import Markup, escape

import widgets
from widgets import fixtures
from widgets import WIDGETS
from widgets.theme import ThemeError, theme_chain

from .security import PREVIEW_POLICY

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 2rem 4rem; color: #222; }}
  header {{ position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ccc; padding: .5rem 0; z-index: 1; }}
  nav a {{ margin-right: .75rem; }}
  nav a[aria-current] {{ font-weight: bold; }}
  section.case {{ margin-top: 2rem; }}
  section.widget {{ border: 1px dashed #bbb; padding: 1rem; margin: 1rem 0; }}
  section.widget > h3 {{ font: 600 12px/1.2 ui-monospace, monospace; color: #555; margin: 0 0 .5rem; }}
  pre.preview-error {{ background: #fee; color: #900; padding: .5rem; white-space: pre-wrap; }}
  .surface-dark {{ background: #1b1d21; }}
  .surface-dark > h3 {{ color: #ccc !important; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def _links(label: str, current: str, values, make_url) -> Markup:
    items = [
        Markup('<a href="{}"{}>{}</a>').format(make_url(v), Markup(' aria-current="page"') if v == current else "", v)
        for v in values
    ]
    return Markup("<nav><strong>{}:</strong> ").format(label) + Markup(" ").join(items) + Markup("</nav>")


def create_preview_app(theme_dirs=(), *, base_url: str = "") -> Flask:
    """The preview WSGI app: `/` lists the themes, `/_preview/<theme>?locale=&case=` shows every widget."""
    theme_dirs = tuple(str(d) for d in theme_dirs)
    app = Flask(__name__)
    app.config["THEME_DIRS"] = list(theme_dirs)

    @app.after_request
    def security_headers(response):
        # Like every HTML answer of ours (widgetserver/security.py): a theme under development is
        # untrusted template code, and the page shows its output as it would be on a shop's site.
        response.headers["X-Content-Type-Options"] = "nosniff"
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = PREVIEW_POLICY
        return response

    @app.get("/")
    def index():
        names = widgets.available_themes(theme_dirs)
        items = Markup("").join(
            Markup('<li><a href="{}">{}</a></li>').format(url_for("preview", theme=n), n) for n in names
        )
        body = Markup("<h1>Eerlijk theme preview</h1><ul>{}</ul>").format(items)
        return PAGE.format(title="Eerlijk theme preview", body=body)

    @app.get("/_preview/<theme>")
    def preview(theme):
        try:
            chain = theme_chain(theme, theme_dirs)
        except ThemeError as error:
            abort(404, str(error))
        cases = fixtures.cases()
        locale = request.args.get("locale", "nl")
        if locale not in widgets.LOCALES:
            locale = "nl"
        case = request.args.get("case", "all")
        if case != "all" and case not in cases:
            abort(404, f"unknown case {case!r}; use one of: all, {', '.join(cases)}")
        shown = cases if case == "all" else {case: cases[case]}
        dark = chain[0].variant == "dark"

        def url(**changes):
            args = {"locale": locale, "case": case, **changes}
            return url_for("preview", theme=theme, **args)

        parts = [
            Markup("<header><h1>Theme <code>{}</code></h1>").format(theme),
            Markup("<p>Chain: {} · every widget in every fixture case. Templates are re-read on each load.</p>").format(
                " → ".join(t.name for t in chain)
            ),
            _links("Locale", locale, widgets.LOCALES, lambda v: url(locale=v)),
            _links("Case", case, ["all", *cases], lambda v: url(case=v)),
            _links("Theme", theme, widgets.available_themes(theme_dirs), lambda v: url_for("preview", theme=v, locale=locale, case=case)),
            Markup("</header>"),
        ]
        for case_name, data in shown.items():
            parts.append(Markup('<section class="case" data-case="{}"><h2>{}</h2>').format(case_name, case_name))
            for widget in WIDGETS:
                try:
                    html = widgets.render(widget, theme=theme, locale=locale, theme_dirs=theme_dirs, debug=True,
                                          base_url=base_url, now=fixtures.NOW, **data)
                except Exception as error:  # show the failure where the widget would be, keep the rest visible
                    html = Markup('<pre class="preview-error">{}: {}</pre>').format(type(error).__name__, error)
                problems = fixtures.problems_in(str(html), widget) if "preview-error" not in html else []
                notes = Markup("").join(Markup('<pre class="preview-error">{}</pre>').format(p) for p in problems)
                parts.append(
                    Markup('<section class="widget{}" data-widget="{}"><h3>{} · {} · {}</h3>{}{}</section>').format(
                        " surface-dark" if dark else "", widget, widget, locale, case_name, notes, html
                    )
                )
            parts.append(Markup("</section>"))
        return PAGE.format(title=f"Preview: {escape(theme)}", body=Markup("\n").join(parts))

    @app.get("/_preview/")
    def first():
        return redirect(url_for("preview", theme="default"))

    return app
