"""`jobctl tail --from FILE`: the real CLI on the real Resque capture, no target configured.

Output modes (pretty, jsonl, raw), filters, --count / --duration in capture time, stdin and gzip,
hostile captures (terminal escapes in arguments and in garbage lines) and usage errors.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from test_monitor_parse import monitor_line

CAPTURE = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "resque" / "monitor.log"


def jsonl(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_jsonl_of_the_capture_needs_no_target(jobctl: Any, isolated_env: Path) -> None:
    p = jobctl("tail", "--from", str(CAPTURE), "-o", "jsonl")
    assert p.returncode == 0, p.stderr
    events = jsonl(p.stdout)
    kinds = Counter(e["kind"] for e in events)
    assert kinds == {"enqueue": 99, "reserve": 72, "start": 72, "done": 70, "fail": 31, "worker-start": 5,
                     "worker-stop": 2, "requeue": 1}
    assert set(events[0]) >= {"ts", "kind", "client", "db", "queue", "job_class", "args", "detail", "worker"}
    assert "--- tail summary: 966 lines read, 0 unparsed, 352 events shown" in p.stderr
    assert re.search(r"^low\s+31\s+[\d.]+\s+21\s", p.stderr, re.M)  # per-queue enqueue / reserve counts
    assert "top classes: UpdateMetrics" in p.stderr and "top clients: 127.0.0.1:" in p.stderr


def test_raw_prints_exactly_the_matching_monitor_lines(jobctl: Any, isolated_env: Path) -> None:
    p = jobctl("tail", "--from", str(CAPTURE), "--raw", "--event", "fail,requeue", "--no-summary")
    assert p.returncode == 0, p.stderr
    want = [ln for ln in CAPTURE.read_text().splitlines()
            if re.search(r'] "(rpush|lset)" "resque:failed"', ln)]
    assert p.stdout.splitlines() == want and len(want) == 32
    assert p.stderr == ""


def test_pretty_lines_and_filters(jobctl: Any, isolated_env: Path) -> None:
    p = jobctl("tail", "--from", str(CAPTURE), "--queue", "mail*", "--class", "UnicodeGreeting",
               "--event", "enqueue")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) > 3 and all(" enqueue " in ln and " mailers " in ln for ln in lines)
    assert any('UnicodeGreeting("Zoë Ångström", "Hello")' in ln for ln in lines)
    by_client = jsonl(jobctl("tail", "--from", str(CAPTURE), "-o", "jsonl", "--client", "127.0.0.1:42824",
                             "--event", "all").stdout)
    assert by_client and {e["client"] for e in by_client} == {"127.0.0.1:42824"}
    assert {"reserve", "start", "done", "poll", "read"} <= {e["kind"] for e in by_client}


def test_count_and_duration_in_capture_time(jobctl: Any, isolated_env: Path) -> None:
    p = jobctl("tail", "--from", str(CAPTURE), "-o", "jsonl", "--count", "5")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 5
    events = jsonl(jobctl("tail", "--from", str(CAPTURE), "-o", "jsonl", "--duration", "1s").stdout)
    from datetime import datetime

    ts = [datetime.fromisoformat(e["ts"].replace("Z", "+00:00")) for e in events]
    assert events and (ts[-1] - ts[0]).total_seconds() <= 1.0
    assert len(events) < 352


def test_stdin_gzip_and_namespace_with_colons(jobctl: Any, isolated_env: Path, tmp_path: Path) -> None:
    data = CAPTURE.read_bytes().replace(b'"resque:', b'"app:v2:resque:')
    gz = tmp_path / "cap.gz"
    gz.write_bytes(gzip.compress(data))
    p = jobctl("tail", "--from", str(gz), "--namespace", "app:v2:resque", "-o", "jsonl", "--event", "fail")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 31
    p = jobctl("tail", "--from", "-", "-o", "jsonl", "--event", "fail", input=CAPTURE.read_text())
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 31
    other = jobctl("tail", "--from", str(gz), "-o", "jsonl")  # default namespace resque: nothing matches
    assert other.returncode == 0 and other.stdout == ""
    everything = jobctl("tail", "--from", str(gz), "-o", "jsonl", "--all-keys")
    assert {e["kind"] for e in jsonl(everything.stdout)} == {"other"}


def test_hostile_capture_is_shown_escaped_and_unparsed_lines_counted(jobctl: Any, isolated_env: Path,
                                                                     tmp_path: Path) -> None:
    evil = json.dumps({"class": "Evil\x1b]0;pwned\x07", "args": ["\x1b[2J\u202e", "[bold]x[/bold]"]},
                      ensure_ascii=False).encode()  # JSON writes \u001b; the U+202E stays raw UTF-8
    lines = [
        b"OK",
        monitor_line(1_795_809_109_000_000, 0, "10.0.0.1:1", [b"RPUSH", b"resque:queue:low", evil]),
        b"garbage \x1b[31mred\x1b[0m",
        b'1795809109.9 [0 x] "cut',
    ]
    cap = tmp_path / "evil.log"
    cap.write_bytes(b"\n".join(lines) + b"\n")
    for mode in (["--show-unparsed"], ["-o", "jsonl", "--show-unparsed"], ["--raw", "--show-unparsed"]):
        p = jobctl("tail", "--from", str(cap), *mode)
        assert p.returncode == 0, p.stderr
        assert "\x1b" not in p.stdout and "\x07" not in p.stdout and "\u202e" not in p.stdout, mode
        assert "2 unparsed" in p.stderr
    pretty = jobctl("tail", "--from", str(cap), "--show-unparsed").stdout
    assert "Evil\\x1b]0;pwned\\x07" in pretty and "[bold]x[/bold]" in pretty and "\\u202e" in pretty
    assert "garbage \\x1b[31mred" in pretty
    ev = jsonl(jobctl("tail", "--from", str(cap), "-o", "jsonl").stdout)
    assert ev[0]["job_class"] == "Evil\x1b]0;pwned\x07" and ev[0]["args"][1] == "[bold]x[/bold]"
    quiet = jobctl("tail", "--from", str(cap))
    assert "garbage" not in quiet.stdout and "2 unparsed" in quiet.stderr


@pytest.mark.parametrize("args,needle", [
    (["--event", "bogus"], "--event 'bogus'"),
    (["--raw", "-o", "jsonl"], "--raw"),
    (["-o", "csv"], "--format"),
    (["--duration", "soon"], "invalid duration"),
])
def test_usage_errors_exit_2(jobctl: Any, isolated_env: Path, args: list[str], needle: str) -> None:
    p = jobctl("tail", "--from", str(CAPTURE), *args)
    assert p.returncode == 2 and needle in p.stderr


def test_missing_capture_file_is_a_usage_error(jobctl: Any, isolated_env: Path, tmp_path: Path) -> None:
    p = jobctl("tail", "--from", str(tmp_path / "nope.log"))
    assert p.returncode == 2 and "nope.log" in p.stderr


def test_help_has_examples(jobctl: Any, isolated_env: Path) -> None:
    p = jobctl("tail", "--help")
    assert p.returncode == 0 and "Examples" in p.stdout and "--from" in p.stdout and "--max-omem" in p.stdout
