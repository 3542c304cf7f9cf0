"""Secret masking for alerting: SMTP passwords and webhook URLs never appear in any message.

Every error text a notifier produces (driver exceptions, HTTP bodies, command stderr) passes
through `Secrets.mask()` before it reaches stderr, JSON output or the state file.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from jobctl.safe import mask_secrets_in, mask_url


def mask_webhook_url(url: str) -> str:
    """`https://hooks.slack.com/services/T0/B0/XYZ` -> `https://hooks.slack.com/***`.

    For incoming webhooks the path (and query) *is* the credential, so only scheme and host stay.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if not parts.scheme or not parts.netloc:
        return "***"
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, "/***" if parts.path not in ("", "/") or parts.query else "", "", ""))


class Secrets:
    """A registry of secret strings; `mask()` replaces each with a safe form."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def add(self, secret: str | None, shown: str = "***") -> None:
        if secret and len(secret) >= 3:
            self._items[secret] = shown

    def add_url(self, url: str | None) -> None:
        if url:
            self.add(url, mask_webhook_url(url))
            parts = urlsplit(url)
            if parts.path and len(parts.path) > 1:
                self.add(parts.path + (("?" + parts.query) if parts.query else ""), "/***")
            if parts.password:
                self.add(parts.password)

    def mask(self, text: str) -> str:
        # longest first, so a URL is replaced before the password inside it
        for secret in sorted(self._items, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, self._items[secret])
        return mask_secrets_in(text, [])

    def __len__(self) -> int:
        return len(self._items)


def shown_url(url: str) -> str:
    """A URL for messages: webhook-style (path hidden) for http(s), credential-masked otherwise."""
    if url.startswith(("http://", "https://")):
        return mask_webhook_url(url)
    return mask_url(url)
