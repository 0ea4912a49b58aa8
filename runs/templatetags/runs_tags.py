from __future__ import annotations

import math

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from runs.ansi import ansi_to_html

register = template.Library()


@register.filter
def ansi(text: str | None) -> SafeString:
    """Log text with ANSI colours as spans; everything else escaped."""
    return ansi_to_html(text or "")


SIGNIFICANT = 4


def short_number(value: object, digits: int = SIGNIFICANT) -> tuple[str, str]:
    """A metric value as a page shows it, and in full: floats to ``digits`` significant digits
    (numbers from 10 000 to 10^15 rounded to whole ones rather than in scientific notation); integers, text and the rest as they are."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = "" if value is None else str(value)
        return text, text
    if isinstance(value, int):
        return str(value), str(value)
    if math.isnan(value) or math.isinf(value):
        return repr(value), repr(value)
    shown = f"{value:.{digits}g}"
    if "e" in shown and 1 <= abs(value) < 1e15:
        shown = str(round(value))
    # Nothing cut (3.0 shown as 3): the full value is the one shown.
    return shown, shown if float(shown) == value else repr(value)


@register.filter
def metric(value: object, empty: str = "") -> SafeString:
    """A metric value to read: ``short_number``, with the full value on hover when it is cut."""
    if value is None:
        return format_html("{}", empty)
    shown, full = short_number(value)
    if shown == full:
        return format_html("{}", shown)
    return format_html('<span title="{}">{}</span>', full, shown)
