"""Shipped widget themes: data only (theme.toml, templates/, theme.css per folder)."""
