"""Text from outside shown safely: control characters made visible, never sent to a terminal as they are.

Residents' words, operators' notes and names come from files, forms and other people's terminals; a
terminal takes an escape sequence in them as an order (clear the screen, retitle the window, plant a
link). Shown through :func:`visible`, each such character is written out as its escape (``\\x1b``), so
what is on the screen is what was written, and the store and ``--json`` keep the text as it came.
"""

from __future__ import annotations

import re

#: C0 and C1 controls, DEL, the Unicode controls that reorder or hide text on a terminal
#: (bidirectional embeddings, overrides and isolates; zero-width joiners are left alone), and lone
#: surrogates (which no terminal or UTF-8 file can hold).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character written out as its escape (an escape as ``\\x1b``, a line
    break as ``\\x0a``), the rest as it is."""
    return _CONTROL.sub(_escape, text)
