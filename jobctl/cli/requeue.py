"""`jobctl requeue` and `jobctl discard`: act on exactly the failures the shared filters select.

Both take the same filters as `jobctl failed` (so `failed` with the same options lists exactly
what they would touch), refuse to run without a filter unless `--all`, preview with `--dry-run`,
ask for confirmation (count, per-queue and per-class breakdown, 5-row sample) unless `--yes`,
refuse without a terminal and without `--yes`, and are refused on read-only targets.

The confirmation and the run share one snapshot of the store: entries added after the preview
(new failures) are never touched, even if they match. The confirm/preview/run helpers at the end
are shared with `jobctl unlock`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobctl.cli.common import (
    ClassFOpt,
    ErrorFOpt,
    ExceptionFOpt,
    FormatOpt,
    IdFOpt,
    QueueFOpt,
    RetriedFOpt,
    SinceFOpt,
    UntilFOpt,
    backend,
    build_failure_filter,
    examples,
)

AllOpt = Annotated[bool, typer.Option("--all", help="Act on every failure (needed when no filter is given).")]
MLimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=1,
                                               help="At most N entries: the newest N that match, as `failed -n N` lists them.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Only show how many entries would change, and a sample.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal).")]
StallOpt = Annotated[float | None, typer.Option(
    "--max-stall-ms", min=0.001, metavar="MS",
    help="Resque: never block Redis longer than this in one call. Removing entries deep inside a very long "
         "failed list costs a scan (~0.1 ms per 1,000 entries from the nearer end); batches over the limit are "
         "skipped and reported. Default: the target's max_stall_ms, else 10.")]


def _filter(queue: Any, klass: Any, exception: Any, error: Any, since: Any, until: Any, retried: Any, ids: Any,
            limit: int | None, all_: bool, verb: str) -> Any:
    from jobctl.errors import UsageError

    flt = build_failure_filter(queue=queue, klass=klass, exception=exception, error=error, since=since,
                               until=until, retried=retried, ids=ids, limit=limit)
    if flt.is_empty() and not all_:
        raise UsageError(f"no filter given: pass filters (see `jobctl {verb} --help`) or --all to {verb} every failure")
    return flt


def requeue(
    queue: QueueFOpt = None,
    klass: ClassFOpt = None,
    exception: ExceptionFOpt = None,
    error: ErrorFOpt = None,
    since: SinceFOpt = None,
    until: UntilFOpt = None,
    retried: RetriedFOpt = None,
    ids: IdFOpt = None,
    all_: AllOpt = False,
    limit: MLimitOpt = None,
    to_queue: Annotated[str | None, typer.Option("--to-queue", help="Requeue into this queue instead of each job's own.")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Resque: keep the failure entry and stamp retried_at, like Resque's own Retry.")] = False,
    clear_error: Annotated[bool, typer.Option("--clear-error", help="Delayed Job: also clear last_error.")] = False,
    max_stall_ms: StallOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    fmt: FormatOpt = "table",
) -> None:
    """Put failed jobs back on their queue: exactly the set the filters select, each exactly once.

    Resque: the stored payload bytes are pushed to the tail of the job's queue and the failure
    entry is removed, atomically per batch after verifying each entry is still the one read
    (--keep: Resque's own Retry semantics). Delayed Job: failed rows get failed_at, attempts,
    locks cleared and run_at = now, one transaction per batch, only while still failed.
    Exit 1 when some selected entries were skipped (listed with the reason).
    """
    flt = _filter(queue, klass, exception, error, since, until, retried, ids, limit, all_, "requeue")
    b = backend()
    mod = write_module(b)
    extra = _stall_option(b, max_stall_ms)

    def run(dry: bool, progress: Any, snap: Any) -> Any:
        return mod.requeue(b, flt, to_queue=to_queue, keep=keep, clear_error=clear_error, dry_run=dry,
                           progress=progress, snapshot=snap, **extra)

    run_mutation(b, "requeue", run, lambda: mod.take_snapshot(b, flt), yes=yes, dry_run=dry_run, fmt=fmt,
                 what="failures" if b.kind == "resque" else "failed jobs")


def discard(
    queue: QueueFOpt = None,
    klass: ClassFOpt = None,
    exception: ExceptionFOpt = None,
    error: ErrorFOpt = None,
    since: SinceFOpt = None,
    until: UntilFOpt = None,
    retried: RetriedFOpt = None,
    ids: IdFOpt = None,
    all_: AllOpt = False,
    limit: MLimitOpt = None,
    max_stall_ms: StallOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    fmt: FormatOpt = "table",
) -> None:
    """Delete failed jobs for good: exactly the set the filters select.

    Resque: the failure entries are removed (verified byte for byte, atomically per batch);
    `--retried` removes only already-retried entries, like Resque's "Clear Retried Jobs".
    Delayed Job: the failed rows are deleted, one transaction per batch, only while still failed.
    """
    flt = _filter(queue, klass, exception, error, since, until, retried, ids, limit, all_, "discard")
    b = backend()
    mod = write_module(b)
    extra = _stall_option(b, max_stall_ms)

    def run(dry: bool, progress: Any, snap: Any) -> Any:
        return mod.discard(b, flt, dry_run=dry, progress=progress, snapshot=snap, **extra)

    run_mutation(b, "discard", run, lambda: mod.take_snapshot(b, flt), yes=yes, dry_run=dry_run, fmt=fmt,
                 what="failures" if b.kind == "resque" else "failed jobs")


def register(app: typer.Typer) -> None:
    app.command(
        "requeue",
        help="Requeue failed jobs the filters select (same filters as `failed`), atomically and exactly once.",
        epilog=examples("jobctl -t prod requeue --class ReportJob --since 2h --dry-run",
                        "jobctl -t prod requeue --exception Timeout::Error --yes -o json",
                        "jobctl -t prod requeue --id 3f2a9c1e0b7d --to-queue low",
                        "jobctl -u sqlite:///db/production.sqlite3 requeue --queue mailers --clear-error"),
    )(requeue)
    app.command(
        "discard",
        help="Delete failed jobs the filters select (same filters as `failed`); --retried = clear retried.",
        epilog=examples("jobctl -t prod discard --retried --yes",
                        "jobctl -t prod discard --class LegacyCleanupJob --until 7d --dry-run"),
    )(discard)


# ---------------------------------------------------------------------------- shared with `unlock`


def _stall_option(b: Any, max_stall_ms: float | None) -> dict[str, Any]:
    """--max-stall-ms is a Resque limit (Delayed Job batches are SQL transactions: no list scans)."""
    if max_stall_ms is None:
        return {}
    if b.kind != "resque":
        from jobctl.errors import UsageError

        raise UsageError("--max-stall-ms applies to Resque targets only (Delayed Job batches do not scan lists)")
    return {"max_stall_ms": max_stall_ms}


def write_module(b: Any) -> Any:
    """The backend's write module (jobctl.backends.<kind>.write): requeue/discard/unlock + snapshots."""
    import importlib

    return importlib.import_module(f"jobctl.backends.{b.kind}.write")


def run_mutation(b: Any, verb: str, run: Any, take_snapshot: Any, *, yes: bool, dry_run: bool, fmt: str,
                 what: str) -> None:
    """Dry run, or: refuse on read-only, snapshot, preview + confirm (unless --yes), run with a
    progress bar, print the result. Exit 1 when entries were skipped or the run stopped early.

    `run(dry_run, progress, snapshot)` -> MutationResult.
    """
    import sys

    from jobctl.backends.base import require_writable
    from jobctl.cli.common import progress_bar
    from jobctl.errors import UsageError

    if dry_run:  # a preview writes nothing, so it is allowed on read-only targets too
        show_result(run(True, None, None), fmt, verb, what)
        return
    require_writable(b.target, verb)
    snap = take_snapshot()
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"refusing to {verb} without confirmation: stdin is not a terminal; pass --yes "
                             "(or --dry-run to preview)")
        preview = run(True, None, snap)
        if preview.selected == 0:
            show_result(preview, fmt, verb, what)
            return
        show_preview(preview, verb, what)
        if not typer.confirm(f"{verb.capitalize()} these {preview.selected} {what}?", default=False, err=True):
            from jobctl.cli.common import err

            err("aborted; nothing was changed")
            raise typer.Exit(1)
    with progress_bar(f"{verb}", None) as update:
        result = run(False, update, snap)
    show_result(result, fmt, verb, what)
    if result.skipped or not result.complete:
        raise typer.Exit(1)


