"""Names as a terminal may show them: control and direction-override characters made visible.

A segment name is data from the platform. Printed raw, a newline in it could add a fake line to
a plan under review, an escape sequence could recolour or clear the terminal, and a right-to-left
override could make it read as another name. The JSON outputs keep every name byte for byte;
text for people shows such characters as \\n, \\x1b, \\u202e."""

from __future__ import annotations

import re

# C0 and C1 controls and DEL, and the bidirectional embeddings, overrides and isolates
# (not the plain LRM/RLM marks, which right-to-left names legitimately carry).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every character that could forge or hide terminal output escaped."""
    return _UNSAFE.sub(_escape, text)
