"""`jobctl demo`: a seeded SQLite database in exact Delayed Job format (seed.py, mix.py, handlers.py)."""
