"""Thin Typer command modules, one per command (see app.py)."""
