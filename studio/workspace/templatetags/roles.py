"""``{% allowed "change" owner=run.created_by as can_cancel %}``: whether the page's user may
do an action (``studio.workspace.roles``), to show only the buttons that would work."""

from __future__ import annotations

from typing import Any

from django import template

from studio.workspace import roles

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed(context: template.Context, action: str, **target: Any) -> bool:
    request = context.get("request")
    return request is not None and roles.allowed(request, action, **target)
