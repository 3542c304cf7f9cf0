"""parse_handler on real Delayed Job handlers: names equal what DJ's own Delayed::Job#name returned.

The fixture exports (written by delayed_job 4.1.9 on SQLite, PostgreSQL and MariaDB) carry
names.<db>.json, produced by DJ itself for every row; every row must match exactly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from jobctl.parse.dj_handler import KINDS, dj_fallback_name, is_deserialization_error, parse_handler

DBS = ("sqlite", "pg", "mysql")


def _rows(fixtures_dir: Path, db: str) -> tuple[list[dict], dict[str, str]]:
    base = fixtures_dir / "delayed_job"
    rows = json.loads((base / f"delayed_jobs.{db}.json").read_text())
    names = json.loads((base / f"names.{db}.json").read_text())
    return rows, names


@pytest.mark.parametrize("db", DBS)
def test_every_fixture_row_named_exactly_like_delayed_job(fixtures_dir: Path, db: str) -> None:
    rows, names = _rows(fixtures_dir, db)
    assert len(rows) == len(names) == 34
    for row in rows:
        h = parse_handler(row["handler"], last_error=row["last_error"])
        expected = names[str(row["id"])]
        assert h.parse_error is None, (row["id"], h.parse_error)
        assert h.name == expected, (row["id"], h.name, expected)
        if " with arguments: " in expected:  # the part the issue requires at minimum
            assert h.name.split(" with arguments: ")[0] == expected.split(" with arguments: ")[0]
        assert h.kind in KINDS and h.job_class
        orjson.dumps(h.args)  # JSON-able, including the 2**64 integer in ImportCsvJob


def test_fixture_kinds_job_classes_and_args(fixtures_dir: Path) -> None:
    rows, _ = _rows(fixtures_dir, "sqlite")
    by_id = {r["id"]: parse_handler(r["handler"], last_error=r["last_error"]) for r in rows}
    h = by_id[3]
    assert (h.kind, h.job_class, h.receiver, h.method_name, h.args) == (
        "performable_method", "User#send_heavy_report", "User#3", "send_heavy_report", [])
    assert (by_id[49].kind, by_id[49].job_class, by_id[49].args, by_id[49].receiver) == (
        "performable_method", "User.cleanup", [14], "User")
    assert by_id[22].args == [{"mode": "turbo", "retries": 0}]
    assert (by_id[12].kind, by_id[12].job_class) == ("struct", "NewsletterJob")
    assert by_id[12].args == ["Broken list", ["ok@example.com", "not-an-email", "also bad"]]
    assert by_id[12].name_note and "display_name" in by_id[12].name_note
    assert (by_id[14].kind, by_id[14].args) == ("object", [{"path": "/srv/imports/missing-ü.csv", "options": {
        "exists": False, "ratio": 0.25, "big": "18446744073709551616"}}])
    aj = by_id[25]
    assert (aj.kind, aj.job_class, aj.queue_name, aj.executions) == ("active_job", "PurgeUserDataJob", "low", 0)
    assert aj.job_id == "100ff013-1df7-4222-ae6a-3d123af50b77"
    assert aj.enqueued_at == datetime(2026, 11, 27, 19, 53, 9, tzinfo=UTC)
    assert aj.args == ["User/5", {"days": 7, "dry_run": True}]
    assert aj.wrapper == "ActiveJob::QueueAdapters::DelayedJobAdapter::JobWrapper"
    mail = by_id[34]
    assert (mail.job_class, mail.args) == ("UserMailer#welcome", ["UserMailer", "welcome", "deliver_now", {"args": [9]}])
    assert (by_id[32].kind, by_id[32].name, by_id[32].job_class) == (
        "performable_mailer", "UserMailer.welcome", "UserMailer#welcome")
    gone = by_id[35]  # its User was deleted: DJ cannot load it and names it by the first tag
    assert gone.name == "Delayed::PerformableMethod" and gone.job_class == "User#send_heavy_report"
    assert gone.name_note and "last_error" in gone.name_note
    assert parse_handler(rows[[r["id"] for r in rows].index(35)]["handler"]).name == "User#send_heavy_report"


def test_tree_is_kept_for_show(fixtures_dir: Path) -> None:
    rows, _ = _rows(fixtures_dir, "pg")
    h = parse_handler(rows[0]["handler"])
    assert h.tree is not None and h.tree.cls == "Delayed::PerformableMethod"


H1 = """--- !ruby/object:Delayed::PerformableMethod
object: !ruby/object:User
  concise_attributes:
  - !ruby/object:ActiveModel::Attribute::FromUser
    name: email
    original_attribute: !ruby/object:ActiveModel::Attribute::FromDatabase
      name: email
      value_before_type_cast: a@example.com
    value_before_type_cast: b@example.com
  - !ruby/object:ActiveModel::Attribute::FromDatabase
    name: id
    value_before_type_cast: 17
  new_record: false
  active_record_yaml_version: 2
method_name: :send_heavy_report
args:
- :pdf
- :since: !ruby/object:ActiveSupport::TimeWithZone
    utc: 2024-01-02 08:04:05.000000000 Z
    zone: !ruby/object:ActiveSupport::TimeZone
      name: America/New_York
    time: 2024-01-02 03:04:05.000000000 Z
  limit: 10
