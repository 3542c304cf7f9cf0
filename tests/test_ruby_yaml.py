"""The safe Ruby-YAML loader: every Psych/Syck tag form, the limits, inertness, and properties."""

from __future__ import annotations

import base64
import datetime as dt
import resource
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobctl.parse.dj_handler import parse_handler
from jobctl.parse.ruby_types import (
    RubyActiveRecord,
    RubyArray,
    RubyClass,
    RubyException,
    RubyHash,
    RubyModule,
    RubyObject,
    RubyRange,
    RubyRegexp,
    RubyString,
    RubyStruct,
    RubySymbol,
    UnhashableKey,
    UnknownTag,
)
from jobctl.parse.ruby_yaml import Limits, RubyYamlError, load_ruby_yaml

UTC = dt.UTC


def test_object_mapping_and_symbols() -> None:
    doc = ("--- !ruby/object:Delayed::PerformableMethod\nobject: !ruby/class 'User'\n"
           "method_name: :cleanup_inactive\nargs:\n- 30\n- :pdf\n- :since: 2024-01-02 03:04:05.000000000 Z\n")
    v = load_ruby_yaml(doc)
    assert isinstance(v, RubyObject) and v.cls == "Delayed::PerformableMethod" and v.kind == "object"
    assert v.ivars["object"] == RubyClass("User")
    assert v.ivars["method_name"] == RubySymbol("cleanup_inactive")
    assert v.ivars["args"][:2] == [30, RubySymbol("pdf")]
    assert v.ivars["args"][2] == {RubySymbol("since"): dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}


def test_quoted_colon_is_a_string_and_quoted_symbol() -> None:
    v = load_ruby_yaml("a: \":notasym\"\nb: ':x'\nc: :\"odd sym\"\nd: ':'\ne: :foo bar\n")
    assert v == {"a": ":notasym", "b": ":x", "c": RubySymbol("odd sym"), "d": ":", "e": RubySymbol("foo bar")}


def test_object_scalar_forms() -> None:
    assert load_ruby_yaml("--- !ruby/object:BigDecimal 18:0.125e2\n") == RubyObject("BigDecimal", {}, "18:0.125e2")
    v = load_ruby_yaml("--- !ruby/object:DateTime 2024-01-02 03:04:05.000000000 Z\n")
    assert isinstance(v, RubyObject) and v.cls == "DateTime" and v.value == "2024-01-02 03:04:05.000000000 Z"
    assert load_ruby_yaml("--- !ruby/object\nx: 1\n") == RubyObject("Object", {"x": 1})


def test_struct_class_module() -> None:
    v = load_ruby_yaml("--- !ruby/struct:NewsletterJob\ntext: hi\nemails:\n- a@example.com\n")
    assert v == RubyStruct("NewsletterJob", {"text": "hi", "emails": ["a@example.com"]})
    assert load_ruby_yaml("--- !ruby/module 'Billing'\n") == RubyModule("Billing")
    assert load_ruby_yaml("--- !ruby/class SegmentReportQueriesController\n") == RubyClass("SegmentReportQueriesController")


def test_hash_forms() -> None:
    v = load_ruby_yaml("--- !ruby/hash:ActiveSupport::HashWithIndifferentAccess\nkind: :csv\n")
    assert v == RubyHash("ActiveSupport::HashWithIndifferentAccess", {"kind": RubySymbol("csv")})
    v = load_ruby_yaml("--- !ruby/hash-with-ivars:TaggedHash\nivars:\n  :@tag: x\nelements:\n  k: v\n")
    assert v == RubyHash("TaggedHash", {"k": "v"}, {RubySymbol("@tag"): "x"})
    v = load_ruby_yaml("--- !ruby/hash-with-ivars\nelements: {a: 1}\nivars: {}\n")
    assert v == RubyHash("Hash", {"a": 1}, {})


def test_array_string_exception() -> None:
    assert load_ruby_yaml("--- !ruby/array:MyArr\n- 1\n- 2\n") == RubyArray("MyArr", [1, 2])
    v = load_ruby_yaml("--- !ruby/array:MyArr\ninternal:\n- 1\nivars:\n  :@x: 2\n")
    assert v == RubyArray("MyArr", [1], {RubySymbol("@x"): 2})
    assert load_ruby_yaml("--- !ruby/string:MyStr s\n") == RubyString("MyStr", "s")
    v = load_ruby_yaml("--- !ruby/string:MyStr\nstr: s\n:@x: 1\n")
    assert v == RubyString("MyStr", "s", {RubySymbol("@x"): 1})
    v = load_ruby_yaml("--- !ruby/exception:RuntimeError\nmessage: kaput\nbacktrace:\n")
    assert v == RubyException("RuntimeError", "kaput", {"backtrace": None})


