"""Hiding passwords in workspace URLs wherever a location may be shown, logged or recorded."""

from __future__ import annotations

import re

# scheme://user:password@host  ->  scheme://user:***@host
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*):(?P<secret>[^@/\s]*)@")
# ?password=... or &password=... (libpq accepts the password as a URL query parameter too)
_QUERY = re.compile(r"(?P<head>[?&]password=)(?P<secret>[^&#\s]*)", re.IGNORECASE)
# password=... in a key=value connection string
_KEYWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE
)

MASK = "***"


def redact(text: str) -> str:
    """`text` with every password in a URL or connection string replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    text = _QUERY.sub(lambda m: f"{m.group('head')}{MASK}", text)
    return _KEYWORD.sub(lambda m: f"{m.group('head')}{MASK}", text)
