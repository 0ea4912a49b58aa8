from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studio.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token and print it alone on the last line (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="A name to recognise the token by")
        parser.add_argument(
            "--user", default="admin", help="The user the token acts for (default: admin)"
        )
        parser.add_argument("--scope", default="admin", choices=[s for s, _ in ApiToken.SCOPES])

    def handle(self, name: str, user: str, scope: str, **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user named {user!r}.")
        if not name.strip() or len(name) > 100:
            raise CommandError("The token name must be 1 to 100 characters.")
        token, secret = ApiToken.issue(owner, name, scope=scope)
        self.stdout.write(
            f"Created token {token.name!r} ({token.scope}) for {owner.username}. Keep it: it will not be shown again."
        )
        self.stdout.write(secret)