_PAST = {"requeue": "requeued", "discard": "discarded", "unlock": "unlocked"}


def _headline(r: Any, verb: str, what: str) -> str:
    if r.dry_run:
        s = f"would {verb} {r.selected} {what}"
    else:
        s = f"{_PAST.get(verb, verb + 'd')} {r.done} of {r.selected} selected {what}"
    if r.skipped:
        s += f" ({r.skipped} {'would be ' if r.dry_run else ''}skipped)"
    return s


def _counts(d: dict[str, int], key: str, top: int = 20) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{key: k, "count": v} for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))]
    if len(rows) > top:
        rest = sum(int(r["count"]) for r in rows[top:])
        rows = [*rows[:top], {key: f"… {len(rows) - top} more", "count": rest}]
    return rows


def _short_time(v: Any) -> str:
    from jobctl.render.fields import format_iso_when

    return format_iso_when(v).split(" (", 1)[0]


def _sample_columns() -> list[Any]:
    from jobctl.render.fields import first_line
    from jobctl.render.output import Column

    return [Column("id", "ID", no_wrap=True), Column("queue", "QUEUE", no_wrap=True),
            Column("target", "TO QUEUE", no_wrap=True), Column("class", "CLASS", max_width=40),
            Column("failed_at", "FAILED AT", _short_time, no_wrap=True),
            Column("locked_at", "LOCKED AT", _short_time, no_wrap=True), Column("locked_by", "LOCKED BY"),
            Column("exception", "EXCEPTION", max_width=30),
            Column("error", "ERROR", lambda v: first_line(str(v), 60), max_width=60)]


