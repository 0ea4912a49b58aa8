"""The step panel's Code tab: a step's snapshot (its source directory as submitted), file by
file, highlighted on the server by Pygments with CSS classes (the Content-Security-Policy
allows no inline style; the classes' colours are static/studio/pygments.css, made by
:func:`stylesheet`)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

from studio.workspace import storage
from studio.workspace.models import Snapshot

MAX_SHOWN = 512 * 1024  # larger files are offered for download only
MAX_FILES = 2000
CSS_CLASS = "source"
LIGHT_STYLE, DARK_STYLE = "default", "github-dark"


@dataclass(frozen=True)
class SourceFile:
    """One file of a snapshot as the tab shows it: ``html`` (highlighted, Pygments escapes the
    text) or, when it cannot be shown, ``note`` saying why."""

    path: str
    size: int
    html: SafeString | str = ""
    note: str = ""


def snapshot_files(digest: str) -> list[str]:
    """The paths of a snapshot's files, sorted (at most MAX_FILES)."""
    files = Snapshot.objects.filter(digest=digest).values_list("files", flat=True).first()
    return sorted(files or {})[:MAX_FILES]


def source_file(digest: str, path: str) -> SourceFile | None:
    """A file of the snapshot ``digest``, highlighted; None when the snapshot has no such file."""
    try:
        with zipfile.ZipFile(storage.snapshot_path(digest)) as zf:
            try:
                info = zf.getinfo(path)
            except KeyError:
                return None
            if info.file_size > MAX_SHOWN:
                return SourceFile(path, info.file_size, note="This file is too large to show.")
            data = zf.read(info)
    except FileNotFoundError:
        return SourceFile(path, 0, note="The snapshot's files are not stored on this server.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return SourceFile(path, len(data), note="A binary file: it is not shown.")
    return SourceFile(path, len(data), html=highlighted(path, text))


def highlighted(path: str, text: str) -> SafeString:
    """``text`` as HTML with line numbers, its language guessed from the file name."""
    try:
        lexer = get_lexer_for_filename(path, text, stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    # Safe to mark: Pygments escapes every character of the text it wraps in its own markup.
    return mark_safe(highlight(text, lexer, _formatter()))


def stylesheet() -> str:
    """The CSS of the highlighted code: light, and dark under ``[data-theme="dark"]``."""
    rules = []
    for style, scope in (
        (LIGHT_STYLE, f".{CSS_CLASS}"),
        (DARK_STYLE, f'[data-theme="dark"] .{CSS_CLASS}'),
    ):
        defs = HtmlFormatter(style=style).get_style_defs(scope).splitlines()
        # Only the rules inside the scope: Pygments adds page-wide ones (pre, td.linenos).
        rules += [line for line in defs if line.startswith(scope + " ")]
    head = (
        f"/* Made by runs.code.stylesheet() (Pygments styles {LIGHT_STYLE} and {DARK_STYLE});\n"
        "   tests/runs/test_code.py checks that it is current. */\n"
    )
    return head + "\n".join(rules) + "\n"


def _formatter() -> HtmlFormatter:
    return HtmlFormatter(linenos="table", cssclass=CSS_CLASS, wrapcode=True)
