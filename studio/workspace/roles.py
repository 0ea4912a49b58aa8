"""Who may do what: the workspace's one authorization rule, for the API and the pages alike.

Everyone in the workspace reads everything, as in an Azure ML workspace. ``submit`` starts runs
and creates what its user then owns (published pipelines, endpoints, schedules, datasets,
environments, snapshots); changing, cancelling or disabling what another user owns, and the
workspace's own settings (datastores, the default datastore), need ``admin``.

A request acts with its account's role, capped by its token's scope: an account is ``admin``
when it is staff or a superuser, ``read`` when it belongs to the ``readers`` group, and
``submit`` otherwise. A step's run token acts for the user who submitted the run, at most with
``submit``; a token limited to one published pipeline or endpoint reads and submits only that.

Views call :func:`authorize` once they know the object (its owner); templates ask
:func:`allowed` to decide which buttons to show. Both refuse with the same message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied

from studio.workspace.auth import RunCredential
from studio.workspace.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db import models

READ, SUBMIT, ADMIN = "read", "submit", "admin"
ROLES = (READ, SUBMIT, ADMIN)
READERS_GROUP = "readers"

# What an action needs: "read" anything; "create" something the user will own (or start a run);
# "submit" a published pipeline or endpoint (limited tokens may, for theirs); "change" an object
# (its owner, or an admin); "administer" the workspace's settings.
ACTIONS = ("read", "create", "submit", "change", "administer")
_RANK = {READ: 0, SUBMIT: 1, ADMIN: 2}


def account_role(user: AbstractBaseUser | AnonymousUser | None) -> str | None:
    """The role of an account, or None for an anonymous or inactive one."""
    if user is None or not user.is_authenticated or not getattr(user, "is_active", False):
        return None
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        return ADMIN
    if user.groups.filter(name=READERS_GROUP).exists():  # type: ignore[union-attr]
        return READ
    return SUBMIT


def role_of(user: Any, credential: Any = None) -> str | None:
    """The role a request acts with: its account's, capped by its token's scope."""
    role = account_role(user)
    if role is None:
        return None
    cap = ADMIN
    if isinstance(credential, ApiToken):
        cap = credential.scope if credential.scope in _RANK else READ
    elif isinstance(credential, RunCredential):
        cap = SUBMIT
    return min(role, cap, key=_RANK.__getitem__)


def refusal(
    request: Any,
    action: str,
    *,
    owner: Any = None,
    pipeline: models.Model | None = None,
    endpoint: models.Model | None = None,
) -> str | None:
    """Why ``request`` may not do ``action`` (to an object of ``owner``), or None if it may.

    ``owner`` is the owning user (or None for an object nobody owns any longer: only an admin
    changes it); ``pipeline``/``endpoint`` is what a submit or read targets, for limited tokens.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    user = getattr(request, "user", None)
    credential = getattr(request, "auth", None)
    role = role_of(user, credential)
    if role is None:
        return "Sign in first."
    if isinstance(credential, ApiToken) and (credential.pipeline_id or credential.endpoint_id):
        if action not in ("read", "submit") or (pipeline is None and endpoint is None):
            return "This token is limited to one published pipeline or endpoint and can only submit it."
        if not credential.may_submit(pipeline=pipeline, endpoint=endpoint) and not (
            action == "read" and _limited_reads(credential, pipeline, endpoint)
        ):
            return "This token is limited to another published pipeline or endpoint."
    if action == "read":
        return None
    if action in ("create", "submit"):
        return None if _RANK[role] >= _RANK[SUBMIT] else _needs(SUBMIT, user, credential)
    if action == "administer":
        return None if role == ADMIN else _needs(ADMIN, user, credential)
    # change
    if role == ADMIN:
        return None
    if _RANK[role] < _RANK[SUBMIT]:
        return _needs(SUBMIT, user, credential)
    if owner is not None and getattr(owner, "pk", owner) == getattr(user, "pk", None):
        return None
    name = getattr(owner, "get_username", lambda: "")() if owner is not None else ""
    return (
        f"Only its owner ({name}) or an admin may change this."
        if name
        else "Only an admin may change this: it has no owner."
    )


def up_to(role: str | None) -> list[str]:
    """The roles (token scopes) at most ``role``, lowest first."""
    if role is None:
        return []
    return [r for r in ROLES if _RANK[r] <= _RANK[role]]


def allowed(request: Any, action: str, **target: Any) -> bool:
    return refusal(request, action, **target) is None


def authorize(request: Any, action: str, **target: Any) -> None:
    """Refuse (403: ``PermissionDenied``, which DRF answers as JSON and Django as the 403 page)
    unless ``request`` may do ``action``; see :func:`refusal` for ``target``."""
    reason = refusal(request, action, **target)
    if reason is not None:
        raise PermissionDenied(reason)


def _needs(role: str, user: Any, credential: Any) -> str:
    """Whether the token's scope or the account's role falls short of ``role``."""
    account = account_role(user)
    if isinstance(credential, ApiToken) and _RANK.get(credential.scope, 0) < _RANK[account or READ]:
        return (
            f"This token's scope ({credential.scope}) does not allow this request: "
            f"it needs the {role} role."
        )
    return f"Your account has the {account} role: this needs the {role} role."


def _limited_reads(
    token: ApiToken, pipeline: models.Model | None, endpoint: models.Model | None
) -> bool:
    """A token limited to an endpoint also reads the endpoint's pipelines' descriptions."""
    if token.endpoint_id is None or pipeline is None:
        return False
    versions = getattr(pipeline, "endpoint_versions", None)
    return versions is not None and versions.filter(endpoint_id=token.endpoint_id).exists()
