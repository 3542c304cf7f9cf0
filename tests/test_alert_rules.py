"""Rule files and quick-form rules: validation up front, errors naming the rule and the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobctl.alert.rulefile import load_rules
from jobctl.alert.rules import RuleFileError, quick_rule
from jobctl.alert.thresholds import State

GOOD = """
[defaults]
window = "15m"
notify = ["ops"]
renotify = "1h"

[channels.ops]
type = "email"
to = ["oncall@example.com", "lead@example.com"]

[channels.slack]
type = "webhook"
url_env = "TEST_SLACK_URL"

[channels.pager]
type = "command"
command = "/usr/bin/logger -t jobctl"

[rules.toxic]
queue = "toxic"
warning = 1
critical = "5"
notify = ["ops", "slack"]

[rules.latency-low]
metric = "latency"
queue = ["low", "mailers"]
warning = "5m"
critical = "1h"

[rules.payments]
queue = "high"
class = "ProcessPaymentWebhookJob*"
exception = ["ProcessPaymentWebhookJob::SignatureMismatch"]
error = "signature"
severity = "warning"

[rules.stuck]
metric = "stuck"
max_run_time = "30m"
unreachable = "unknown"

[rules.off]
enabled = false
"""


def write(tmp_path: Path, text: str, name: str = "alerts.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_good_file_loads_every_field(tmp_path: Path) -> None:
    env = {"TEST_SLACK_URL": "https://hooks.slack.com/services/T000/B000/SECRETSECRET"}
    rs = load_rules(write(tmp_path, GOOD), config_raw={}, env=env)
    names = [r.name for r in rs.rules]
    assert names == ["toxic", "latency-low", "payments", "stuck"]  # disabled rule skipped, order kept
    toxic, latency, payments, stuck = rs.rules
    assert toxic.queues == ("toxic",)
    assert toxic.window == timedelta(minutes=15)  # from [defaults]
    assert toxic.thresholds.warning is not None and toxic.thresholds.warning.end == 1
    assert toxic.notify == ("ops", "slack")
    assert toxic.renotify == timedelta(hours=1)
    assert latency.window is None  # a default window does not apply to a non-failure metric
    assert latency.thresholds.critical is not None and latency.thresholds.critical.end == 3600
    assert latency.notify == ("ops",)
    assert payments.severity == State.WARNING
    assert payments.classes == ("ProcessPaymentWebhookJob*",)
    assert stuck.max_run_time == timedelta(minutes=30)
    assert stuck.unreachable == State.UNKNOWN
    assert stuck.thresholds.critical is not None  # metric default
    assert rs.channels["ops"].to == ("oncall@example.com", "lead@example.com")
    assert rs.channels["pager"].argv == ("/usr/bin/logger", "-t", "jobctl")
    assert rs.channels["slack"].url == env["TEST_SLACK_URL"]
    assert "SECRETSECRET" not in rs.secrets.mask(f"POST {env['TEST_SLACK_URL']} failed")


def test_failure_filter_uses_window_and_skips_retried(tmp_path: Path) -> None:
    rs = load_rules(write(tmp_path, GOOD), config_raw={},
                    env={"TEST_SLACK_URL": "https://example.com/hook"})
    now = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    f = rs.rules[0].failure_filter(now)
    assert f.queues == ("toxic",)
    assert f.since == now - timedelta(minutes=15)
    assert f.retried is False


@pytest.mark.parametrize(
    ("rule_body", "expected"),
    [
        ('critical = "5x"', "rule 'bad': field 'critical': invalid threshold range '5x'"),
        ('metric = "nope"', "rule 'bad': field 'metric': unknown metric 'nope'"),
        ('window = "soon"', "rule 'bad': field 'window': invalid duration"),
        ('metric = "size"\nwindow = "5m"', "rule 'bad': field 'window': has no effect on metric 'size'"),
        ('metric = "size"\nclass = "X"', "rule 'bad': field 'class'"),
        ('error = "(unclosed"', "rule 'bad': field 'error': invalid regex"),
        ('notify = ["pagerduty"]', "rule 'bad': field 'notify': unknown channel 'pagerduty'"),
        ('severity = "fatal"', "rule 'bad': field 'severity': must be one of warning, critical"),
        ('unreachable = "ok"', "rule 'bad': field 'unreachable'"),
        ('samples = 500', "rule 'bad': field 'samples'"),
        ('colour = "red"', "rule 'bad': field 'colour': unknown field"),
        ('queue = 5', "rule 'bad': field 'queue'"),
        ('max_run_time = "1h"', "rule 'bad': field 'max_run_time': only applies to metric 'stuck'"),
        ('target = "prod"', "rule 'bad': field 'target': unknown target 'prod'"),
        ('metric = "latency"\nwarning = "5q"', "rule 'bad': field 'warning'"),
    ],
)
def test_bad_rule_names_rule_and_field(tmp_path: Path, rule_body: str, expected: str) -> None:
    text = f'[channels.ops]\ntype = "command"\ncommand = ["true"]\n\n[rules.bad]\n{rule_body}\n'
    with pytest.raises(RuleFileError) as e:
        load_rules(write(tmp_path, text), config_raw={}, env={}, known_targets=set())
    assert str(e.value).startswith("alerts.toml: ")
    assert expected in str(e.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[rules.a\n", "alerts.toml: invalid TOML"),
        ("", "no rules"),
        ("[rules]\n", "no rules"),
        ('[rules.a]\n[extra]\nx = 1\n', "unknown top-level key(s) extra"),
        ('[rules."has space"]\n', "name may only hold"),
        ('[rules.a]\nenabled = false\n', "every rule is disabled"),
        ('[channels.x]\ntype = "sms"\n[rules.a]\n', "channels.x: field 'type'"),
        ('[channels.x]\ntype = "email"\n[rules.a]\n', "channels.x: field 'to'"),
        ('[channels.x]\ntype = "email"\nto = "not-an-address"\n[rules.a]\n', "is not one e-mail address"),
        ('[channels.x]\ntype = "webhook"\nurl_env = "UNSET_VAR_XYZ"\n[rules.a]\n', "UNSET_VAR_XYZ is not set"),
        ('[channels.x]\ntype = "webhook"\nurl = "ftp://x"\n[rules.a]\n', "field 'url'"),
        ('[channels.x]\ntype = "command"\n[rules.a]\n', "field 'command'"),
        ('[smtp]\nport = "abc"\n[rules.a]\n', "smtp: field 'port'"),
        ('[smtp]\nsecurity = "tls13"\n[rules.a]\n', "smtp: field 'security'"),
        ('[defaults]\nwindow = "x"\n[rules.a]\n', "[defaults]: field 'window'"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(RuleFileError) as e:
        load_rules(write(tmp_path, text), config_raw={}, env={})
    assert expected in str(e.value)


def test_rule_url_replaces_default_target(tmp_path: Path) -> None:
    text = '[defaults]\ntarget = "prod"\n[rules.a]\n[rules.b]\nurl = "redis://127.0.0.1:6390/0"\n'
    rs = load_rules(write(tmp_path, text), config_raw={}, env={}, known_targets={"prod"})
    assert [(r.target, r.url) for r in rs.rules] == [("prod", None), (None, "redis://127.0.0.1:6390/0")]
    with pytest.raises(RuleFileError, match="field 'url': give either target or url"):
        load_rules(write(tmp_path, '[rules.a]\ntarget = "prod"\nurl = "redis://x/0"\n'), config_raw={}, env={},
                   known_targets={"prod"})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read rules file"):
        load_rules(tmp_path / "missing.toml", config_raw={}, env={})


def test_config_channels_and_smtp_layers(tmp_path: Path) -> None:
    cfg = {"alert": {"smtp": {"host": "mail.internal", "security": "starttls", "username": "jobs",
                              "password": "hunter22"},
                     "channels": {"ops": {"type": "email", "to": ["ops@example.com"]}}}}
    text = '[smtp]\nport = 2525\n[rules.a]\nnotify = ["ops"]\n'
    rs = load_rules(write(tmp_path, text), config_raw=cfg, env={"JOBCTL_SMTP_HOST": "relay.example"})
    assert rs.smtp.host == "relay.example"  # env wins
    assert rs.smtp.port == 2525  # rules file overrides config
    assert rs.smtp.security == "starttls"
    assert rs.smtp.password == "hunter22"
    assert rs.secrets.mask("login hunter22 failed") == "login *** failed"
    assert rs.rules[0].notify == ("ops",)


def test_smtp_default_ports() -> None:
    from jobctl.alert.channels import smtp_settings
    from jobctl.alert.secrets import Secrets

    assert smtp_settings([("x", {"security": "ssl"})], env={}, secrets=Secrets()).port == 465
    assert smtp_settings([("x", {"security": "starttls"})], env={}, secrets=Secrets()).port == 587
    assert smtp_settings([], env={}, secrets=Secrets()).port == 25


def test_quick_rule_defaults_and_option_errors() -> None:
    r = quick_rule({"queue": ["toxic"], "critical": "1"}, channels={})
    assert r.name == "toxic" and r.metric == "failed" and r.quick
    assert r.perf_label == "failed"
    assert r.thresholds.warning is None and r.thresholds.critical is not None
    d = quick_rule({}, channels={})
    assert d.name == "all queues"
    assert d.thresholds.critical is not None and d.thresholds.critical.end == 0  # failed: crit > 0
    lat = quick_rule({"metric": "latency"}, channels={})
    assert lat.thresholds.warning is not None and lat.thresholds.warning.end == 300
    assert quick_rule({"metric": "failure-rate"}, channels={}).effective_window() == timedelta(minutes=15)
    with pytest.raises(RuleFileError, match="option --critical: invalid threshold range"):
        quick_rule({"critical": "x"}, channels={})
    with pytest.raises(RuleFileError, match="option --window: has no effect on metric 'size'"):
        quick_rule({"metric": "size", "window": "5m"}, channels={})


def test_readme_rules_example_is_valid(tmp_path: Path) -> None:
    """The rules file shown in README's alert section loads as documented."""
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- BEGIN alert -->", 1)[1].split("<!-- END alert -->", 1)[0]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    example = next(b for b in blocks if "[rules." in b)
    rs = load_rules(write(tmp_path, example), config_raw={},
                    env={"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X"}, known_targets={"prod"})
    assert [r.name for r in rs.rules] == ["toxic", "payments", "backlog", "dj-stuck"]
    assert rs.rules[3].url and rs.rules[3].target is None and rs.rules[0].target == "prod"
    assert rs.rules[1].severity == State.WARNING and set(rs.channels) == {"ops-mail", "slack", "pager"}
    smtp_block = next(b for b in blocks if "[alert.smtp]" in b)
    import tomllib

    from jobctl.alert.channels import smtp_settings
    from jobctl.alert.secrets import Secrets

    smtp = smtp_settings([("config", tomllib.loads(smtp_block)["alert"]["smtp"])],
                         env={"SMTP_PASSWORD": "pw-from-env"}, secrets=Secrets())
    assert (smtp.host, smtp.port, smtp.security, smtp.password) == ("smtp.example.com", 587, "starttls", "pw-from-env")
