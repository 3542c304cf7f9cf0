"""Inert Python stand-ins for the Ruby values Psych writes into Delayed Job handlers.

`jobctl.parse.ruby_yaml` builds these from tagged YAML nodes instead of constructing any real
object: a tag only ever selects which of these plain dataclasses holds the node's data, so a
hostile handler cannot make jobctl run code. Everything else stays ordinary Python data
(dict, list, str, int, float, bool, None, bytes, date, datetime).

The classes are deliberately small: `cls` is the Ruby class name taken from the tag, the rest is
the node's content as loaded. Symbols and class references are frozen (hashable, so they can be
mapping keys); the container-like ones are mutable because the loader fills them after creating
them (that is what lets self-referencing Ruby structures load).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RubySymbol:
    """A Ruby Symbol: a plain scalar `:name` (or `!ruby/sym name`, `!ruby/symbol name`)."""

    name: str


@dataclass(frozen=True, slots=True)
class RubyClass:
    """`!ruby/class 'User'`: a reference to a class (a PerformableMethod's receiver)."""

    name: str


@dataclass(frozen=True, slots=True)
class RubyModule:
    """`!ruby/module 'Billing'`: a reference to a module."""

    name: str


@dataclass(frozen=True, slots=True)
class UnhashableKey:
    """A mapping key Ruby allows but Python cannot hash (an Array or Hash key); keeps its repr."""

    text: str


@dataclass(slots=True)
class RubyObject:
    """`!ruby/object:<cls>` (and other class-carrying tags jobctl has no closer type for).

    Mapping form: `ivars` holds the instance variables without `@` (Psych's encoding).
    Scalar/sequence form (`!ruby/object:BigDecimal 18:0.125e2`, `!ruby/object:DateTime ...`):
    `value` holds the scalar or list. `kind` is the tag family (`object`, `marshalable`, `data`…).
    """

    cls: str
    ivars: dict[Any, Any] = field(default_factory=dict)
    value: Any = None
    kind: str = "object"


@dataclass(slots=True)
class RubyStruct:
    """`!ruby/struct:<cls>`: a Struct; `members` in declaration order."""

    cls: str
    members: dict[Any, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RubyActiveRecord:
    """`!ruby/ActiveRecord:<cls>` (DJ 3.x / 4.0.0–4.0.3; also `!ruby/Mongoid:`, `!ruby/DataMapper:`)."""

    cls: str
    attributes: dict[Any, Any] = field(default_factory=dict)
    flavor: str = "ActiveRecord"


@dataclass(slots=True)
class RubyHash:
    """`!ruby/hash:<cls>` or `!ruby/hash-with-ivars[:<cls>]`: a Hash subclass (e.g. HashWithIndifferentAccess)."""

    cls: str
    items: dict[Any, Any] = field(default_factory=dict)
    ivars: dict[Any, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RubyArray:
    """`!ruby/array:<cls>`: an Array subclass (sequence form, or `internal:`/`ivars:` mapping form)."""

    cls: str
    items: list[Any] = field(default_factory=list)
    ivars: dict[Any, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RubyString:
    """`!ruby/string:<cls>` (a String subclass) or a string with ivars (`str:` mapping form)."""

    cls: str
    value: Any = ""
    ivars: dict[Any, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RubyException:
    """`!ruby/exception:<cls>`: `message`, and `backtrace` plus any other ivars in `ivars`."""

    cls: str
    message: Any = None
    ivars: dict[Any, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RubyRange:
    """`!ruby/range` (mapping `begin`/`end`/`excl`, or Syck's scalar `1..3`)."""

    begin: Any = None
    end: Any = None
    excl: bool = False


@dataclass(slots=True)
class RubyRegexp:
    """`!ruby/regexp /source/flags`."""

    source: str
    flags: str = ""


@dataclass(slots=True)
class UnknownTag:
    """Any tag jobctl does not know (`!!python/object/apply:os.system`, `!foo`): kept inert, never run."""

    tag: str
    value: Any = None


RUBY_TYPES = (RubySymbol, RubyClass, RubyModule, UnhashableKey, RubyObject, RubyStruct, RubyActiveRecord,
              RubyHash, RubyArray, RubyString, RubyException, RubyRange, RubyRegexp, UnknownTag)
