from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from studio.workspace import roles
from studio.workspace.commands import require_database


class Command(BaseCommand):
    help = (
        "Create a workspace user with a role (read, submit or admin), or change an existing "
        "user's role. The password comes from STUDIO_USER_PASSWORD, or is generated and printed "
        "once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=roles.ROLES, default=roles.SUBMIT)
        parser.add_argument("--email", default="")

    @transaction.atomic
    def handle(self, username: str, role: str, email: str, **options: Any) -> None:
        require_database()
        users = get_user_model()
        user = users.objects.filter(username=username).first()
        password = None
        if user is None:
            user = users(username=username, email=email)
            try:
                user.full_clean(exclude=["password"])
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
            password = os.environ.get("STUDIO_USER_PASSWORD") or secrets.token_urlsafe(12)
            user.set_password(password)
        user.is_staff = role == roles.ADMIN
        if role != roles.ADMIN:
            user.is_superuser = False
        user.save()
        readers, _ = Group.objects.get_or_create(name=roles.READERS_GROUP)
        if role == roles.READ:
            user.groups.add(readers)
        else:
            user.groups.remove(readers)
        self.stdout.write(f"{username} has the {roles.account_role(user)} role.")
        if password is not None and "STUDIO_USER_PASSWORD" not in os.environ:
            self.stdout.write(f"Password (shown once): {password}")