"""


def test_record_primary_key_not_first_and_keyword_args() -> None:
    h = parse_handler(H1)
    assert h.name == "User#send_heavy_report" and h.receiver == "User#17"
    assert h.args == [":pdf", {"since": "2024-01-02T08:04:05Z", "limit": 10}]


@pytest.mark.parametrize(("handler", "name", "job_class"), [
    ("--- !ruby/object:Delayed::PerformableMethod\nobject: !ruby/module 'Billing'\nmethod_name: :sweep\n"
     "args:\n- :dry_run: true\n", "Module#sweep", "Billing.sweep"),
    ("--- !ruby/object:Delayed::PerformableMailer\nobject: !ruby/object:ActionMailer::Parameterized::Mailer\n"
     "  mailer: !ruby/class 'UserMailer'\n  params:\n    :locale: fr\nmethod_name: :welcome\nargs: []\n",
     "ActionMailer::Parameterized::Mailer#welcome", "UserMailer#welcome"),
    ("--- !ruby/object:Delayed::PerformableMethod \nobject: !ruby/ActiveRecord:PrimarLicense \n  attributes: \n"
     "    id: 25458\nmethod_name: :activate_without_delay\nargs: []\n",
     "PrimarLicense#activate_without_delay", "PrimarLicense#activate_without_delay"),
    ("--- !ruby/struct:Delayed::PerformableMethod\nobject: LOAD;Project;924951\n"
     "method: :send_project_open_close_without_delay\nargs: []\n",
     "Project#send_project_open_close_without_delay", "Project#send_project_open_close_without_delay"),
    ("--- !ruby/struct:Delayed::PerformableMethod\nobject: LOAD;Project\nmethod: :purge\nargs: []\n",
     "Project.purge", "Project.purge"),
    ("--- !ruby/object:Delayed::PerformableMethod\nobject: !ruby/class SegmentReportQueriesController\n"
     "method_name: :run\nargs: []\n", "SegmentReportQueriesController.run", "SegmentReportQueriesController.run"),
    ("--- !ruby/object:Delayed::PerformableMethod\nobject: hello\nmethod_name: :upcase\nargs: []\n",
     "String#upcase", "String#upcase"),
    ("--- !ruby/object:ReportJob\naccount_id: 42\n", "ReportJob", "ReportJob"),
    ("--- !ruby/struct:KwJob\naccount_id: 7\nmode: :fast\n", "KwJob", "KwJob"),
    ("--- !ruby/object:LegacyBillingJob\ninvoice_id: 991\n", "LegacyBillingJob", "LegacyBillingJob"),
])
def test_doc_handler_shapes(handler: str, name: str, job_class: str) -> None:
    h = parse_handler(handler)
    assert (h.name, h.job_class, h.parse_error) == (name, job_class, None)


def test_active_job_inspect_and_argument_decoding() -> None:
    handler = """--- !ruby/object:ActiveJob::QueueAdapters::DelayedJobAdapter::JobWrapper
job_data:
  job_class: ExportUsersJob
  job_id: a0a6f080-28d9-4cd9-9d2d-0dc5057e5802
  provider_job_id:
  queue_name: exports
  priority: 3
  arguments:
  - _aj_globalid: gid://jobctl-demo/User/1
  - _aj_serialized: ActiveJob::Serializers::SymbolSerializer
    value: full
  - fmt: "csv \\"q\\" \\u00e9\\t#{x}"
    limit: 5
    ratio: 1.0e-05
    none:
    _aj_symbol_keys:
    - limit
  - _aj_serialized: ActiveJob::Serializers::TimeWithZoneSerializer
    value: '2024-01-02T03:04:05.000000000-05:00'
  executions: 2
  exception_executions:
    "[RuntimeError]": 1
  locale: en
  timezone: Eastern Time (US & Canada)
  enqueued_at: '2023-10-19T16:03:27.456958896Z'
"""
    h = parse_handler(handler)
    assert h.name == (
        'ExportUsersJob [a0a6f080-28d9-4cd9-9d2d-0dc5057e5802] from DelayedJob(exports) with arguments: '
        '[{"_aj_globalid"=>"gid://jobctl-demo/User/1"}, {"_aj_serialized"=>"ActiveJob::Serializers::SymbolSerializer", '
        '"value"=>"full"}, {"fmt"=>"csv \\"q\\" é\\t\\#{x}", "limit"=>5, "ratio"=>1.0e-05, "none"=>nil, '
        '"_aj_symbol_keys"=>["limit"]}, {"_aj_serialized"=>"ActiveJob::Serializers::TimeWithZoneSerializer", '
        '"value"=>"2024-01-02T03:04:05.000000000-05:00"}]')
    assert h.args == ["User/1", ":full", {"fmt": 'csv "q" é\t#{x}', "limit": 5, "ratio": 1e-05, "none": None},
                      "2024-01-02T03:04:05.000000000-05:00"]
    assert (h.executions, h.priority) == (2, 3)
    assert h.enqueued_at == datetime(2023, 10, 19, 16, 3, 27, 456958, tzinfo=UTC)
    assert ' with arguments: [{"_aj_globalid" => ' in parse_handler(handler, inspect_style="3.4").name


def test_fallback_name_rules() -> None:
    assert dj_fallback_name("--- !ruby/object:Delayed::PerformableMethod\nobject: !ruby/object:User\n") == \
        "Delayed::PerformableMethod"
    assert dj_fallback_name("--- [unclosed") is None
    assert is_deserialization_error("Job failed to load: undefined class/module LegacyBillingJob. Handler: ...")
    assert is_deserialization_error("ActiveRecord::RecordNotFound, class: User, primary key: 9 (Couldn't find)")
    assert not is_deserialization_error("boom: poisoned payload #7000")
    assert not is_deserialization_error(None)
    h = parse_handler("--- !ruby/object:Broken\nx: [1, 2\n")
    assert h.name == "Broken" and h.parse_error and h.kind == "unknown"
