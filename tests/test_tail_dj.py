"""`jobctl tail` on Delayed Job (polling), against real SQLite, PostgreSQL and MariaDB tables.

The table is the real delayed_job schema with the real fixture rows. Row changes are made with
the statements Delayed Job itself issues (INSERT on enqueue; lock = UPDATE locked_at/locked_by
without touching updated_at, like DJ's `update_all`; success = DELETE; reschedule and `fail!` =
save! with updated_at), plus jobctl's own requeue; each poll must report exactly what changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from dj_data import load_fixture

from jobctl.backends.delayed_job.backend import DelayedJobBackend
from jobctl.backends.delayed_job.follow import DJPoller
from jobctl.targets import Target
from jobctl.timeutil import utcnow

HANDLER = "--- !ruby/struct:NewsletterJob\ntext: hello tail\nemails:\n- a@example.com\n"
WORKER = "host:tailbox pid:4242"


class DJ:
    """Makes the row changes Delayed Job makes, through the backend's own table and time codec."""

    def __init__(self, url: str) -> None:
        self.b = DelayedJobBackend(Target(url=url))
        self.t = self.b.table
        self.c = self.t.c

    def now(self, delta: float = 0) -> Any:
        return self.b.db_time(utcnow() + timedelta(seconds=delta))

    def run(self, stmt: Any) -> Any:
        with self.b.engine.begin() as conn:
            return conn.execute(stmt)

    def enqueue(self, queue: str = "tailq") -> int:
        now = self.now()
        res = self.run(self.t.insert().values(priority=0, attempts=0, handler=HANDLER, queue=queue, run_at=now,
                                              created_at=now, updated_at=now))
        return int(res.inserted_primary_key[0])

    def lock(self, rid: int) -> None:
        self.run(self.t.update().where(self.c.id == rid).values(locked_at=self.now(), locked_by=WORKER))

    def finish(self, rid: int) -> None:
        self.run(self.t.delete().where(self.c.id == rid))

    def reschedule(self, rid: int, attempts: int) -> None:
        self.run(self.t.update().where(self.c.id == rid).values(
            attempts=attempts, run_at=self.now(5 + attempts**4), locked_at=None, locked_by=None,
            last_error="boom (RuntimeError)\n/app/jobs/newsletter.rb:3:in `perform'", updated_at=self.now()))

    def fail(self, rid: int, attempts: int) -> None:
        self.run(self.t.update().where(self.c.id == rid).values(
            attempts=attempts, failed_at=self.now(), locked_at=None, locked_by=None,
            last_error="final boom (RuntimeError)\n/app/jobs/newsletter.rb:3:in `perform'", updated_at=self.now()))

    def unlock(self, rid: int) -> None:
        self.run(self.t.update().where(self.c.id == rid).values(locked_at=None, locked_by=None))

    def close(self) -> None:
        self.b.close()


