"""What the package imports, it installs: every third-party module imported by widgetserver/ or widgets/
is provided by a distribution in install_requires (issue 8: feeds.py imported lxml, which only the test
extra installed, so the documented feed export crashed on a plain install)."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def requirement_names(text: str) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
            for line in text.strip().splitlines() if line.strip()}


def imported_top_level_modules() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in ("widgetserver", "widgets"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_imported_distribution_is_in_install_requires():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    required = requirement_names(config["options"]["install_requires"])
    test_extra = requirement_names(config["options.extras_require"]["test"])
    providers = packages_distributions()
    missing = []
    for module, where in sorted(imported_top_level_modules().items()):
        if module in sys.stdlib_module_names or module in ("widgetserver", "widgets", "__future__"):
            continue
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        assert dists, f"{module} (imported in {where}) is installed by no distribution"
        if not dists & required:
            missing.append(f"{module} ({where}; from {', '.join(sorted(dists))})")
    assert missing == [], f"imported but not in install_requires: {missing}"
    assert "lxml" in required and "lxml" not in test_extra
