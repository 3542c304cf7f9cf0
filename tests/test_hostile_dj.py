"""Every jobctl command against the hostile corpus in real delayed_jobs tables (SQLite, PostgreSQL).

Same contract as test_hostile_resque.py: bounded time and peak RSS, no raw control characters in
stdout/stderr, markup shown literally, bad rows marked, read commands leave the table
byte-for-byte unchanged, nothing in a `!!python/...` handler runs (a canary directory stays
empty), and requeue/discard act on exactly the selected row ids.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dj_data import file_digest, sqlite_path, table_checksum
from hostile.checks import (
    Measured,
    assert_bounded,
    assert_safe,
    no_traceback,
    run_inprocess,
    run_measured,
    unsafe_chars,
)
from hostile.corpus import billion_laughs, performable
from hostile.loaders import FAILED_COPIES, HOSTILE_QUEUE, DJCorpus, load_dj
from servers import drop_database, make_database

SECONDS = 30.0
RSS_MB = 350.0


def strict_json(data: bytes) -> Any:
    def refuse(token: str) -> Any:
        raise AssertionError(f"non-JSON token {token} in output")

    return json.loads(data, parse_constant=refuse)


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DJCorpus, Path]]:
    tmp = tmp_path_factory.mktemp(f"hostile-dj-{request.param}")
    canary = tmp / "canary"
    canary.mkdir()
    if request.param == "sqlite":
        yield load_dj(f"sqlite:///{tmp / 'hostile.sqlite3'}", canary), canary
        return
    url, name = make_database("pg")
    try:
        yield load_dj(url, canary), canary
    finally:
        drop_database("pg", name)


def _digest(url: str) -> str:
    return file_digest(sqlite_path(url)) if url.startswith("sqlite") else table_checksum(url)


def checked(corpus: Any, *args: str, ok: tuple[int, ...] = (0,), allow_cr: bool = False) -> Measured:
    loaded, canary = corpus
    before = _digest(loaded.url)
    m = run_measured("-u", loaded.url, *args, timeout=120)
    assert m.returncode in ok, m.describe()
    no_traceback(m)
    assert_bounded(m, seconds=SECONDS, rss_mb=RSS_MB)
    assert_safe(m, allow_cr=allow_cr)
    assert _digest(loaded.url) == before, f"{args} changed the table"
    assert not list(canary.iterdir()), f"{args}: a handler ran code: {list(canary.iterdir())}"
    return m


READ_COMMANDS = [
    ("queues",),
    ("peek", HOSTILE_QUEUE, "-n", "100"),
    ("peek", HOSTILE_QUEUE, "-n", "100", "-o", "json"),
    ("peek", HOSTILE_QUEUE, "-n", "100", "--raw"),
    ("peek", HOSTILE_QUEUE, "-n", "100", "--state", "ready", "--state", "retrying", "--grep", "pwned|laughs"),
    ("failed", "-n", "0"),
    ("failed", "-n", "0", "-o", "jsonl"),
    ("failed", "--group-by", "exception"),
    ("workers",),
    ("stats", "-o", "json"),
    ("requeue", "--all", "--dry-run"),
    ("discard", "--all", "--dry-run", "-o", "json"),
    ("unlock", "--stuck", "--dry-run"),
    ("tail", "--duration", "2s", "--interval", "1s"),
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a))
def test_read_commands_are_bounded_safe_and_write_nothing(corpus: Any, args: tuple[str, ...]) -> None:
    m = checked(corpus, *args)
    if args[0] != "tail":
        assert m.stdout.strip(), m.describe()


def test_csv_is_safe(corpus: Any) -> None:
    checked(corpus, "peek", HOSTILE_QUEUE, "-n", "100", "-o", "csv", allow_cr=True)


@pytest.mark.parametrize("metric", ["failed", "size", "stuck", "stale-workers", "record-not-found"])
def test_alert_on_the_corpus(corpus: Any, metric: str) -> None:
    m = checked(corpus, "alert", "-m", metric, "--no-state", ok=(0, 1, 2, 3))
    assert m.out.startswith("JOBCTL "), m.describe()


def test_peek_marks_exactly_the_bad_handlers(corpus: Any) -> None:
    loaded, _ = corpus
    rows = {int(r["id"]): r for r in strict_json(checked(corpus, "peek", HOSTILE_QUEUE, "-n", "100", "-o", "json").stdout)}
    assert set(loaded.handlers) <= set(rows)
    for i, e in loaded.handlers.items():
        if e.bad is True:
            assert rows[i]["parse_error"], e.name
        elif e.bad is False:
            assert rows[i]["parse_error"] is None, (e.name, rows[i]["parse_error"])
    assert rows[loaded.id_of("escape_method_pwned")]["args"] == ["\x1b]0;pwned\x07\x1b[2J[bold red]x[/]"]


def test_peek_table_prints_markup_literally_and_escapes_controls(corpus: Any) -> None:
    out = checked(corpus, "peek", HOSTILE_QUEUE, "-n", "100").out
    assert "\"[bold red]x[/]\"" in out and "\"[/]\"" in out  # args cell: markup text, not applied
    assert "\\u001b]0;pwned\\u0007" in out  # arguments are shown as JSON, escapes included
    assert "BAD (Bomb)" in out


def test_failed_rows_and_garbage_times_are_marked(corpus: Any) -> None:
    loaded, _ = corpus
    rows = {int(r["id"]): r for r in strict_json(checked(corpus, "failed", "-n", "0", "-o", "json").stdout)}
    assert set(loaded.failed) <= set(rows)
    assert rows[next(i for i, n in loaded.failed.items() if n == "yaml_alias_bomb")]["parse_error"]
    for i in loaded.garbage_times:
        row = rows.get(i)
        if row is not None:  # the garbage failed_at rows are failed rows with an unreadable time
            assert row["failed_at"] is None and "unreadable failed_at" in row["parse_error"], row
    if loaded.url.startswith("sqlite"):
        assert sum(1 for i in loaded.garbage_times if i in rows) == 3


def test_every_hostile_queue_name(corpus: Any) -> None:
    loaded, _ = corpus
    listing = checked(corpus, "queues").out
    assert "ctl\\x1b[2J\\x07q" in listing and "bidi\\u202eeuq" in listing and "[bold red]q[/]" in listing
    workers = checked(corpus, "workers").out
    assert "host:ctl\\x1b[2J\\x07q" in workers
    from hostile.corpus import HOSTILE_NAMES

    for family, name in HOSTILE_NAMES.items():
        m = run_inprocess("-u", loaded.url, "peek", name, "--state", "running")  # each row is locked by a worker
        assert m.returncode == 0, (family, m.err)
        assert not unsafe_chars(m.stdout) and not unsafe_chars(m.stderr), family
        assert f'"{family}"' in m.out


def test_show_every_row(corpus: Any) -> None:
    loaded, canary = corpus
    ids = sorted(loaded.handlers) + sorted(loaded.failed) + sorted(loaded.named.values()) + loaded.garbage_times
    for i in ids:
        e = loaded.handlers.get(i)
        big = e is not None and e.big
        args = ("show", str(i), "--raw", "-o", "json" if i % 3 == 0 else "table")
        m = checked(corpus, *args) if big else run_inprocess("-u", loaded.url, *args)
        assert m.returncode == 0, (i, m.err)
        assert not unsafe_chars(m.stdout) and not unsafe_chars(m.stderr), (i, unsafe_chars(m.stdout))
        if "json" in args:
            strict_json(m.stdout)
    assert not list(canary.iterdir())


# ----------------------------------------------------------------------------- must-show


def test_alias_bomb_row_peeks_fast_marked_and_small(sqlite_url: str, pg_url: str, tmp_path: Path) -> None:
    """A Delayed Job row whose handler is a billion-laughs document: peek within 2 s, row marked,
    peak RSS under 200 MB (both on SQLite and PostgreSQL)."""
    from dj_data import load_fixture
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    bomb = "--- !ruby/struct:Bomb\n" + "\n".join("  " + ln for ln in billion_laughs().splitlines()) + "\n"
    for url in (sqlite_url, pg_url):
        load_fixture(url, rows=[])
        eng = create_engine(url, poolclass=NullPool)
        t = "2026-11-27 19:00:00" if url.startswith("sqlite") else datetime(2026, 11, 27, 19)
        with eng.begin() as c:
            for i, (handler, queue) in enumerate(((bomb, "bombs"), (performable(":plain"), "plain")), 1):
                c.execute(text("INSERT INTO delayed_jobs (id, priority, attempts, handler, queue, run_at, created_at, "
                               "updated_at) VALUES (:i, 0, 0, :h, :q, :t, :t, :t)"), {"i": i, "h": handler, "q": queue, "t": t})
        eng.dispose()
        # The same peek of a harmless row measures this machine's start-up + driver import cost right now.
        plain = min(run_measured("-u", url, "peek", "plain", "-o", "json").seconds for _ in range(2))
        runs = [run_measured("-u", url, "peek", "bombs", "-o", "json") for _ in range(2)]
        m = min(runs, key=lambda r: r.seconds)
        assert m.returncode == 0, m.describe()
        rows = strict_json(m.stdout)
        assert len(rows) == 1 and "alias bomb" in rows[0]["parse_error"]
        assert max(r.max_rss_mb for r in runs) < 200, m.describe()
        assert m.seconds < max(2.0, plain + 0.5), f"peek took {m.seconds:.2f}s (a plain row: {plain:.2f}s)"
        table = run_measured("-u", url, "peek", "bombs")
        assert "BAD (Bomb)" in table.out and table.max_rss_mb < 200
        assert_safe(table)
        t0 = time.monotonic()  # the same peek in-process: the command's own cost, no start-up
        assert "alias bomb" in run_inprocess("-u", url, "peek", "bombs", "-o", "json").out
        assert time.monotonic() - t0 < 2.0


# ----------------------------------------------------------------------------- exact rows


def _state(url: str) -> dict[int, tuple[Any, ...]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    eng = create_engine(url, poolclass=NullPool)
    with eng.connect() as c:
        handler = "CAST(handler AS BLOB)" if url.startswith("sqlite") else "handler"  # SQLite: may be non-UTF-8
        rows = c.execute(text(f"SELECT id, failed_at, attempts, locked_by, {handler} FROM delayed_jobs")).all()
    eng.dispose()
    return {int(r[0]): tuple(r[1:]) for r in rows}


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_requeue_and_discard_touch_exactly_the_selected_rows(kind: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    name = None
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'rw.sqlite3'}"
    else:
        url, name = make_database("pg")
    try:
        loaded = load_dj(url, canary)
        before = _state(url)
        hostile_failed = [i for i, n in loaded.failed.items() if n in ("yaml_alias_bomb", "escape_method_pwned",
                                                                           "python_apply_os_system")]
        args = [a for i in hostile_failed for a in ("--id", str(i))]
        m = run_measured("-u", url, "requeue", *args, "--yes", "-o", "json")
        assert m.returncode == 0, m.describe()
        assert_safe(m)
        assert strict_json(m.stdout)["done"] == len(hostile_failed)
        after = _state(url)
        for i, row in before.items():
            if i in hostile_failed:
                assert after[i][0] is None and after[i][1] == 0 and after[i][2] is None, (i, after[i])
                assert after[i][3] == row[3]  # the handler bytes are untouched
            else:
                assert after[i] == row, i
        gone = [i for i, n in loaded.failed.items() if n in ("invalid_yaml", "duplicate_a")]
        m = run_measured("-u", url, "discard", *[a for i in gone for a in ("--id", str(i))], "--yes")
        assert m.returncode == 0, m.describe()
        assert_safe(m)
        final = _state(url)
        assert set(final) == set(after) - set(gone)
        assert all(final[i] == after[i] for i in final)
        assert set(FAILED_COPIES) >= {loaded.failed[i] for i in gone}
        assert not list(canary.iterdir())
    finally:
        if name:
            drop_database("pg", name)