@pytest.fixture(params=["sqlite", "pg", "mysql"])
def dj_url(request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue({"sqlite": "sqlite_url", "pg": "pg_url", "mysql": "mysql_url"}[request.param])
    load_fixture(url)
    return str(url)


def kinds(events: list[Any]) -> list[tuple[str, str | None]]:
    return [(e.kind, e.job_class) for e in events]


def test_each_poll_reports_what_changed(dj_url: str) -> None:
    dj = DJ(dj_url)
    b = DelayedJobBackend(Target(url=dj_url))
    poller = DJPoller(b)
    poller.start()
    assert poller.poll() == []  # nothing changed yet: the fixture's history is not replayed

    a = dj.enqueue()
    ev = poller.poll()
    assert kinds(ev) == [("enqueue", "NewsletterJob")]
    assert ev[0].queue == "tailq" and ev[0].key.endswith(f"#{a}") and ev[0].args

    dj.lock(a)
    ev = poller.poll()
    assert kinds(ev) == [("start", "NewsletterJob")] and ev[0].worker == WORKER and ev[0].detail == "attempt 1"

    dj.finish(a)
    ev = poller.poll()
    assert kinds(ev) == [("done", "NewsletterJob")] and ev[0].worker == WORKER

    r = dj.enqueue()
    dj.lock(r)
    ev = poller.poll()
    assert kinds(ev) == [("enqueue", "NewsletterJob"), ("start", "NewsletterJob")]
    dj.reschedule(r, 1)
    ev = poller.poll()
    assert kinds(ev) == [("retry", "NewsletterJob")] and "attempt 1 failed: boom (RuntimeError)" in ev[0].detail
    dj.lock(r)
    dj.fail(r, 2)
    ev = poller.poll()
    assert [e.kind for e in ev] == ["fail"] and "after 2 attempts: final boom" in ev[0].detail

    assert poller.poll() == []  # the overlap window re-reads rows but reports nothing twice

    u = dj.enqueue()
    dj.lock(u)
    poller.poll()
    dj.unlock(u)
    assert [e.kind for e in poller.poll()] == ["unlock"]
    dj.finish(u)
    assert [e.kind for e in poller.poll()] == ["done"]

    # jobctl's own requeue of the failed row, then a discard of it
    p = subprocess.run([sys.executable, "-m", "jobctl", "-u", dj_url, "requeue", "--id", str(r), "--yes"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert [e.kind for e in poller.poll()] == ["requeue"]
    dj.fail(r, 1)
    poller.poll()
    dj.finish(r)
    assert [e.kind for e in poller.poll()] == ["remove"]
    dj.close()
    b.close()


def test_jobs_running_at_start_and_old_failures_are_followed(dj_url: str) -> None:
    dj = DJ(dj_url)
    running = dj.enqueue()
    dj.lock(running)
    b = DelayedJobBackend(Target(url=dj_url))
    poller = DJPoller(b)
    poller.start()
    assert running in poller.watch
    dj.finish(running)
    ev = poller.poll()
    assert kinds(ev) == [("done", "NewsletterJob")] and "row deleted after" in ev[0].detail
    with b.read() as conn:
        from sqlalchemy import select

        old_failed = conn.execute(select(dj.c.id).where(dj.c.failed_at.is_not(None)).limit(1)).scalar()
    assert old_failed is not None and old_failed not in poller.watch
    p = subprocess.run([sys.executable, "-m", "jobctl", "-u", dj_url, "requeue", "--id", str(old_failed), "--yes"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    ev = poller.poll()
    assert [e.kind for e in ev] == ["requeue"] and ev[0].key.endswith(f"#{old_failed}")
    dj.close()
    b.close()


def test_polling_is_bounded_per_poll(dj_url: str) -> None:
    dj = DJ(dj_url)
    b = DelayedJobBackend(Target(url=dj_url))
    poller = DJPoller(b, max_pages=1)
    poller.start()
    ids = [dj.enqueue() for _ in range(3)]
    from jobctl.backends.delayed_job import follow as follow_mod

    old = follow_mod.PAGE
    follow_mod.PAGE = 2
    try:
        first = poller.poll()
        second = poller.poll()
    finally:
        follow_mod.PAGE = old
    assert [e.kind for e in first] == ["enqueue", "enqueue"] and [e.kind for e in second] == ["enqueue"]
    assert [e.key.rsplit("#", 1)[1] for e in first + second] == [str(i) for i in ids]
    dj.close()
    b.close()


def test_cli_tail_on_delayed_job(dj_url: str) -> None:
    dj = DJ(dj_url)
    proc = subprocess.Popen([sys.executable, "-m", "jobctl", "-u", dj_url, "tail", "-o", "jsonl", "--interval", "0.2s",
                             "--count", "3", "--event", "enqueue,start,done"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _drive_cli_tail(dj, proc)
    finally:
        if proc.poll() is None:  # a failed assertion must not leave the tail running
            proc.kill()
            proc.communicate(timeout=30)
        dj.close()


def _drive_cli_tail(dj: DJ, proc: subprocess.Popen[str]) -> None:
    import queue
    import threading

    assert proc.stderr is not None and proc.stdout is not None
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline and "by polling every" not in line:  # said once its marks are set
        line = proc.stderr.readline()
        if proc.poll() is not None:
            pytest.fail(proc.stderr.read())
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def next_event() -> dict[str, Any]:
        return json.loads(lines.get(timeout=60))  # each step waits for its event: no timing guesses

    a = dj.enqueue()
    ev = [next_event()]
    dj.lock(a)
    ev.append(next_event())
    dj.finish(a)
    ev.append(next_event())
    assert proc.wait(timeout=60) == 0
    err = proc.stderr.read()
    assert [(e["kind"], e["job_class"]) for e in ev] == [("enqueue", "NewsletterJob"), ("start", "NewsletterJob"),
                                                       ("done", "NewsletterJob")]
    assert "--- tail summary" in err and "tailq" in err


def test_raw_is_refused_on_delayed_job(dj_url: str) -> None:
    p = subprocess.run([sys.executable, "-m", "jobctl", "-u", dj_url, "tail", "--raw"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "--raw" in p.stderr


RUBY_WORKER = r'''
# The real delayed_job 4.1.9 worker, step by step; each step waits for the test's go-file so that
# jobctl (polling) sees every state. ARGV: db URL, work directory.
require_relative ENV.fetch("JOBCTL_RUBY_APP")
JobctlInterop.connect(ARGV.fetch(0))
JobctlInterop.create_tables
dir = ARGV.fetch(1)
step = ->(name) { File.write(File.join(dir, "#{name}.done"), "1"); sleep 0.05 until File.exist?(File.join(dir, "#{name}.go")) }
Delayed::Worker.max_attempts = 2
step.call("ready")
Delayed::Job.enqueue NewsletterJob.new("hello from ruby", ["a@example.com"]), queue: "rubyq"
Delayed::Job.enqueue ToxicJob.new(7, "bad"), queue: "rubyq"
step.call("enqueued")
Delayed::Worker.new(quiet: true).work_off   # Newsletter runs and is deleted; Toxic fails, is rescheduled
step.call("worked")
Delayed::Job.where(queue: "rubyq").update_all(run_at: Time.now.utc - 1)
Delayed::Worker.new(quiet: true).work_off   # Toxic fails again: max_attempts reached, failed_at set
File.write(File.join(dir, "finished.done"), "1")
'''


@pytest.mark.ruby
@pytest.mark.parametrize("engine", ["sqlite", "pg"])
def test_real_delayed_job_worker_is_followed(engine: str, request: pytest.FixtureRequest, tmp_path: Any) -> None:
    """DJ's own enqueue, worker run, reschedule and permanent failure, as jobctl polls them."""
    import queue
    import shutil
    import threading
    from pathlib import Path

    from test_ruby_interop import RUBY_DIR, ruby_url

    if shutil.which("ruby") is None:
        pytest.fail("ruby is not installed (scripts/test installs Debian's ruby-delayed-job packages)")
    url = request.getfixturevalue("pg_url") if engine == "pg" else f"sqlite:///{tmp_path / 'rb.sqlite3'}"
    script = tmp_path / "worker.rb"
    script.write_text(RUBY_WORKER)
    env = {"JOBCTL_RUBY_APP": str(RUBY_DIR / "app"), "PATH": "/usr/bin:/bin"}
    ruby = subprocess.Popen(["ruby", str(script), ruby_url(url), str(tmp_path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    tail = None

    def wait_file(name: str) -> None:
        deadline = time.monotonic() + 120
        while not (Path(tmp_path) / name).exists():
            if ruby.poll() is not None:
                pytest.fail(f"ruby worker exited: {ruby.stderr.read() if ruby.stderr else ''}")
            assert time.monotonic() < deadline, f"ruby never reached {name}"
            time.sleep(0.05)

    try:
        wait_file("ready.done")
        tail = subprocess.Popen([sys.executable, "-m", "jobctl", "-u", url, "tail", "-o", "jsonl", "--interval", "0.2s"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert tail.stderr is not None and tail.stdout is not None
        line = ""
        while "by polling every" not in line:
            line = tail.stderr.readline()
            assert line or tail.poll() is None, "jobctl tail exited early"
        lines: queue.Queue[str] = queue.Queue()
        out = tail.stdout
        threading.Thread(target=lambda: [lines.put(x) for x in out], daemon=True).start()

        def events_until(*wanted: tuple[str, str]) -> list[tuple[str, str]]:
            """Events up to and including all of `wanted`; a poll may also catch a job locked (start)."""
            got: list[tuple[str, str]] = []
            while not set(wanted) <= set(got):
                e = json.loads(lines.get(timeout=120))
                got.append((e["kind"], e["job_class"]))
                if e["kind"] == "fail":
                    assert "boom: poisoned payload #7" in e["detail"]
            return got

        (tmp_path / "ready.go").write_text("1")
        wait_file("enqueued.done")
        assert events_until(("enqueue", "NewsletterJob"), ("enqueue", "ToxicJob")) == [
            ("enqueue", "NewsletterJob"), ("enqueue", "ToxicJob")]
        (tmp_path / "enqueued.go").write_text("1")
        wait_file("worked.done")
        seen = events_until(("done", "NewsletterJob"), ("retry", "ToxicJob"))
        assert [e for e in seen if e[0] != "start"] in (
            [("done", "NewsletterJob"), ("retry", "ToxicJob")], [("retry", "ToxicJob"), ("done", "NewsletterJob")])
        (tmp_path / "worked.go").write_text("1")
        wait_file("finished.done")
        assert [e for e in events_until(("fail", "ToxicJob")) if e[0] != "start"] == [("fail", "ToxicJob")]
        import signal

        tail.send_signal(signal.SIGINT)
        assert tail.wait(timeout=60) == 0
    finally:
        for p in (tail, ruby):
            if p is not None and p.poll() is None:
                p.kill()
                p.communicate(timeout=30)

