"""Alert state between cron runs: notify on transitions only, re-notify on an interval.

File: `$XDG_STATE_HOME/jobctl/alert-state.json` (or `--state FILE`), written atomically (temp file
in the same directory, fsync, rename). Runs serialise on an exclusive `fcntl.flock` of
`FILE.lock`, held while state is read, notifications are sent and state is written, so two
overlapping cron runs never send the same notification twice.

Transitions (per rule and target):
    OK -> WARNING/UNKNOWN/CRITICAL          PROBLEM
    to a more severe state than notified    ESCALATED
    still not OK, `renotify` elapsed        REMINDER
    back to OK after a notified problem     RESOLVED
A de-escalation (CRITICAL -> WARNING) is recorded but not sent. A notification that failed on
every channel is not recorded as sent, so the next run tries again.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jobctl.alert.promfile import write_atomic
from jobctl.alert.thresholds import State
from jobctl.timeutil import as_utc

STATE_VERSION = 1
PROBLEM, ESCALATED, REMINDER, RESOLVED = "PROBLEM", "ESCALATED", "REMINDER", "RESOLVED"


class StateError(Exception):
    """The state file cannot be locked, read or written (reported; the alert result stands)."""


def _iso(dt: datetime) -> str:
    return as_utc(dt).isoformat().replace("+00:00", "Z")


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


@dataclass(slots=True)
class RuleState:
    state: str  # State name
    since: str  # when the rule entered `state`
    updated_at: str
    value: float | None = None
    notified_state: str | None = None  # problem state last announced; None = nothing firing announced
    last_notified_at: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RuleState | None:
        try:
            State[d["state"]]
            return cls(state=d["state"], since=str(d["since"]), updated_at=str(d.get("updated_at", d["since"])),
                       value=d.get("value"), notified_state=d.get("notified_state"),
                       last_notified_at=d.get("last_notified_at"))
        except (KeyError, TypeError):
            return None


def decide(prev: RuleState | None, cur: State, now: datetime, renotify: timedelta | None,
           value: float | None = None) -> tuple[str | None, RuleState]:
    """(transition to announce or None, the new state assuming the announcement succeeds)."""
    stamp = _iso(now)
    since = prev.since if prev is not None and prev.state == cur.name else stamp
    new = RuleState(state=cur.name, since=since, updated_at=stamp, value=value,
                    notified_state=prev.notified_state if prev else None,
                    last_notified_at=prev.last_notified_at if prev else None)
    notified = State[new.notified_state] if new.notified_state and new.notified_state in State.__members__ else None
    kind: str | None = None
    if cur == State.OK:
        if notified is not None:
            kind = RESOLVED
            new.notified_state = None
    elif notified is None:
        kind = PROBLEM
    elif cur.rank > notified.rank:
        kind = ESCALATED
    elif renotify is not None:
        last = _parse(new.last_notified_at)
        if last is None or now - last >= renotify:
            kind = REMINDER
    if kind is not None:
        new.last_notified_at = stamp
        if kind != RESOLVED:
            new.notified_state = cur.name if notified is None or cur.rank > notified.rank else notified.name
    return kind, new


def not_sent(prev: RuleState | None, new: RuleState) -> RuleState:
    """The state to store when every channel failed: keep the announcement pending for next run."""
    return RuleState(state=new.state, since=new.since, updated_at=new.updated_at, value=new.value,
                     notified_state=prev.notified_state if prev else None,
                     last_notified_at=prev.last_notified_at if prev else None)


def default_state_path() -> Path:
    from jobctl.targets import state_dir

    return state_dir() / "alert-state.json"


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []

    @contextmanager
    def locked(self, timeout: float) -> Iterator[None]:
        """Hold an exclusive flock on `<file>.lock`, waiting at most `timeout` seconds."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise StateError(f"cannot open state lock {self.path}.lock: {e.strerror or e}") from None
        try:
            deadline = time.monotonic() + max(timeout, 0.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise StateError(f"cannot lock {self.path}.lock: {e.strerror or e}") from None
                    if time.monotonic() >= deadline:
                        raise StateError(f"state file {self.path} is locked by another jobctl alert run "
                                         f"(waited {timeout:.1f}s)") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def load(self) -> dict[str, RuleState]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise StateError(f"cannot read state file {self.path}: {e.strerror or e}") from None
        try:
            data = json.loads(raw)
            rules = data["rules"] if isinstance(data, dict) else None
            if not isinstance(rules, dict):
                raise ValueError("no 'rules' object")
        except (ValueError, KeyError) as e:
            self.warnings.append(f"state file {self.path} is unreadable ({e}); starting fresh")
            return {}
        out: dict[str, RuleState] = {}
        for key, d in rules.items():
            rs = RuleState.from_dict(d) if isinstance(d, dict) else None
            if rs is not None:
                out[key] = rs
        return out

    def save(self, states: dict[str, RuleState]) -> None:
        body = json.dumps({"version": STATE_VERSION, "rules": {k: asdict(v) for k, v in sorted(states.items())}},
                          indent=2, ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(self.path, body, mode=0o600)
        except OSError as e:
            raise StateError(f"cannot write state file {self.path}: {e.strerror or e}") from None
