"""Widgets of `jobctl top`: meters, panel tables, the virtual job list, the filter prompt."""
