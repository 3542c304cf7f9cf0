"""`jobctl tail`: job events as they happen (Resque: Redis MONITOR; Delayed Job: polling), or
decoded from a saved `redis-cli monitor` capture with `--from FILE` (no target needed).

Options select events (--queue --class --event --client --db --namespace --all-keys), shape the
output (pretty colours per kind, `-o jsonl`, `--raw` MONITOR lines) and stop it (--count,
--duration, Ctrl-C). A summary (per-queue counts and rates, top classes and clients, unparsed
lines) goes to stderr at the end, so stdout stays pure events.
"""

from __future__ import annotations

import re
import sys
import time
from typing import Annotated, Any

import typer

from jobctl.cli.common import STATE, backend, err, examples

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$", re.I)
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
          "g": 1024**3, "gb": 1024**3, "gib": 1024**3}


def parse_size(text: str) -> int:
    """`64mb`, `512k`, `1.5GiB`, `1000` (bytes) -> bytes (binary units)."""
    m = _SIZE.match(text)
    if not m:
        raise typer.BadParameter(f"{text!r} is not a size (examples: 64mb, 512kb, 1000)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def resolve_kinds(values: list[str] | None, *, dj: bool, show_unparsed: bool) -> frozenset[str]:
    """--event values (repeatable, comma-separated; `all`, `default`) -> the kinds to show."""
    from jobctl.backends.delayed_job.follow import DJ_KINDS
    from jobctl.errors import UsageError
    from jobctl.parse.monitor_events import DEFAULT_KINDS, KINDS

    known = frozenset(DJ_KINDS) if dj else frozenset(KINDS)
    default = frozenset(DJ_KINDS) if dj else DEFAULT_KINDS
    kinds: set[str] = set()
    for v in values or ["default"]:
        for name in (p.strip().lower() for p in v.split(",")):
            if not name:
                continue
            if name == "all":
                kinds |= known
            elif name == "default":
                kinds |= default
            elif name in known:
                kinds.add(name)
            else:
                raise UsageError(f"--event {name!r}: use all, default or one of {', '.join(sorted(known))}")
    if show_unparsed and not dj:
        kinds.add("unparsed")
    return frozenset(kinds)


def tail(
    from_: Annotated[str | None, typer.Option("--from", "-f", metavar="FILE", help="Decode a saved `redis-cli monitor` log instead of a live target ('-' = stdin; gzip accepted).")] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", "-q", metavar="QUEUE", help="Only events of this queue; globs * ? allowed (repeatable).")] = None,
    klass: Annotated[list[str] | None, typer.Option("--class", "-c", metavar="CLASS", help="Only this job class; globs allowed (repeatable).")] = None,
    event: Annotated[list[str] | None, typer.Option("--event", "-e", metavar="KINDS", help="Event kinds, comma-separated: enqueue,reserve,start,done,fail,requeue,remove,… or all / default (repeatable).")] = None,
    client: Annotated[list[str] | None, typer.Option("--client", metavar="CLIENT", help="Only commands from this client: ip:port, ip (any port), [v6]:port, unix:*, lua; globs allowed (repeatable).")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", metavar="NS", help="Resque namespace (default: the target's, else resque; colons allowed).")] = None,
    all_keys: Annotated[bool, typer.Option("--all-keys", help="Also show commands outside the namespace (as `other` events).")] = False,
    db: Annotated[int | None, typer.Option("--db", min=0, metavar="N", help="Only this Redis db (live default: the target's db; --from: all).")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Print the matching MONITOR lines themselves (control characters escaped).")] = False,
    fmt: Annotated[str, typer.Option("--format", "-o", metavar="FORMAT", help="pretty (coloured lines) or jsonl (one event object per line).")] = "pretty",
    show_unparsed: Annotated[bool, typer.Option("--show-unparsed", help="Also print lines that are not MONITOR output (always counted).")] = False,
    count: Annotated[int | None, typer.Option("--count", "-n", min=1, metavar="N", help="Stop after this many events shown.")] = None,
    duration: Annotated[str | None, typer.Option("--duration", "-d", metavar="DURATION", help="Stop after this long (30s, 5m); with --from, in the capture's own time.")] = None,
    interval: Annotated[str, typer.Option("--interval", metavar="DURATION", help="Delayed Job: poll period. Resque: how often the output-buffer guard looks.")] = "1s",
    max_omem: Annotated[str, typer.Option("--max-omem", metavar="SIZE", help="Resque: disconnect when Redis holds this much unsent MONITOR output for jobctl.")] = "64mb",
    max_lag: Annotated[str, typer.Option("--max-lag", metavar="DURATION", help="Resque: disconnect when jobctl falls this far behind the server (0 = off).")] = "60s",
    summary: Annotated[bool, typer.Option("--summary/--no-summary", help="Print the summary on stderr at the end.")] = True,
) -> None:
    """Show job events as they happen: Resque through Redis MONITOR, Delayed Job by polling.

    MONITOR costs the Redis server throughput while it runs: jobctl warns once, and disconnects
    itself when Redis buffers more than --max-omem of output for it or it lags --max-lag behind.
    With --from FILE no server is touched: the capture is decoded exactly (binary-safe).
    """
    from jobctl.cli.tail_output import EventWriter
    from jobctl.errors import UsageError
    from jobctl.timeutil import parse_duration

    if fmt not in ("pretty", "jsonl"):
        raise UsageError(f"--format {fmt!r}: use pretty or jsonl")
    if raw and fmt == "jsonl":
        raise UsageError("--raw prints MONITOR lines; it cannot be combined with -o jsonl")
    try:
        limit_s = parse_duration(duration).total_seconds() if duration else None
        period = parse_duration(interval).total_seconds()
        lag = parse_duration(max_lag).total_seconds()
    except ValueError as e:
        raise UsageError(str(e)) from None
    omem = parse_size(max_omem)
    b = None if from_ is not None else backend()
    dj = b is not None and b.kind == "delayed_job"
    if dj and raw:
        raise UsageError("--raw needs MONITOR lines (Resque); Delayed Job is followed by polling")
    kinds = resolve_kinds(event, dj=dj, show_unparsed=show_unparsed)
    writer = EventWriter("raw" if raw else fmt)
    state: dict[str, Any] = {"decoder": None, "started": time.monotonic()}
    deadline = state["started"] + limit_s if limit_s is not None and from_ is None else None

    def stop() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    events, db_filter = _open_source(b, from_, dj=dj, kinds=kinds, namespace=namespace, all_keys=all_keys,
                                     keep_raw=raw or show_unparsed, db=db, stop=stop, period=period, omem=omem,
                                     lag=lag, state=state)
    _run(events, writer, kinds=kinds, queue=queue, klass=klass, client=client, db=db_filter, count=count,
         capture_limit=limit_s if from_ is not None else None, summary=summary, live=from_ is None, state=state)


def _open_source(b: Any, from_: str | None, *, dj: bool, kinds: frozenset[str], namespace: str | None,
                 all_keys: bool, keep_raw: bool, db: int | None, stop: Any, period: float, omem: int,
                 lag: float, state: dict[str, Any]) -> tuple[Any, int | None]:
    if dj:
        from jobctl.backends.delayed_job.follow import follow as dj_follow

        return dj_follow(b, interval=period, stop=stop, notice=err), None
    from jobctl.parse.monitor_events import EventDecoder

    ns = namespace if namespace is not None else (STATE.namespace if from_ is not None or b is None
                                                  else b.target.namespace)
    decoder = EventDecoder(ns if ns is not None else "resque", all_keys=all_keys, kinds=kinds, keep_raw=keep_raw)
    state["decoder"] = decoder
    if from_ is not None:
        from jobctl.parse.monitor import iter_capture, open_capture
        from jobctl.parse.monitor_events import decode_lines

        try:
            stream = open_capture(from_)
        except OSError as e:
            from jobctl.errors import UsageError

            raise UsageError(f"--from {from_}: {e.strerror or e}") from None
        state["stream"] = stream
        return decode_lines(iter_capture(stream), decoder), db
    from jobctl.backends.resque.follow import follow as resque_follow

    if db is None:
        db = int(b.redis.connection_pool.connection_kwargs.get("db") or 0)
    return resque_follow(b, decoder=decoder, stop=stop, interval=period, max_omem=omem, max_lag=lag or None,
                         notice=err), db


class _DeferredInterrupt:
    """Ctrl-C inside `with` waits for the block to end, then raises KeyboardInterrupt as usual (so
    an event is never printed without being counted in the summary, or the other way round).
    Outside a block Ctrl-C interrupts at once, e.g. a MONITOR read waiting for the next line."""

    def __init__(self) -> None:
        import signal
        import threading

        self.active = False
        self.pending = False
        self._previous: Any = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)

    def _handler(self, signum: int, frame: Any) -> None:
        if self.active:
            self.pending = True
            return
        raise KeyboardInterrupt

    def __enter__(self) -> None:
        self.active = True

    def __exit__(self, *exc: object) -> None:
        self.active = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def uninstall(self) -> None:
        if self._previous is not None:
            import signal

            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def _run(events: Any, writer: Any, *, kinds: frozenset[str], queue: list[str] | None, klass: list[str] | None,
         client: list[str] | None, db: int | None, count: int | None, capture_limit: float | None,
         summary: bool, live: bool, state: dict[str, Any]) -> None:
    from jobctl.parse.event_stream import EventFilter, TailSummary

    flt = EventFilter(kinds=kinds, queues=tuple(queue or ()), classes=tuple(klass or ()),
                      clients=tuple(client or ()), db=db)
    tally = TailSummary()
    shown = 0
    first = None
    failure: BaseException | None = None
    defer_ctrl_c = _DeferredInterrupt()
    try:
        for e in events:
            if capture_limit is not None and e.kind != "unparsed":
                first = first or e.ts
                if (e.ts - first).total_seconds() > capture_limit:
                    break
            if not flt.matches(e):
                continue
            with defer_ctrl_c:  # printed and counted together: the summary agrees with the output
                writer.write(e)
                tally.add(e)
                shown += 1
            if count is not None and shown >= count:
                break
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        raise
    except Exception as e:  # noqa: BLE001 - print the summary of what was seen, then report the error
        failure = e
    finally:
        defer_ctrl_c.uninstall()
        close = getattr(events, "close", None)
        if close is not None:
            close()
        stream = state.get("stream")
        if stream is not None and stream is not getattr(sys.stdin, "buffer", None):
            stream.close()
    if summary:
        from jobctl.cli.tail_output import summary_lines

        dec = state.get("decoder")  # None when polling Delayed Job: no lines
        lines = (dec.lines + dec.unparsed) if dec is not None else None
        rep = tally.report(lines=lines, unparsed=dec.unparsed if dec is not None else 0,
                           elapsed_s=time.monotonic() - state["started"] if live else None)
        for line in summary_lines(rep):
            print(line, file=sys.stderr)
        sys.stderr.flush()
    if failure is not None:
        raise failure


def register(app: typer.Typer) -> None:
    app.command(
        "tail",
        help="Job events as they happen (Resque: MONITOR, Delayed Job: polling) or from a saved MONITOR log.",
        epilog=examples(
            "jobctl -u redis://127.0.0.1:6379/0 tail --queue low --event enqueue,fail --duration 30s",
            "jobctl tail --from monitor.log.gz -o jsonl > events.jsonl",
            "redis-cli monitor | jobctl tail --from - --class 'Mailer*'",
            "jobctl -u postgresql://app@db/app tail --interval 2s --event fail,retry",
        ),
    )(tail)