SKIPPED_SHOWN = 10  # skipped entries listed in a table (JSON output lists up to 1,000)


def _print_details(r: Any, out: Any) -> None:
    from jobctl.render.output import Column, emit

    if r.by_queue:
        emit(_counts(r.by_queue, "queue"), [Column("queue", "QUEUE"), Column("count", "COUNT", justify="right")],
             "table", out=out)
    if r.by_class:
        emit(_counts(r.by_class, "class"), [Column("class", "CLASS"), Column("count", "COUNT", justify="right")],
             "table", out=out)
    if r.sample:
        present = {k for row in r.sample for k in row if row.get(k) is not None}
        moved = any(row.get("target") not in (None, row.get("queue")) for row in r.sample)
        cols = [c for c in _sample_columns() if c.key in present and (c.key != "target" or moved)]
        emit(r.sample, cols, "table", title=f"sample ({len(r.sample)} of {r.selected})", out=out)
    if r.skipped_entries:
        shown = r.skipped_entries[:SKIPPED_SHOWN]
        title = "skipped" if r.skipped <= len(shown) else f"skipped ({len(shown)} of {r.skipped})"
        emit(shown, [Column("id", "ID"), Column("queue", "QUEUE"), Column("reason", "SKIPPED BECAUSE")],
             "table", title=title, out=out)
        if r.skipped > len(shown):
            print(f"… {r.skipped - len(shown)} more skipped (-o json lists the first "
                  f"{len(r.skipped_entries)} with their reasons)", file=out)


def show_preview(r: Any, verb: str, what: str) -> None:
    """The confirmation screen, on stderr (stdout stays clean for -o json)."""
    import sys

    from jobctl.safe import visible

    print(visible(f"about to {verb} {r.selected} {what}" + (f" ({r.skipped} of them would be skipped)"
                                                            if r.skipped else "")), file=sys.stderr)
    _print_details(r, sys.stderr)
    for note in r.notes:
        print(visible(f"note: {note}"), file=sys.stderr)


def show_result(r: Any, fmt: str, verb: str, what: str) -> None:
    import sys

    from jobctl.render.output import emit_one
    from jobctl.safe import visible

    if fmt != "table":
        emit_one(r, fmt)
        return
    print(visible(_headline(r, verb, what)))
    _print_details(r, sys.stdout)
    for note in r.notes:
        print(visible(f"note: {note}"), file=sys.stderr)
