"""Backends: Target -> ResqueBackend | DelayedJobBackend.

Driver libraries (redis, SQLAlchemy) are imported here lazily, only when a command opens a
backend, so `jobctl --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobctl.targets import Target

if TYPE_CHECKING:
    from jobctl.backends.base import Backend


def open_backend(target: Target) -> Backend:
    """Connect lazily: the returned backend opens its connection on first use (or `ping()`)."""
    if target.kind == "resque":
        from jobctl.backends.resque.backend import ResqueBackend

        return ResqueBackend(target)
    from jobctl.backends.delayed_job.backend import DelayedJobBackend

    return DelayedJobBackend(target)
