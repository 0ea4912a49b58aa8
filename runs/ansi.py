"""ANSI colour codes in logs, rendered as escaped HTML with colour classes (plain Python)."""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_OTHER = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b")
_COLOURS = {str(n) for n in (*range(30, 38), *range(90, 98))}
_BACKGROUNDS = {str(n) for n in (*range(40, 48), *range(100, 108))}


def ansi_to_html(text: str) -> SafeString:
    """Every character of ``text`` is HTML-escaped; SGR colour codes become <span class="ansi-...">."""
    out: list[str] = []
    classes: list[str] = []
    position = 0
    open_span = False
    for match in _SGR.finditer(text):
        out.append(escape(_OTHER.sub("", text[position : match.start()])))
        position = match.end()
        for code in (match.group(1) or "0").split(";"):
            if code in ("", "0"):
                classes = []
            elif code == "1":
                classes.append("ansi-bold")
            elif code in _COLOURS:
                classes = [c for c in classes if not c.startswith("ansi-fg")] + [f"ansi-fg{code}"]
            elif code in _BACKGROUNDS:
                classes = [c for c in classes if not c.startswith("ansi-bg")] + [f"ansi-bg{code}"]
        if open_span:
            out.append("</span>")
            open_span = False
        if classes:
            out.append('<span class="' + " ".join(sorted(set(classes))) + '">')
            open_span = True
    out.append(escape(_OTHER.sub("", text[position:])))
    if open_span:
        out.append("</span>")
    # mark_safe (bandit's S308): every piece of user text above went through escape().
    return mark_safe("".join(out))
