from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from pipelines.models import PipelineEndpoint, PublishedPipeline
from studio.workspace import roles
from studio.workspace.commands import require_database
from studio.workspace.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token and print it alone on the last line (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A name to recognise the token by")
        parser.add_argument(
            "--user", default="admin", help="The user the token acts for (default: admin)"
        )
        parser.add_argument(
            "--scope",
            choices=[s for s, _ in ApiToken.SCOPES],
            help="What the token may do, at most the user's role (default: the user's role)",
        )
        parser.add_argument(
            "--pipeline", help="Limit the token to submitting this published pipeline (id)"
        )
        parser.add_argument(
            "--endpoint", help="Limit the token to submitting this pipeline endpoint (id)"
        )
        parser.add_argument(
            "--expires-in-days", type=int, help="Expire the token after this many days"
        )

    def handle(
        self,
        name: str,
        user: str,
        scope: str | None,
        pipeline: str | None,
        endpoint: str | None,
        expires_in_days: int | None,
        **options: Any,
    ) -> None:
        require_database()
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user named {user!r}.")
        role = roles.account_role(owner)
        if role is None:
            raise CommandError(f"User {user!r} is inactive.")
        scope = scope or role
        if scope not in roles.up_to(role):
            raise CommandError(
                f"User {user!r} has the {role} role: a token of theirs can have at most that scope."
            )
        if not name.strip() or len(name) > 100:
            raise CommandError("The token name must be 1 to 100 characters.")
        if pipeline and endpoint:
            raise CommandError("Limit a token to a pipeline or to an endpoint, not both.")
        limit = {}
        try:
            if pipeline:
                limit["pipeline"] = PublishedPipeline.objects.get(id=pipeline)
            if endpoint:
                limit["endpoint"] = PipelineEndpoint.objects.get(id=endpoint)
        except (PublishedPipeline.DoesNotExist, PipelineEndpoint.DoesNotExist, ValueError):
            raise CommandError(
                f"No published pipeline or endpoint with id {pipeline or endpoint}."
            ) from None
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        token, secret = ApiToken.issue(owner, name, scope=scope, expires_at=expires, **limit)
        self.stdout.write(
            f"Created token {token.name!r} ({token.scope}) for {owner.username}. Keep it: it will not be shown again."
        )
        self.stdout.write(secret)
