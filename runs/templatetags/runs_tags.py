from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from runs.ansi import ansi_to_html

register = template.Library()


@register.filter
def ansi(text: str | None) -> SafeString:
    """Log text with ANSI colours as spans; everything else escaped."""
    return ansi_to_html(text or "")
