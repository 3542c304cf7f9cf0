"""Target resolution, URL schemes, secrets from env/file, masking (pure; no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobctl.errors import ConfigError, UsageError
from jobctl.safe import mask_url, visible
from jobctl.targets import backend_kind, load_config, resolve_target


@pytest.mark.parametrize("url,kind", [
    ("redis://localhost:6379/0", "resque"), ("rediss://h:6380", "resque"), ("unix:///tmp/r.sock", "resque"),
    ("redis+sentinel://h:26379/mymaster/0", "resque"), ("postgresql://u@h/db", "delayed_job"),
    ("postgresql+psycopg://u@h/db", "delayed_job"), ("mysql://root@h/db", "delayed_job"),
    ("mariadb+pymysql://root@h/db", "delayed_job"), ("sqlite:////tmp/x.db", "delayed_job"),
])
def test_scheme_picks_backend(url: str, kind: str) -> None:
    assert backend_kind(url) == kind


def test_unknown_scheme() -> None:
    with pytest.raises(UsageError):
        backend_kind("http://x")


@pytest.mark.parametrize("url,masked", [
    ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
    ("redis://user:pw@h/0", "redis://user:***@h/0"),
    ("postgresql://app:s%40cret@db:5432/x?sslmode=require", "postgresql://app:***@db:5432/x?sslmode=require"),
    ("mysql://root@h/db", "mysql://root@h/db"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ("postgresql://h/db?password=abc&x=1", "postgresql://h/db?password=***&x=1"),
])
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@given(st.text(alphabet=st.characters(blacklist_characters="@/:?#[]", blacklist_categories=("Cs",)), min_size=1))
def test_mask_url_never_leaks_password(pw: str) -> None:
    url = f"redis://user:{pw}@host:6379/0"
    assert f":{pw}@" not in mask_url(url)


def _write(tmp: Path, text: str) -> Path:
    p = tmp / "config.toml"
    p.write_text(text)
    p.chmod(0o600)
    return p


def test_resolution_order_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBCTL_URL", raising=False)
    monkeypatch.delenv("JOBCTL_READ_ONLY", raising=False)
    cfg = load_config(_write(tmp_path, 'default_target = "a"\n[targets.a]\nurl = "redis://h/1"\nnamespace = "x:resque"\n'
                                       '[targets.b]\nurl = "sqlite:////tmp/b.db"\ntable = "dj"\nread_only = true\n'))
    t = resolve_target(config=cfg)
    assert (t.name, t.namespace, t.kind, t.read_only) == ("a", "x:resque", "resque", False)
    t = resolve_target(target="b", config=cfg)
    assert (t.table, t.kind, t.read_only) == ("dj", "delayed_job", True)
    t = resolve_target(target="a", namespace="other", read_only=True, config=cfg)
    assert (t.namespace, t.read_only) == ("other", True)
    t = resolve_target(url="redis://z/0", config=cfg)
    assert t.name is None and t.url == "redis://z/0"
    monkeypatch.setenv("JOBCTL_READ_ONLY", "1")
    assert resolve_target(url="redis://z/0").read_only is True


def test_password_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pw"
    secret.write_text("fromfile\n")
    cfg = load_config(_write(tmp_path, f'[targets.e]\nurl = "redis://h:6379/0"\npassword_env = "MY_PW"\n'
                                       f'[targets.f]\nurl = "postgresql://app@db/x"\npassword_file = "{secret}"\n'))
    monkeypatch.setenv("MY_PW", "p@ss word")
    t = resolve_target(target="e", config=cfg)
    assert t.url == "redis://:p%40ss%20word@h:6379/0"
    assert "p%40ss" not in t.masked_url
    t = resolve_target(target="f", config=cfg)
    assert t.url == "postgresql://app:fromfile@db/x"
    monkeypatch.delenv("MY_PW")
    with pytest.raises(ConfigError, match="MY_PW"):
        resolve_target(target="e", config=cfg)


def test_config_validation_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"targets\.x\.url"):
        load_config(_write(tmp_path, "[targets.x]\nnamespace = 'a'\n"))
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(_write(tmp_path, "[targets.x]\nurl = 'redis://h'\nnamspace = 'a'\n"))
    with pytest.raises(ConfigError, match="default_target"):
        load_config(_write(tmp_path, "default_target = 'zz'\n[targets.x]\nurl = 'redis://h'\n"))


def test_visible_escapes_everything_dangerous() -> None:
    s = "a\x1b]0;pwned\x07\x1b[2J\u202eb\u200bc\x9bd\r\n"
    v = visible(s)
    assert "\x1b" not in v and "\x07" not in v and "\u202e" not in v and "\u200b" not in v and "\x9b" not in v
    assert "\\x1b" in v and "\\u202e" in v and "\\n" in v
    assert visible("line1\nline2", keep_newlines=True) == "line1\nline2"


@given(st.text())
def test_visible_output_has_no_control_chars(s: str) -> None:
    v = visible(s)
    assert all(not (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f) for c in v)
