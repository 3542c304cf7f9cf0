"""`jobctl top`: the Textual app — refresh loop, navigation between screens, confirmed mutations.

Refresh: `Poller.tick()` runs in a thread worker (backends are synchronous). The next tick is
armed with a one-shot timer only when the previous one has been applied, so polls never overlap
and a slow server simply slows the refresh down. A tick is skipped while a modal (confirmation,
help, command palette) is open or while paused. A failed tick shows "disconnected, retrying…" in
the header and the loop keeps going; the first good tick clears it.

Writes happen only here, in `_mutate`, after an explicit r / d and a "yes" in the confirmation
modal, through the same `backend.requeue` / `backend.discard` that `jobctl requeue/discard` call,
with a `FailureFilter` of exactly the selected failure ids. Read-only targets are refused before
the modal opens (`require_writable`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import ClassVar, TypeVar

from textual.app import App
from textual.binding import BindingType
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from jobctl.backends.base import Backend, require_writable
from jobctl.errors import ReadOnlyError
from jobctl.model import FailureFilter, Job, MutationResult, Queue
from jobctl.safe import mask_secrets_in, visible
from jobctl.timeutil import utcnow
from jobctl.tui.commands import TopCommands
from jobctl.tui.failgroups import FailureRow
from jobctl.tui.keymap import APP_KEYS
from jobctl.tui.refresh import Poller, PollerConfig, QueueRow, Snapshot
from jobctl.tui.screens.confirm import ConfirmScreen
from jobctl.tui.screens.detail import DetailScreen
from jobctl.tui.screens.failures import FailureListScreen
from jobctl.tui.screens.help import HelpScreen
from jobctl.tui.screens.jobs import QueueJobsScreen
from jobctl.tui.screens.main import MainScreen
from jobctl.tui.widgets.meters import MeterContext
from jobctl.tui.widgets.panel_table import PanelTable

R = TypeVar("R")

INTERVALS: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
RETRY_CAP_S = 5.0  # while disconnected, retry at least this often


def backend_label(backend: Backend) -> str:
    scheme = backend.target.url.split(":", 1)[0].split("+", 1)[0].lower()
    return "resque" if backend.kind == "resque" else f"delayed_job ({scheme})"


class TopApp(App[None]):
    CSS_PATH = "top.tcss"
    TITLE = "jobctl top"
    BINDINGS: ClassVar[list[BindingType]] = [*APP_KEYS]
    COMMANDS = App.COMMANDS | {TopCommands}

    def __init__(self, backend: Backend, *, interval: float = 2.0, keymap: Mapping[str, str] | None = None,
                 keymap_warnings: Sequence[str] = (), config_path: str = "config.toml",
                 clock: Callable[[], datetime] = utcnow, monotonic: Callable[[], float] = time.monotonic,
                 poller_config: PollerConfig | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.target = backend.target
        self.clock = clock
        self.poller = Poller(backend, poller_config or PollerConfig(), monotonic=monotonic, clock=clock)
        self.interval = max(float(interval), 0.1)
        self.paused = False
        self.snapshot: Snapshot | None = None
        self.ticks = 0  # ticks applied to the screens
        self.skipped = 0  # timer firings skipped (paused / modal open)
        self.last_apply_s = 0.0  # time spent updating the widgets for the last tick (bench)
        self.mutations: list[MutationResult] = []
        self.user_keymap = dict(keymap or {})
        self.keymap_warnings = list(keymap_warnings)
        self.config_path = config_path
        self._timer: Timer | None = None
        self._polling = False
        self._poll_again = False  # a forced refresh arrived while a tick was running

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        for warning in self.keymap_warnings:
            self.notify(warning, severity="warning", markup=False, timeout=10)
        self.push_screen(MainScreen())
        self._poll()

    def meter_context(self) -> MeterContext:
        return MeterContext(target=self.target.label(), backend=backend_label(self.backend),
                            read_only=self.target.read_only, interval=self.interval, paused=self.paused)

    def read(self, fn: Callable[[Backend], R]) -> R:
        """Run one backend call under the shared lock (from worker threads only)."""
        with self.poller.lock:
            return fn(self.backend)

    # ------------------------------------------------------------------ refresh loop
    def _poll(self, force: bool = False) -> None:
        self._timer = None
        if self._polling:
            self._poll_again = self._poll_again or force
            return
        stack = self.screen_stack
        if not stack:  # shutting down (the last screen is gone) or not mounted yet: no refresh
            return
        if not force and (self.paused or isinstance(stack[-1], ModalScreen)):
            self.skipped += 1
            self._arm()
            return
        self._polling = True
        self.run_worker(self._tick, thread=True, group="refresh", exit_on_error=False)

    def _tick(self) -> None:
        snap = self.poller.tick()
        try:
            self.call_from_thread(self._apply, snap)
        except RuntimeError:  # the app is shutting down
            pass

    def _apply(self, snap: Snapshot) -> None:
        t0 = time.perf_counter()
        self._polling = False
        self.snapshot = snap
        self.ticks += 1
        for screen in list(self.screen_stack):
            show = getattr(screen, "show_snapshot", None)
            if show is not None and screen.is_mounted:
                show(snap)
        self.last_apply_s = time.perf_counter() - t0
        if self._poll_again:
            self._poll_again = False
            self._arm(0.0)
        else:
            self._arm(min(self.interval, RETRY_CAP_S) if snap.error else self.interval)

    def _arm(self, delay: float | None = None) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(delay if delay is not None else self.interval, self._poll)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "refresh" and event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._polling = False  # tick() never raises; this is belt and braces
            self._arm()
        elif event.worker.group == "action" and event.state == WorkerState.ERROR:
            error = event.worker.error
            message = visible(mask_secrets_in(f"{type(error).__name__}: {error}", []), max_len=300)
            self.notify(message, severity="error", markup=False, timeout=10)

    # ------------------------------------------------------------------ app actions
    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self._refresh_meters()
        if not self.paused:
            self._poll()

    def action_refresh_now(self) -> None:
        self._poll(force=True)

    def action_faster(self) -> None:
        self._set_interval(max((i for i in INTERVALS if i < self.interval), default=INTERVALS[0]))

    def action_slower(self) -> None:
        self._set_interval(min((i for i in INTERVALS if i > self.interval), default=INTERVALS[-1]))

    def _set_interval(self, seconds: float) -> None:
        self.interval = seconds
        self.notify(f"refresh every {seconds:g}s", timeout=2)
        self._refresh_meters()
        if not self._polling:
            self._arm()

    def _refresh_meters(self) -> None:
        show = getattr(self.screen, "show_meters", None)
        if show is not None:
            show()
        elif self.snapshot is not None and hasattr(self.screen, "show_snapshot"):
            self.screen.show_snapshot(self.snapshot)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.user_keymap, self.config_path))

    def dashboard_action(self, action: str) -> None:
        """Run a dashboard action from the palette (returning to the dashboard first)."""
        while len(self.screen_stack) > 2 and not isinstance(self.screen, MainScreen):
            self.pop_screen()
        self.call_next(self.run_action, action, self.screen)

    def screen_action(self, action: str) -> None:
        self.call_next(self.run_action, action, self.screen)

    # ------------------------------------------------------------------ navigation
    def open_queue(self, name: str) -> None:
        row = next((r for r in (self.snapshot.queues if self.snapshot else ()) if r.queue.name == name), None)
        if row is None:
            row = QueueRow(Queue(name=name, size=0), None, None, None, False, ())
        self.push_screen(QueueJobsScreen(row))

    def open_group(self, key: str) -> None:
        group = next((g for g in (self.snapshot.groups if self.snapshot else ()) if g.key == key), None)
        if group is not None:
            self.push_screen(FailureListScreen(group))

    def open_worker(self, worker_id: str) -> None:
        worker = next((w for w in (self.snapshot.workers if self.snapshot else ()) if w.id == worker_id), None)
        if worker is not None:
            self.push_screen(DetailScreen(worker))

    def open_job(self, job: Job) -> None:
        self.push_screen(DetailScreen(job))

    def open_failure(self, failure_id: str) -> None:
        """Fetch the whole entry (args, backtrace, raw) in a worker, then show it."""

        def fetch() -> None:
            item = self.read(lambda b: b.show(failure_id))
            self.call_from_thread(self.push_screen, DetailScreen(item))

        self.run_worker(fetch, thread=True, group="action", exit_on_error=False)

    # ------------------------------------------------------------------ mutations
    def request_mutation(self, action: str, rows: list[FailureRow], how: str) -> None:
        """r / d: refuse when read-only, otherwise confirm (count + sample) and then act."""
        if not rows:
            self.notify("nothing selected: focus the failures panel (3) and tag rows with space, "
                        "or filter them with /", severity="warning", markup=False)
            return
        try:
            require_writable(self.target, f"{action} failures")
        except ReadOnlyError as e:
            self.notify(str(e), title="read-only", severity="error", markup=False, timeout=8)
            return
        ids = [r.id for r in rows]

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._mutate(action, ids)

        self.push_screen(ConfirmScreen(action, rows, how, self.target.label()), callback=done)

    def _mutate(self, action: str, ids: list[str]) -> None:
        selection = FailureFilter(ids=tuple(ids))

        def run() -> None:
            if action == "requeue":
                result = self.read(lambda b: b.requeue(selection))
            else:
                result = self.read(lambda b: b.discard(selection))
            self.call_from_thread(self._mutated, result)

        self.run_worker(run, thread=True, group="action", exit_on_error=False)

    def _mutated(self, result: MutationResult) -> None:
        self.mutations.append(result)
        verb = "requeued" if result.action == "requeue" else "discarded"
        skipped = ""
        if result.skipped:
            why = result.skipped_entries[0].get("reason") if result.skipped_entries else None
            skipped = f", {result.skipped} skipped" + (f": {visible(str(why))}" if why else "")
        self.notify(f"{verb} {result.done} of {result.selected}{skipped}", markup=False,
                    severity="warning" if result.skipped else "information")
        for screen in self.screen_stack:
            for table in screen.query(PanelTable):
                table.untag_all()
        self.poller.invalidate_failures()
        self.action_refresh_now()

