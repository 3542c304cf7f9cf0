"""What the demo database holds: users and ~240 Delayed Job rows, deterministic for a given `now`.

Queues (row states follow delayed_job 4.1.9's own transitions, docs/delayed-job-format.md §3):
* low      — `User.cleanup` (class receiver), `user.delay(queue: "low").send_heavy_report`, ActiveJob
             PurgeUserDataJob (GlobalID + keyword args) and ExportUsersJob (symbol, TimeWithZone);
             mostly ready, some scheduled, a few retrying, a few failed.
* default  — SyncInventoryJob (plain object), KwJob (keyword_init Struct), ActiveJob ChargeCardJob.
* mailers  — PerformableMailer (`UserMailer.delay.welcome`), parameterized mailer, MailDeliveryJob
             (`deliver_later`), NewsletterJob Structs.
* toxic    — ToxicJob / FlakyWebhookJob failing: failed rows (attempts 25, lock kept as DJ does),
             retrying rows, and jobs whose User was deleted (DJ's DeserializationError: attempts 0).
* reports  — ActiveJob ReportJob, LongReportJob Structs: one running, one stale lock (stuck).
* NULL     — `user.delay.send_heavy_report`, `Billing.delay.sweep` (module receiver),
             `handle_asynchronously :deliver_digest` (`deliver_digest_without_delay`).
The job classes exist in tests/ruby/app.rb, so real Delayed Job loads every row.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from jobctl.demo import errors
from jobctl.demo import handlers as h
from jobctl.demo.rows import DELETED_USER_IDS, SEED, DemoRow, RowFactory, aj_time, build_users, sqlite_time


def _aj(job_class: str, job_id: str, queue: str, args: list[Any], **kw: Any) -> Callable[[datetime], str]:
    """An ActiveJob handler whose `enqueued_at` is the row's creation time."""
    return lambda t: h.active_job(job_class, job_id, queue, args, aj_time(t), **kw)


def _mail_delivery(job_id: str, gid: dict[str, str], enqueued: datetime) -> str:
    return h.mail_delivery_job(job_id, "UserMailer", "welcome", aj_time(enqueued), params={"ref": "promo"}, args=[gid])


def _webhook_error(rng: random.Random, hook: str) -> str:
    if rng.random() < 0.5:
        return errors.net_read_timeout("/srv/app/app/jobs/flaky_webhook_job.rb:11:in `perform'")
    return errors.timeout_error(hook, "/srv/app/app/jobs/flaky_webhook_job.rb:10:in `perform'")


def _states(rng: random.Random, n: int, weights: dict[str, int]) -> list[str]:
    return rng.choices(list(weights), weights=list(weights.values()), k=n)


def _low(c: RowFactory) -> None:
    w = {"ready": 14, "scheduled": 3, "retrying": 2, "failed": 1}
    for state in _states(c.rng, 24, w):
        c.add(h.performable_method_on_class("User", "cleanup", [c.rng.choice([7, 14, 30, 90])]), "low", state,
              priority=5, error=lambda: errors.record_not_found("User", c.rng.randint(900, 999),
                                                                "/srv/app/app/models/user.rb:88:in `cleanup'"))
    for state in _states(c.rng, 20, w):
        c.add(h.performable_method_on_record(c.user(), "send_heavy_report", [h.sym(c.rng.choice(["csv", "pdf"]))]),
              "low", state, error=lambda: errors.no_method_error("each", "/srv/app/app/models/user.rb:41:in "
                                                                       "`send_heavy_report'"))
    for state in _states(c.rng, 16, w):
        args = [h.globalid("User", c.user().id), h.aj_kwargs(days=c.rng.choice([7, 30, 90]),
                                                            dry_run=c.rng.random() < .3)]
        c.add(_aj("PurgeUserDataJob", c.uuid(), "low", args), "low", state, error=lambda: errors.runtime_error(
                  "refusing to purge admin", "/srv/app/app/jobs/purge_user_data_job.rb:9:in `perform'", active_job=True))
    for state in _states(c.rng, 12, w):
        args = [h.globalid("User", c.user().id), h.aj_symbol(c.rng.choice(["full", "brief"])),
                {"fmt": "csv", "limit": c.rng.randint(1, 500), "_aj_symbol_keys": ["limit"]},
                h.aj_time_with_zone("2024-01-02T03:04:05.000000000-05:00")]
        c.add(_aj("ExportUsersJob", c.uuid(), "low", args, timezone="Eastern Time (US & Canada)"), "low", state)


