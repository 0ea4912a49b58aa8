"""``{% when run.created_at %}``: one way to show an instant on every page.

Within the last day it reads relative ("3 min ago", "5 hours ago"); otherwise it is the time
in the viewer's own time zone (studio.js rewrites ``<time class="local">`` in the browser; the
page says UTC until then). Hovering shows the exact time in UTC. ``default`` is shown for no
time at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

DAY = timedelta(days=1)


def relative(moment: datetime, now: datetime) -> str | None:
    """'3 min ago' for an instant within the last day, else None."""
    ago = now - moment
    if ago < timedelta(0) or ago >= DAY:
        return None
    if ago < timedelta(minutes=1):
        return "just now"
    if ago < timedelta(hours=1):
        return f"{int(ago.total_seconds() // 60)} min ago"
    hours = int(ago.total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''} ago"


@register.simple_tag
def when(moment: datetime | None, default: str = "—") -> SafeString | str:
    if moment is None or moment == "":
        return default
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    utc = moment.astimezone(UTC)
    iso = utc.isoformat().replace("+00:00", "Z")
    exact = f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    text = relative(utc, timezone.now())
    if text is not None:
        return format_html('<time class="ago" datetime="{}" title="{}">{}</time>', iso, exact, text)
    return format_html(
        '<time class="local" datetime="{}" title="{}">{}</time>',
        iso,
        f"{exact}",
        f"{utc:%Y-%m-%d %H:%M} UTC",
    )
