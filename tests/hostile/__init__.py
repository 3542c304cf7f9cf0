"""The hostile corpus (issue #9): entries every jobctl command must survive, and their loaders.

`corpus.py` generates the entries (big ones are built in memory, never committed as files),
`loaders.py` puts them into a private Redis (Resque) and into SQLite / PostgreSQL delayed_jobs
tables, `checks.py` runs the real `jobctl` in a subprocess and measures time, peak RSS and the
bytes it printed.
"""