def test_range_regexp() -> None:
    assert load_ruby_yaml("--- !ruby/range\nbegin: 1\nend: 3\nexcl: false\n") == RubyRange(1, 3, False)
    assert load_ruby_yaml("--- !ruby/range 1...3\n") == RubyRange(1, 3, True)
    assert load_ruby_yaml("--- !ruby/regexp /ab+c/i\n") == RubyRegexp("ab+c", "i")


def test_active_record_legacy_and_syck_anchors() -> None:
    doc = ("--- !ruby/object:Delayed::PerformableMethod \nobject: !ruby/ActiveRecord:PrimarLicense \n"
           "  attributes: \n    updated_at: &id112 2012-09-27 22:16:52.153505 Z\n    created_at: *id112\n"
           "    id: 25458\nmethod_name: :activate_without_delay\nargs: []\n")
    v = load_ruby_yaml(doc)
    ar = v.ivars["object"]
    assert isinstance(ar, RubyActiveRecord) and ar.cls == "PrimarLicense" and ar.attributes["id"] == 25458
    assert ar.attributes["created_at"] is ar.attributes["updated_at"]
    m = load_ruby_yaml("--- !ruby/Mongoid:Doc\nattributes:\n  _id: 5\n")
    assert m == RubyActiveRecord("Doc", {"_id": 5}, "Mongoid")


def test_syck_sym_and_long_tags() -> None:
    assert load_ruby_yaml("--- !ruby/sym foo\n") == RubySymbol("foo")
    assert load_ruby_yaml("--- !ruby/symbol foo\n") == RubySymbol("foo")
    assert load_ruby_yaml("--- !str 00123\n") == "00123"
    assert load_ruby_yaml("--- !timestamp 2012-09-27 22:16:52 Z\n") == dt.datetime(2012, 9, 27, 22, 16, 52, tzinfo=UTC)
    v = load_ruby_yaml("--- !<tag:ruby.yaml.org,2002:object:Foo>\na: 1\n")
    assert v == RubyObject("Foo", {"a": 1})
    assert load_ruby_yaml("--- !ruby/encoding UTF-8\n") == RubyObject("encoding", {}, "UTF-8", "encoding")


def test_binary_and_dates() -> None:
    raw = b"\xff\xfebin"
    v = load_ruby_yaml(f"raw: !binary |-\n  {base64.b64encode(raw).decode()}\nday: 2024-05-01\n")
    assert v == {"raw": raw, "day": dt.date(2024, 5, 1)}
    assert load_ruby_yaml("--- !binary '!!!'\n") == UnknownTag("!binary", "!!!")


