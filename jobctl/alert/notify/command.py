"""Command notifier: run a program (no shell) with the alert JSON on stdin.

The program also gets JOBCTL_ALERT_STATUS, JOBCTL_ALERT_RULE, JOBCTL_ALERT_TARGET and
JOBCTL_ALERT_KIND in its environment (plus the channel's `env` table). A non-zero exit, a missing
program or a timeout is a failed notification; the tail of its stderr is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING

from jobctl.alert.notify import NotifyError
from jobctl.safe import visible

if TYPE_CHECKING:
    from jobctl.alert.channels import Channel
    from jobctl.alert.notify import Notification


def run_command(n: Notification, channel: Channel, *, timeout: float) -> None:
    payload = json.dumps(n.to_dict(), ensure_ascii=False) + "\n"
    env = {**os.environ, **channel.env, "JOBCTL_ALERT_STATUS": n.status, "JOBCTL_ALERT_KIND": n.kind,
           "JOBCTL_ALERT_RULE": n.result.rule.name, "JOBCTL_ALERT_TARGET": n.result.target}
    prog = channel.argv[0]
    try:
        proc = subprocess.run(list(channel.argv), input=payload.encode("utf-8"), capture_output=True,
                              timeout=timeout, env=env, shell=False, check=False)
    except FileNotFoundError:
        raise NotifyError(f"command {visible(prog)!r} not found") from None
    except PermissionError:
        raise NotifyError(f"command {visible(prog)!r} is not executable") from None
    except subprocess.TimeoutExpired:
        raise NotifyError(f"command {visible(prog)!r} timed out after {timeout:.1f}s (killed)") from None
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        why = f": {visible(' | '.join(tail), max_len=300)}" if tail else ""
        raise NotifyError(f"command {visible(prog)!r} exited {proc.returncode}{why}")
