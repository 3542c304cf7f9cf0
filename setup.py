"""Build hook for the one optional C extension (everything else is in pyproject.toml).

jobctl.parse._monitor_fast parses the common MONITOR line in C; it is optional: where no C
compiler is available the build goes on without it and jobctl uses the pure-Python parser, which
gives the same results (jobctl/parse/monitor.py)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("jobctl.parse._monitor_fast", ["jobctl/parse/_monitor_fast.c"], optional=True)])