def test_python_tags_are_inert(tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "pwned"
    for doc in (f"--- !!python/object/apply:os.system ['touch {marker}']\n",
                f"--- !!python/object/new:os.system ['touch {marker}']\n",
                "--- !!python/name:os.system ''\n",
                f"x: !!python/object/apply:subprocess.check_output [['touch', '{marker}']]\n"):
        v = load_ruby_yaml(doc)
        assert "python/" in repr(v)
    assert not marker.exists()
    v = load_ruby_yaml("--- !!python/object/apply:os.system ['echo hi']\n")
    assert v == UnknownTag("tag:yaml.org,2002:python/object/apply:os.system", ["echo hi"])
    assert load_ruby_yaml("--- !foo bar\n") == UnknownTag("!foo", "bar")
    h = parse_handler("--- !!python/object/apply:os.system ['echo hi']\n")
    assert h.kind == "unknown" and h.parse_error is None and h.name == "Array"


def test_unhashable_and_recursive() -> None:
    v = load_ruby_yaml("? - 1\n  - 2\n: pair\n")
    assert list(v.values()) == ["pair"] and isinstance(next(iter(v)), UnhashableKey)
    v = load_ruby_yaml("--- &1 !ruby/object:Node\nself: *1\n")
    assert isinstance(v, RubyObject) and v.ivars["self"] is v
    h = parse_handler("--- &1 !ruby/struct:Loop\nme: *1\n")
    assert h.parse_error is None and h.args == [{"_class": "Loop", "me": "<recursive>"}]


def _billion_laughs(levels: int = 9) -> str:
    doc = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for name in "bcdefghijkl"[:levels - 1]:
        doc += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    return doc


def test_billion_laughs_rejected_fast_with_bounded_memory() -> None:
    doc = "--- !ruby/struct:Bomb\n" + "\n".join("  " + line for line in _billion_laughs().splitlines()) + "\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(RubyYamlError, match="alias bomb"):
        load_ruby_yaml(doc)
    h = parse_handler(doc)
    elapsed = time.perf_counter() - t0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert h.parse_error is not None and "alias" in h.parse_error and h.name == "Bomb"
    assert elapsed < 1.0, elapsed  # generous bound; it takes well under a millisecond
    assert grown_kib < 50_000


def test_alias_use_budget() -> None:
    doc = "a: &a x\nb: [" + ",".join(["*a"] * 50) + "]\n"
    assert load_ruby_yaml(doc)["b"] == ["x"] * 50
    with pytest.raises(RubyYamlError, match="aliases"):
        load_ruby_yaml(doc, limits=Limits(max_aliases=10))


def test_depth_limit() -> None:
    ok = "[" * 50 + "]" * 50
    assert load_ruby_yaml(ok) is not None
    deep = "[" * 150 + "]" * 150
    with pytest.raises(RubyYamlError, match="deeper"):
        load_ruby_yaml(deep)
    block = "".join("  " * i + "- \n" for i in range(120)) + "  " * 120 + "- x\n"
    with pytest.raises(RubyYamlError):
        load_ruby_yaml(block)
    assert parse_handler("[" * 5000 + "]" * 5000).parse_error is not None


def test_depth_through_aliases() -> None:
    doc = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    with pytest.raises(RubyYamlError, match="deeper"):
        load_ruby_yaml(doc)


def test_size_cap() -> None:
    big = "--- !ruby/struct:Big\ntext: " + "x" * 2_000_000 + "\n"
    with pytest.raises(RubyYamlError, match="cap"):
        load_ruby_yaml(big)
    h = parse_handler(big)
    assert h.parse_error and "cap" in h.parse_error and h.name == "Big"
    assert parse_handler(big, max_bytes=3_000_000).parse_error is None
    assert parse_handler(big.encode(), max_bytes=1000).parse_error is not None
    multibyte = "x: " + "é" * 600_000 + "\n"  # 600k chars, 1.2 MB of UTF-8
    with pytest.raises(RubyYamlError, match="cap"):
        load_ruby_yaml(multibyte)


def test_syntax_error_is_one_line_error() -> None:
    h = parse_handler("--- !ruby/object:Foo\nx: [unclosed\n")
    assert h.parse_error and "\n" not in h.parse_error and h.name == "Foo"
    h = parse_handler("--- [unclosed")
    assert h.parse_error and h.name == "(unparseable)"
    assert parse_handler(b"\xff\xfe--- x\n").parse_error is None


# --- properties ---------------------------------------------------------------------------------

# (PyYAML itself does not round-trip NEL / LS / PS line breaks inside plain scalars)
_plain_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85\u2028\u2029"),
                      max_size=30).filter(lambda s: not s.startswith(":"))
_plain_scalars = st.one_of(st.none(), st.booleans(), st.integers(), _plain_text,
                           st.floats(allow_nan=False), st.dates())
_plain_data = st.recursive(_plain_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=5), st.dictionaries(_plain_text, kids, max_size=5)), max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_plain_data)
def test_plain_yaml_round_trips(data) -> None:  # type: ignore[no-untyped-def]
    text = yaml.safe_dump(data, allow_unicode=True)
    assert load_ruby_yaml(text) == yaml.load(text, Loader=yaml.CSafeLoader) == data
    assert load_ruby_yaml(yaml.safe_dump(data, default_flow_style=True)) == data


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    h = parse_handler(text)
    assert isinstance(h.name, str) and isinstance(h.args, list)
    assert (h.parse_error is None) or isinstance(h.parse_error, str)


_yamlish = st.lists(st.sampled_from([
    "--- ", "!ruby/object:", "!ruby/struct:", "!ruby/class ", "!ruby/hash-with-ivars", "!ruby/range",
    "!ruby/regexp ", "!binary ", "!!python/object/apply:os.system ", "&a ", "*a ", "*b ", ":sym ", "Foo",
    "\n", "  ", "- ", ": ", "[", "]", "{", "}", "'", '"', "|-\n", "elements:", "ivars:", "internal:",
    "job_data:", "arguments:", "object:", "method_name: ", "args:", "\t", "%YAML 1.1\n", "...\n", "\x00",
]), max_size=40).map("".join)


@settings(max_examples=800, deadline=None)
@given(_yamlish)
def test_yaml_shaped_garbage_never_raises(text: str) -> None:
    for variant in (text, text.encode("utf-8", "surrogatepass")):
        h = parse_handler(variant)
        assert isinstance(h.name, str) and h.kind in (
            "performable_method", "performable_mailer", "active_job", "struct", "object", "unknown")
