"""A safe loader for the Ruby-flavoured YAML (Psych, and Syck-era) that Delayed Job stores.

`load_ruby_yaml(text)` parses with PyYAML's *safe* machinery only (a subclass of `CSafeLoader`,
falling back to `SafeLoader`) and maps every Psych tag onto the inert dataclasses in
`jobctl.parse.ruby_types` — no tag ever constructs a real object or calls anything:

* `!ruby/object:C`, `!ruby/struct:C`, `!ruby/class`, `!ruby/module`, `!ruby/hash:C`,
  `!ruby/hash-with-ivars[:C]`, `!ruby/array:C`, `!ruby/string:C`, `!ruby/exception:C`, `!ruby/range`,
  `!ruby/regexp`, `!ruby/ActiveRecord:C` (+ Mongoid/DataMapper), `!ruby/sym`, `!ruby/symbol`;
  other `!ruby/<kind>:C` families (`marshalable`, `data`, `encoding`…) become `RubyObject(kind=...)`.
* plain scalars `:name` (Psych's symbols) -> `RubySymbol`; `!binary` -> bytes.
* Syck-era forms: `tag:ruby.yaml.org,2002:<kind>:C` long tags, `!str`, `!timestamp`, `!int`, …
* anything else (`!!python/object/apply:os.system`, `!foo`) -> `UnknownTag(tag, value)`.

Limits (`Limits`), all enforced *before* construction on the composed node graph:
size cap on the input, expanded node budget (aliases count as many times as they are used, so a
"billion laughs" document is rejected after composing a few hundred nodes), alias-use budget, and
nesting depth (also through aliases). libyaml itself refuses flow nesting beyond 1000 levels.
Every failure is a `RubyYamlError` (a `ValueError`) with one line of explanation.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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

try:  # libyaml-backed parser when PyYAML was built with it (it is in our venv)
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _BaseLoader = yaml.SafeLoader

_STR_TAG = "tag:yaml.org,2002:str"
_SYCK_RUBY_PREFIX = "tag:ruby.yaml.org,2002:"
_QUOTED_SYMBOL = re.compile(r"""^:(["'])(.*)\1$""", re.S)
_RANGE_SCALAR = re.compile(r"^(.*?)(\.\.\.?)(.*)$", re.S)
_REGEXP_SCALAR = re.compile(r"^/(.*)/([a-z]*)$", re.S)


class RubyYamlError(ValueError):
    """The handler could not be loaded (syntax error, over a limit, unconstructable)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one handler may cost. Defaults are far above any real handler."""

    max_bytes: int = 1_000_000  # input size (UTF-8 bytes)
    max_nodes: int = 200_000  # nodes after expanding every alias use
    max_aliases: int = 10_000  # alias uses (`*ref`)
    max_depth: int = 100  # nesting, counted through aliases


DEFAULT_LIMITS = Limits()


def _byte_length(text: str, cap: int) -> int:
    """UTF-8 length of `text`, computed cheaply when it is clearly under `cap`."""
    if len(text) * 4 <= cap:
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        out: list[Node] = []
        for k, v in node.value:
            out.append(k)
            out.append(v)
        return out
    return []


def check_graph(root: Node, limits: Limits) -> None:
    """Walk the composed graph once (iteratively, memoised per node) and enforce the budgets.

    The expanded size of a node = 1 + expanded sizes of its children, so a node reached through
    N aliases counts N times — exactly the work a naive walk (JSON dump, pretty-print) would do.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    aliases = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        nid = id(node)
        if finished:
            total, deepest = 1, 0
            for child in _children(node):
                total += size.get(id(child), 1)  # a cycle back to an ancestor counts once
                deepest = max(deepest, depth.get(id(child), 1))
            size[nid] = total
            depth[nid] = deepest + 1
            on_path.discard(nid)
            if total > limits.max_nodes:
                raise RubyYamlError(f"document expands to more than {limits.max_nodes} nodes (alias bomb?)")
            if deepest + 1 > limits.max_depth:
                raise RubyYamlError(f"document nests deeper than {limits.max_depth} levels")
            continue
        if nid in size or nid in on_path:
            aliases += 1
            if aliases > limits.max_aliases:
                raise RubyYamlError(f"document uses more than {limits.max_aliases} aliases")
            continue
        on_path.add(nid)
        stack.append((node, True))
        if len(on_path) > limits.max_depth:
            raise RubyYamlError(f"document nests deeper than {limits.max_depth} levels")
        for child in _children(node):
            cid = id(child)
            if cid in size or cid in on_path:
                aliases += 1
                if aliases > limits.max_aliases:
                    raise RubyYamlError(f"document uses more than {limits.max_aliases} aliases")
                continue
            stack.append((child, False))


class RubyYamlLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """CSafeLoader/SafeLoader + Ruby tags. Never constructs arbitrary objects."""

    limits: Limits = DEFAULT_LIMITS

    def get_single_node(self) -> Node | None:
        node = super().get_single_node()
        if node is not None:
            check_graph(node, self.limits)
        return node

    # --- mappings: allow keys Python cannot hash (Ruby can have Array/Hash keys) ---------------
    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            raise yaml.constructor.ConstructorError(None, None, f"expected a mapping node, but found {getattr(node, 'id', '?')}",
                                                    node.start_mark)
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                key = UnhashableKey(repr(key))
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    # --- Psych symbols are plain scalars with a leading colon ----------------------------------
    def construct_yaml_str(self, node: Node) -> Any:
        value = self.construct_scalar(node)
        if getattr(node, "style", None) in (None, "") and len(value) > 1 and value.startswith(":"):
            m = _QUOTED_SYMBOL.match(value)
            return RubySymbol(m.group(2) if m else value[1:])
        return value


RubyYamlLoader.add_constructor(_STR_TAG, RubyYamlLoader.construct_yaml_str)


def _scalar_text(loader: RubyYamlLoader, node: Node) -> str:
    value = loader.construct_scalar(node)
    return value if isinstance(value, str) else str(value)


def _split_suffix(suffix: str) -> tuple[str, str | None]:
    kind, sep, cls = suffix.partition(":")
    return kind, (cls if sep else None)


def _construct_ruby(loader: RubyYamlLoader, suffix: str, node: Node) -> Any:
    """Dispatch one `!ruby/<suffix>` node. Scalars are built at once; collections via a generator
    (create empty, yield, then fill) so self-referencing Ruby structures load like PyYAML's own."""
    kind, cls = _split_suffix(suffix)
    if not kind:  # a bare `!ruby/` names nothing: Psych loads it as a plain Hash/Array/String
        return _construct_unknown(loader, node)
    if isinstance(node, ScalarNode):
        return _ruby_scalar(loader, kind, cls, node)
    return _ruby_collection(loader, kind, cls, node)


def _ruby_scalar(loader: RubyYamlLoader, kind: str, cls: str | None, node: ScalarNode) -> Any:
    text = _scalar_text(loader, node)
    if kind == "class":
        return RubyClass(cls or text)
    if kind == "module":
        return RubyModule(cls or text)
    if kind in ("sym", "symbol"):
        return RubySymbol(text[1:] if text.startswith(":") else text)
    if kind == "regexp":
        m = _REGEXP_SCALAR.match(text)
        return RubyRegexp(m.group(1), m.group(2)) if m else RubyRegexp(text)
    if kind == "range":
        m = _RANGE_SCALAR.match(text)
        if m:
            return RubyRange(_plain(m.group(1)), _plain(m.group(3)), m.group(2) == "...")
        return RubyRange(text, None, False)
    if kind == "string":
        return RubyString(cls or "String", text)
    if kind == "struct":
        return RubyStruct(cls or "Struct", {})
    if kind == "exception":
        return RubyException(cls or "Exception", text)
    return RubyObject(cls or kind, {}, text, kind)


def _plain(text: str) -> Any:
    """A range endpoint from Syck's scalar form: an int when it looks like one."""
    try:
        return int(text)
    except ValueError:
        return text


def _ruby_collection(loader: RubyYamlLoader, kind: str, cls: str | None, node: Node) -> Any:
    """Generator constructor. Nested collections come back empty and are filled by PyYAML later
    (that is how recursion works), so inner dicts/lists are kept by reference, never copied."""
    if isinstance(node, SequenceNode):
        if kind == "array":
            arr = RubyArray(cls or "Array")
            yield arr
            arr.items.extend(loader.construct_sequence(node))
            return
        obj = RubyObject(cls or kind, {}, [], kind)
        yield obj
        obj.value.extend(loader.construct_sequence(node))
        return
    if kind == "struct":
        st = RubyStruct(cls or "Struct")
        yield st
        st.members.update(loader.construct_mapping(node))
        return
    if kind in ("ActiveRecord", "Mongoid", "DataMapper"):
        ar = RubyActiveRecord(cls or "", {}, kind)
        yield ar
        data = loader.construct_mapping(node)
        attrs = data.get("attributes")
        ar.attributes = attrs if isinstance(attrs, dict) else data  # same object: filled later if nested
        return
    if kind in ("hash", "hash-with-ivars"):
        h = RubyHash(cls or "Hash")
        yield h
        data = loader.construct_mapping(node)
        if kind == "hash-with-ivars":
            elements, ivars = data.get("elements"), data.get("ivars")
            h.items = elements if isinstance(elements, dict) else {}  # kept by reference (filled later)
            h.ivars = ivars if isinstance(ivars, dict) else {}
        else:
            h.items.update(data)
        return
    if kind == "array":
        arr = RubyArray(cls or "Array")
        yield arr
        data = loader.construct_mapping(node)
        internal = data.pop("internal", [])
        arr.items = internal if isinstance(internal, list) else [internal]  # by reference (filled later)
        ivars = data.pop("ivars", {})
        arr.ivars = ivars if isinstance(ivars, dict) else data
        return
    if kind == "string":
        s = RubyString(cls or "String")
        yield s
        data = loader.construct_mapping(node)
        s.value = data.pop("str", "")
        s.ivars.update(data)
        return
    if kind == "exception":
        exc = RubyException(cls or "Exception")
        yield exc
        data = loader.construct_mapping(node)
        exc.message = data.pop("message", None)
        exc.ivars.update(data)
        return
    if kind == "range":
        rng = RubyRange()
        yield rng
        data = loader.construct_mapping(node)
        rng.begin, rng.end, rng.excl = data.get("begin"), data.get("end"), bool(data.get("excl"))
        return
    obj = RubyObject(cls or ("Object" if kind == "object" else kind), {}, None, kind)
    yield obj
    obj.ivars.update(loader.construct_mapping(node))


def _construct_syck_ruby(loader: RubyYamlLoader, suffix: str, node: Node) -> Any:
    """Syck's long form `tag:ruby.yaml.org,2002:object:Foo` == Psych's `!ruby/object:Foo`."""
    return _construct_ruby(loader, suffix, node)


def _construct_unknown(loader: RubyYamlLoader, node: Node) -> Any:
    """Any other tag: keep its data, attach the tag, never act on it."""
    if isinstance(node, ScalarNode):
        return UnknownTag(str(node.tag), loader.construct_scalar(node))
    return _unknown_collection(loader, node)


def _unknown_collection(loader: RubyYamlLoader, node: Node) -> Any:
    ut = UnknownTag(str(node.tag))
    yield ut
    if isinstance(node, SequenceNode):
        ut.value = loader.construct_sequence(node)
    else:
        ut.value = loader.construct_mapping(node)


def _construct_unknown_multi(loader: RubyYamlLoader, _suffix: str, node: Node) -> Any:
    return _construct_unknown(loader, node)


def _construct_binary(loader: RubyYamlLoader, node: Node) -> Any:
    """Psych's local `!binary` tag (PyYAML only knows `!!binary`): base64 -> bytes."""
    text = _scalar_text(loader, node) if isinstance(node, ScalarNode) else ""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        if isinstance(node, ScalarNode):
            return UnknownTag("!binary", text)
        return _construct_unknown(loader, node)


def _construct_syck_plain(tag_name: str) -> Any:
    """Syck's short local tags `!str`, `!int`, … map onto the YAML core constructors."""
    def construct(loader: RubyYamlLoader, node: Node) -> Any:
        try:
            if tag_name == "str" and isinstance(node, MappingNode):
                return _ruby_collection(loader, "string", None, node)
            method = {"str": "construct_scalar", "int": "construct_yaml_int", "float": "construct_yaml_float",
                      "bool": "construct_yaml_bool", "null": "construct_yaml_null",
                      "timestamp": "construct_yaml_timestamp", "seq": "construct_sequence",
                      "map": "construct_mapping"}[tag_name]
            return getattr(loader, method)(node)
        except (yaml.YAMLError, ValueError, TypeError):
            return _construct_unknown(loader, node)
    return construct


for _name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map"):
    RubyYamlLoader.add_constructor(f"!{_name}", _construct_syck_plain(_name))
RubyYamlLoader.add_constructor("!binary", _construct_binary)
RubyYamlLoader.add_multi_constructor("!ruby/", _construct_ruby)
RubyYamlLoader.add_multi_constructor(_SYCK_RUBY_PREFIX, _construct_syck_ruby)
RubyYamlLoader.add_multi_constructor("!", _construct_unknown_multi)
RubyYamlLoader.add_multi_constructor("tag:", _construct_unknown_multi)
RubyYamlLoader.add_constructor(None, _construct_unknown)


def load_ruby_yaml(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Load one YAML document into plain Python data + `ruby_types` nodes.

    Raises `RubyYamlError` (only) on any failure: size over `limits.max_bytes`, a syntax error,
    a budget exceeded, more than one document, or runaway recursion.
    """
    if isinstance(text, bytes):
        if len(text) > limits.max_bytes:
            raise RubyYamlError(f"handler is {len(text)} bytes, over the {limits.max_bytes}-byte parse cap")
        text = text.decode("utf-8", "replace")
    elif _byte_length(text, limits.max_bytes) > limits.max_bytes:
        raise RubyYamlError(f"handler is over the {limits.max_bytes}-byte parse cap")
    loader = RubyYamlLoader(text)
    loader.limits = limits
    try:
        return loader.get_single_data()
    except RubyYamlError:
        raise
    except yaml.YAMLError as e:
        raise RubyYamlError(_one_line(e)) from None
    except RecursionError:
        raise RubyYamlError("document nests too deeply") from None
    except (ValueError, TypeError, OverflowError, UnicodeError, AttributeError) as e:
        raise RubyYamlError(f"{type(e).__name__}: {e}") from None
    finally:
        loader.dispose()


def _one_line(e: BaseException) -> str:
    """A YAML error as one line: `problem at line L column C`."""
    problem = getattr(e, "problem", None) or str(e).split("\n")[0]
    mark = getattr(e, "problem_mark", None)
    context = getattr(e, "context", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
    prefix = f"{context}: " if context else ""
    return f"{type(e).__name__}: {prefix}{problem}{where}"
