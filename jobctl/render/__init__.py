"""Rendering: model objects -> table | json | jsonl | csv, safely (see output.py)."""
