"""Errors with meaning: each maps to one exit code (see README "Exit codes")."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # operation failed or partially failed
EXIT_USAGE = 2  # bad options, bad config, bad rule file
EXIT_UNREACHABLE = 3  # target unreachable or not a recognised queue store


class JobctlError(Exception):
    """Base: printed as one line on stderr, no traceback unless --debug."""

    exit_code = EXIT_FAILED


class UsageError(JobctlError):
    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    pass


class TargetUnreachable(JobctlError):
    exit_code = EXIT_UNREACHABLE


class NotAQueueStore(JobctlError):
    exit_code = EXIT_UNREACHABLE


class ReadOnlyError(JobctlError):
    """A mutation was asked for on a read-only target."""

    exit_code = EXIT_USAGE


class NotFound(JobctlError):
    exit_code = EXIT_FAILED


class Unsupported(JobctlError):
    """The backend cannot do this (e.g. resque-scheduler views on a Delayed Job table)."""

    exit_code = EXIT_USAGE