def _default(c: RowFactory) -> None:
    w = {"ready": 10, "scheduled": 2, "running": 1, "retrying": 1}
    for state in _states(c.rng, 18, w):
        ivars = {"sku": f"SKU-{c.rng.randint(1000, 9999)}", "warehouse": c.rng.choice(["berlin", "austin", None])}
        c.add(h.object_job("SyncInventoryJob", ivars), "default", state, priority=c.rng.choice([0, 0, -3]),
              error=lambda: errors.net_read_timeout("/srv/app/app/jobs/sync_inventory_job.rb:17:in `perform'"))
    for state in _states(c.rng, 12, w):
        c.add(h.struct_job("KwJob", {"account_id": c.rng.randint(1, 400), "mode": h.sym(c.rng.choice(["fast", "safe"]))}),
              "default", state)
    for state in _states(c.rng, 14, w):
        args = [c.rng.randint(1, 12), c.rng.choice([1250, 75000, 999]), c.rng.choice(["USD", "EUR"])]
        c.add(_aj("ChargeCardJob", c.uuid(), "default", args), "default", state)


def _mailers(c: RowFactory) -> None:
    w = {"ready": 10, "scheduled": 1, "retrying": 1, "failed": 1}
    for state in _states(c.rng, 14, w):
        u = c.user()
        c.add(h.performable_mailer("UserMailer", "welcome", [u.id, u.locale]), "mailers", state,
              error=lambda: errors.record_not_found("User", 77, "/srv/app/app/mailers/user_mailer.rb:6:in `welcome'"))
    for state in _states(c.rng, 8, w):
        c.add(h.parameterized_mailer("UserMailer", {h.sym("locale"): "fr", h.sym("ref"): h.sym("promo")}, "welcome",
                                     [c.user().id]), "mailers", state)
    for state in _states(c.rng, 12, w):
        job_id, gid = c.uuid(), h.globalid("User", c.user().id)
        c.add(partial(_mail_delivery, job_id, gid), "mailers", state)
    for state in _states(c.rng, 10, w):
        text = c.rng.choice(["Weekly digest #48", "Grüße aus Köln", "Product update", "Спасибо за заказ"])
        emails = [f"{u.email or 'noreply@example.com'}" for u in c.rng.sample(c.users, 2)]
        c.add(h.struct_job("NewsletterJob", {"text": text, "emails": emails}), "mailers", state)


def _toxic(c: RowFactory) -> None:
    for i, state in enumerate(_states(c.rng, 14, {"failed": 3, "retrying": 1})):
        pid = 7000 + i
        c.add(h.struct_job("ToxicJob", {"payload_id": pid, "note": c.rng.choice(["bad checksum", None])}), "toxic",
              state, priority=-1, error=partial(errors.runtime_error, f"boom: poisoned payload #{pid}",
                                              "/srv/app/app/jobs/toxic_job.rb:5:in `perform'"))
    for state in _states(c.rng, 8, {"failed": 1, "retrying": 1}):
        hook = c.rng.choice(["https://hooks.example.net/a", "https://down.example.net/hook"])
        c.add(h.struct_job("FlakyWebhookJob", {"url": hook, "payload": {"event": "ping"}}), "toxic", state,
              error=partial(_webhook_error, c.rng, hook))
    for uid in DELETED_USER_IDS:
        gone = h.DemoUser(uid, "Deleted Person", f"gone{uid}@example.com", "en", sqlite_time(c.ago(9000, 8000)),
                          sqlite_time(c.ago(9000, 8000)))
        c.add(h.performable_method_on_record(gone, "send_heavy_report", ["csv"]), "toxic", "unloadable",
              error=partial(errors.deserialization_record_not_found, "User", uid))


def _reports(c: RowFactory) -> None:
    for state in ["ready"] * 6 + ["scheduled"] * 3 + ["running", "failed"]:
        c.add(_aj("ReportJob", c.uuid(), "reports", [c.rng.choice(["weekly", "monthly"])]), "reports", state,
              error=lambda: errors.worker_timeout(14400))
    for state in ("stuck", "running", "ready", "ready"):
        c.add(h.struct_job("LongReportJob", {"seconds": 3600, "label": "quarterly 2026-Q3"}), "reports", state)


def _no_queue(c: RowFactory) -> None:
    for state in _states(c.rng, 10, {"ready": 8, "scheduled": 1, "retrying": 1}):
        c.add(h.performable_method_on_record(c.user(), "send_heavy_report", [h.sym("pdf")]), None, state)
    for state in _states(c.rng, 6, {"ready": 5, "failed": 1}):
        c.add(h.performable_method_on_module("Billing", "sweep", [{h.sym("dry_run"): c.rng.random() < .5}]), None,
              state)
    for state in _states(c.rng, 8, {"ready": 7, "running": 1}):
        c.add(h.performable_method_on_record(c.user(), "deliver_digest_without_delay", []), None, state, priority=20)


def build_rows(now: datetime) -> list[DemoRow]:
    """All demo rows, ordered by creation time (so ids grow with created_at, as in a real table)."""
    c = RowFactory(now, random.Random(SEED), build_users(now))
    for part in (_reports, _low, _default, _mailers, _toxic, _no_queue):
        part(c)
    return sorted(c.rows, key=lambda r: r.created_at)
