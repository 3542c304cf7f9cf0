"""Safe text: everything read from a queue is untrusted.

* `visible()` turns control characters (C0, C1, DEL), bidi overrides and zero-width characters
  into visible escapes (`\\x1b`, `\\u202e`), so nothing a job wrote can move the cursor, retitle the
  terminal, hide text or reorder it.
* Rich markup is never interpreted: renderers build `rich.text.Text` objects (plain text, no
  markup parsing) from `visible()` output; `escape_markup()` exists for the few places that must
  build markup strings.
* `mask_url()` hides passwords in URLs wherever a URL is shown (errors, --trace, targets, ping,
  alert messages, logs).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# C0 controls except \n and \t are handled by `visible(keep_newlines=...)`; C1 controls; DEL;
# bidi embeddings/overrides/isolates; zero-width and other invisible format characters; BOM;
# line/paragraph separators (terminals may treat them as newlines).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u206a-\u206f\ufeff"
    "\u2028\u2029\u061c\u180e\ufff9-\ufffb]"
)
_UNSAFE_NO_NL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u206a-\u206f\ufeff"
    "\u2028\u2029\u061c\u180e\ufff9-\ufffb]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _esc(m: re.Match[str]) -> str:
    c = m.group(0)
    o = ord(c)
    if c == "\n":
        return "\\n"
    if c == "\t":
        return "\\t"
    if c == "\r":
        return "\\r"
    if o < 0x100:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}"


def _esc_surrogate(m: re.Match[str]) -> str:
    o = ord(m.group(0))
    if 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8, decoded with surrogateescape: show the byte
        return f"\\x{o - 0xDC00:02x}"
    return f"\\u{o:04x}"


def visible(text: object, *, keep_newlines: bool = False, max_len: int | None = None) -> str:
    """Untrusted text -> a string safe to print: no control/bidi/zero-width characters remain."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        s = text.decode("utf-8", "backslashreplace")
    else:
        s = text if isinstance(text, str) else str(text)
    if max_len is not None and len(s) > max_len:
        s = s[:max_len] + "…"
    s = _SURROGATE.sub(_esc_surrogate, s)
    return (_UNSAFE if keep_newlines else _UNSAFE_NO_NL).sub(_esc, s)


def escape_markup(text: str) -> str:
    """Escape Rich markup in an already-`visible()` string (for places that must build markup)."""
    return re.sub(r"(\\*)(\[[a-zA-Z@/#!\]])", lambda m: m.group(1) * 2 + "\\" + m.group(2), text)


def is_safe(text: str) -> bool:
    return _UNSAFE_NO_NL.search(text) is None


def mask_url(url: str | None) -> str:
    """`redis://user:secret@host/0` -> `redis://user:***@host/0`; query secrets too."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{host}"
        elif parts.scheme.startswith(("redis", "rediss", "unix")) and userinfo:
            # redis://secret@host: a bare userinfo is the password for Redis URLs
            netloc = f"***@{host}"
    query = re.sub(r"(?i)((?:^|&)(?:password|passwd|pass|pwd|secret|token)=)[^&]*", r"\1***", parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url  # nothing secret (and urlunsplit would drop sqlite:////'s empty host)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_secrets_in(text: str, urls: list[str]) -> str:
    """Replace any of `urls` (and any password-bearing URL) inside free text, e.g. a driver error."""
    for u in urls:
        if u:
            text = text.replace(u, mask_url(u))
    return re.sub(r"([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", r"\1***@", text)
