"""Benchmark: one `jobctl top` refresh tick on a Resque with 1,000 queues — time per tick and Redis
commands per tick — against a raw baseline in the same process.

    .venv/bin/python bench/tui_tick.py                        # 1,000 queues, 31 failures, 20 rounds
    .venv/bin/python bench/tui_tick.py --queues 1000 --failures 20000 --rounds 10

A private redis-server is started (and stopped) by the script, loaded with the real Resque fixture
(workers, 31 failures) plus `--queues` queues of 0-6 jobs each and `--failures` copies of fixture
failure records. Each round first pushes one job onto 10 queues (sizes move, as in production).

Cases (medians over the rounds):
* raw      — the floor: one redis-py pipeline of LLEN for every queue + GET of the two counters,
             nothing parsed (what any tool must at least do to show sizes and rates);
* tick     — `Poller.tick()`: backend.queues() + workers() + count_failures() + counters; the
             failure list is not re-read (its length did not change);
* rescan   — the same tick after `invalidate_failures()` (what follows a requeue/discard, or a
             change in the failure count): adds the newest-first grouping scan;
* apply    — updating the widgets with a tick's snapshot inside the running app (headless
             `run_test`, 160x48): DataTable cells of 1,000 queues, workers, failure groups.
Commands per tick are read from INFO commandstats (CONFIG RESETSTAT before each tick; the INFO call
itself is excluded).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def fill(r: Any, queues: int, failures: int) -> list[str]:
    from resque_data import load_dump

    load_dump(r)
    names = [f"bench-{i:04d}" for i in range(queues)]
    pipe = r.pipeline(transaction=False)
    pipe.sadd("resque:queues", *names)
    for i, name in enumerate(names):
        if i % 7:
            pipe.rpush(f"resque:queue:{name}", *[b'{"class":"BenchJob","args":[%d]}' % j for j in range(i % 7)])
    pipe.execute()
    if failures:
        sample = r.lrange("resque:failed", 0, -1)
        batch = [sample[i % len(sample)] for i in range(failures)]
        for i in range(0, len(batch), 1000):
            r.rpush("resque:failed", *batch[i:i + 1000])
    return names


def commands_since_reset(r: Any) -> tuple[int, dict[str, int]]:
    stats = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in r.info("commandstats").items()}
    stats = {k: v for k, v in stats.items() if not k.startswith(("info", "config"))}
    return sum(stats.values()), stats


def raw_tick(r: Any, names: list[str]) -> None:
    pipe = r.pipeline(transaction=False)
    for n in names:
        pipe.llen(f"resque:queue:{n}")
    pipe.get("resque:stat:processed")
    pipe.get("resque:stat:failed")
    pipe.execute()


def nudge(r: Any, names: list[str], round_no: int) -> None:
    pipe = r.pipeline(transaction=False)
    for k in range(10):
        pipe.rpush(f"resque:queue:{names[(round_no * 37 + k * 101) % len(names)]}", b'{"class":"BenchJob","args":[]}')
    pipe.execute()


def measure_poll(r: Any, names: list[str], rounds: int) -> dict[str, Any]:
    from jobctl.backends import open_backend
    from jobctl.targets import Target
    from jobctl.tui.refresh import Poller

    url = r.connection_pool.connection_kwargs
    poller = Poller(open_backend(Target(url=f"redis://127.0.0.1:{url['port']}/0")))
    poller.tick()  # connect, ping, first failure scan
    times: dict[str, list[float]] = {"raw": [], "tick": [], "rescan": []}
    cmds: dict[str, tuple[int, dict[str, int]]] = {}
    for i in range(rounds):
        nudge(r, names, i)
        r.config_resetstat()
        t0 = time.perf_counter()
        raw_tick(r, names)
        times["raw"].append(time.perf_counter() - t0)
        cmds["raw"] = commands_since_reset(r)
        r.config_resetstat()
        t0 = time.perf_counter()
        snap = poller.tick()
        times["tick"].append(time.perf_counter() - t0)
        cmds["tick"] = commands_since_reset(r)
        assert snap.error is None, snap.error
        poller.invalidate_failures()
        r.config_resetstat()
        t0 = time.perf_counter()
        poller.tick()
        times["rescan"].append(time.perf_counter() - t0)
        cmds["rescan"] = commands_since_reset(r)
    return {"times": times, "cmds": cmds, "queues": len(snap.queues), "failures": snap.failures_total}


def measure_apply(port: int, rounds: int, r: Any, names: list[str]) -> list[float]:
    from jobctl.backends import open_backend
    from jobctl.targets import Target
    from jobctl.tui.app import TopApp

    app = TopApp(open_backend(Target(url=f"redis://127.0.0.1:{port}/0")), interval=3600)
    out: list[float] = []

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            while app.ticks < 1:
                await asyncio.sleep(0.02)
            for i in range(rounds):
                nudge(r, names, 1000 + i)
                n = app.ticks
                app.action_refresh_now()
                while app.ticks <= n:
                    await asyncio.sleep(0.01)
                out.append(app.last_apply_s)
            await pilot.press("q")

    asyncio.run(main())
    return out


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, default=1000)
    ap.add_argument("--failures", type=int, default=0, help="extra failure records (31 from the fixture)")
    ap.add_argument("--rounds", type=int, default=20)
    opts = ap.parse_args()

    from servers import RedisServer

    srv = RedisServer()
    srv.start()
    try:
        r = srv.client()
        names = fill(r, opts.queues, opts.failures)
        res = measure_poll(r, names, opts.rounds)
        apply = measure_apply(srv.port, opts.rounds, r, names)
        t, c = res["times"], res["cmds"]
        print(f"jobctl top tick: {res['queues']:,} queues, {res['failures']:,} stored failures, "
              f"{opts.rounds} rounds (medians)")
        print(f"{'case':<8} {'ms/tick':>9} {'x raw':>7} {'commands':>9}  top commands")
        for case in ("raw", "tick", "rescan"):
            total, per = c[case]
            top = ", ".join(f"{k} {v}" for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:5])
            print(f"{case:<8} {ms(t[case]):>9.1f} {ms(t[case]) / ms(t['raw']):>7.1f} {total:>9,}  {top}")
        print(f"{'apply':<8} {ms(apply):>9.1f} {ms(apply) / ms(t['raw']):>7.1f} {'-':>9}  widgets updated in the app")
    finally:
        srv.cleanup()


if __name__ == "__main__":
    main()
