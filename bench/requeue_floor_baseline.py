"""The non-atomic floor of a Resque bulk requeue, as a hand-written script does it (no safety).

Pipelined LRANGE pages, RPUSH of the payloads (decoded and re-encoded with orjson: not even
byte-exact), then one DEL of the failed list: it loses every failure that arrives meanwhile and
duplicates jobs when interrupted and rerun. bench/resque_requeue_floor.py times it in its own
process (function `floor`) and as a whole process like jobctl (`python bench/requeue_floor_baseline.py URL`:
interpreter start-up, `import redis`, connect, work), so both readings can be compared.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson


def floor(r: Any) -> float:
    t0 = time.perf_counter()
    n = r.llen("resque:failed")
    page = 1000
    for start in range(0, n, page * 10):
        pipe = r.pipeline(transaction=False)
        for s in range(start, min(n, start + page * 10), page):
            pipe.lrange("resque:failed", s, s + page - 1)
        chunks = pipe.execute()
        push = r.pipeline(transaction=False)
        for chunk in chunks:
            groups: dict[str, list[bytes]] = {}
            for raw in chunk:
                d = orjson.loads(raw)
                groups.setdefault(d["queue"], []).append(orjson.dumps(d["payload"]))
            for q, payloads in groups.items():
                push.sadd("resque:queues", q)
                push.rpush(f"resque:queue:{q}", *payloads)
        push.execute()
    r.delete("resque:failed")
    return time.perf_counter() - t0


if __name__ == "__main__":
    import redis

    floor(redis.Redis.from_url(sys.argv[1]))
