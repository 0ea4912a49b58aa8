"""Workspace-level models: compute targets and their workers, datastores, snapshots, API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from studio.workspace.crypto import decrypt, encrypt
from studio.workspace.datastores import Store, StoreConfig

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser


class ComputeTarget(models.Model):
    """A named pool of Celery workers: steps on it go to its own queue."""

    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=32, default="AmlCompute")
    vm_size = models.CharField(max_length=64, blank=True, default="")
    min_nodes = models.PositiveIntegerField(default=0)
    max_nodes = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def queue(self) -> str:
        return queue_for(self.name)

    def live_workers(self) -> list[WorkerHeartbeat]:
        return [w for w in WorkerHeartbeat.live() if self.queue in w.queues]


# The queue every worker consumes besides its compute targets' queues: engine work that
# any worker may do, such as starting the run of a schedule's fire.
CONTROL_QUEUE = "studio"


def queue_for(target_name: str) -> str:
    return f"compute.{target_name}"


class WorkerHeartbeat(models.Model):
    """A Celery worker that is alive, and the compute-target queues it consumes."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    pid = models.IntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname

    @classmethod
    def live(cls) -> list[WorkerHeartbeat]:
        horizon = timezone.now() - timedelta(seconds=settings.STUDIO_WORKER_LOST_SECONDS)
        return list(cls.objects.filter(last_seen__gte=horizon))


class Datastore(models.Model):
    """A place for data: ``local`` (a folder), ``s3`` or ``azureblob``. Secrets are stored encrypted."""

    KINDS = [("local", "local"), ("s3", "s3"), ("azureblob", "azureblob"), ("http", "http")]

    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=KINDS, default="local")
    root = models.CharField(max_length=1024, blank=True, default="")
    options = models.JSONField(default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, default="")
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def root_path(self) -> Path:
        return Path(self.root)

    def set_secrets(self, values: dict) -> None:
        self.secrets_encrypted = encrypt({k: v for k, v in values.items() if v})

    def config(self) -> StoreConfig:
        return StoreConfig(
            name=self.name,
            kind=self.kind,
            root=self.root,
            options=dict(self.options),
            secrets=decrypt(self.secrets_encrypted),
        )

    def store(self) -> Store:
        return Store(self.config())

    @property
    def location(self) -> str:
        """Where the data is, without secrets."""
        if self.kind in ("local", "http"):
            return self.root
        if self.kind == "s3":
            endpoint = self.options.get("endpoint_url") or "s3"
            return f"{endpoint.rstrip('/')}/{self.options.get('bucket', '')}"
        endpoint = (
            self.options.get("endpoint")
            or f"https://{self.options.get('account_name', '')}.blob.core.windows.net"
        )
        return f"{endpoint.rstrip('/')}/{self.options.get('container', '')}"


class Dataset(models.Model):
    """A named, versioned File or Tabular dataset: paths on datastores, read with options."""

    KINDS = [("file", "File"), ("tabular", "Tabular")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, db_index=True)
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=KINDS)
    paths = models.JSONField(default=list)  # [[datastore name, path or glob], ...]
    options = models.JSONField(default=dict, blank=True)  # separator, header, ...
    description = models.TextField(blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)
    # The step run that registered this version (register_on_complete), by id: runs know
    # datasets, datasets do not know runs.
    created_by_step_id = models.CharField(max_length=36, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="dataset_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


class Environment(models.Model):
    """A registered environment version (azureml's ``env.register(ws)``): a definition as
    ``studio.core.environments`` reads it, and the hash of what it builds."""

    name = models.CharField(max_length=255, db_index=True)
    version = models.PositiveIntegerField()
    definition = models.JSONField(default=dict)
    build_hash = models.CharField(max_length=20, blank=True, default="", db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="environment_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


class EnvironmentBuild(models.Model):
    """An environment built (or being built) on one worker host, by its build hash."""

    BUILDING, READY, FAILED, EVICTED = "Building", "Ready", "Failed", "Evicted"
    STATES = [(s, s) for s in (BUILDING, READY, FAILED, EVICTED)]

    build_hash = models.CharField(max_length=20)
    host = models.CharField(max_length=255)
    state = models.CharField(max_length=16, choices=STATES, default=BUILDING)
    name = models.CharField(max_length=255, blank=True, default="")
    definition = models.JSONField(default=dict)
    requirements = models.JSONField(default=list)
    python = models.CharField(max_length=32, blank=True, default="")
    size = models.BigIntegerField(null=True, blank=True)
    log = models.TextField(blank=True, default="")
    step_id = models.CharField(max_length=36, blank=True, default="")  # the step that built it
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["build_hash", "host"], name="environment_build_host")
        ]

    def __str__(self) -> str:
        return f"{self.build_hash}@{self.host}"


class AuthFailure(models.Model):
    """Recent failed sign-ins or bearer tokens of an account or an address (``throttle``)."""

    key = models.CharField(max_length=160, unique=True)
    failures = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key


class Snapshot(models.Model):
    """A content-addressed copy of a step's source directory (a zip on the default datastore)."""

    digest = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    files = models.JSONField(default=dict)  # relative path -> sha256 of its bytes
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.digest[:12]


class ApiToken(models.Model):
    """A bearer token. Only a lookup prefix and a SHA-256 hash of the secret are stored."""

    SCOPES = [("read", "read"), ("submit", "submit"), ("admin", "admin")]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=16, choices=SCOPES, default="admin")
    # A limited token submits one published pipeline or one endpoint, named by id.
    pipeline_id = models.UUIDField(null=True, blank=True)
    endpoint_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @classmethod
    def issue(
        cls,
        user: AbstractUser,
        name: str,
        scope: str = "admin",
        expires_at: datetime | None = None,
        pipeline: models.Model | None = None,
        endpoint: models.Model | None = None,
    ) -> tuple[ApiToken, str]:
        """Create a token and return it with its clear text, which is never stored.

        ``pipeline``/``endpoint`` are a PublishedPipeline/PipelineEndpoint, typed as any model:
        the workspace may not import the pipelines app, and only their ``pk`` is used."""
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            secret_hash=_hash(secret),
            scope=scope,
            expires_at=expires_at,
            pipeline_id=pipeline.pk if pipeline is not None else None,
            endpoint_id=endpoint.pk if endpoint is not None else None,
        )
        return token, f"st_{prefix}_{secret}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )

    def may_submit(
        self, pipeline: models.Model | None = None, endpoint: models.Model | None = None
    ) -> bool:
        """Submit and admin tokens may start runs; a limited token only of its own pipeline or endpoint."""
        if self.scope not in ("submit", "admin"):
            return False
        if self.pipeline_id is not None:
            return pipeline is not None and pipeline.pk == self.pipeline_id
        if self.endpoint_id is not None:
            return endpoint is not None and endpoint.pk == self.endpoint_id
        return True

    @classmethod
    def resolve(cls, raw: str) -> ApiToken | None:
        """The live token for a clear-text value, or None (constant-time comparison)."""
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != "st":
            return None
        token = cls.objects.select_related("user").filter(prefix=parts[1]).first()
        if token is None or not hmac.compare_digest(token.secret_hash, _hash(parts[2])):
            return None
        now = timezone.now()
        if token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
            return None
        return token


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Module(models.Model):
    """azureml's Module: a named container of versions of a reusable step."""

    STATUSES = [("Active", "Active"), ("Deprecated", "Deprecated"), ("Disabled", "Disabled")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default="Active")
    default_version = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModuleVersion(models.Model):
    """One version of a module: a script in a snapshot with its ports and parameters."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Module.STATUSES, default="Active")
    description = models.TextField(blank=True, default="")
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="+")
    script_name = models.CharField(max_length=1000)
    inputs = models.JSONField(default=list)  # InputPortDef: [{"name", "label", ...}]
    outputs = models.JSONField(default=list)  # OutputPortDef: [{"name", "label", ...}]
    params = models.JSONField(default=list)  # [{"name", "default", "type"}]
    arguments = models.JSONField(
        default=list
    )  # [{"kind", "value"}]: literal/input/output/parameter
    environment = models.JSONField(null=True, blank=True)  # the runconfig's environment
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["module", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["module", "version"], name="module_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.module_id}:{self.version}"

    @property
    def is_default(self) -> bool:
        return self.module.default_version == self.version


class RegisteredModel(models.Model):
    """A model name in the registry (azureml's ``Model``); its versions are ModelVersions."""

    name = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    """One registered version of a model: its files under ``models/<name>/<version>/`` on a
    datastore, with a manifest, and the run that produced it. Runs are named by id: the
    workspace does not know runs, runs and the pages join them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    tags = models.JSONField(default=dict, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True, default="")
    model_framework = models.CharField(max_length=64, blank=True, default="")
    model_framework_version = models.CharField(max_length=64, blank=True, default="")
    datastore = models.CharField(max_length=64)
    path = models.CharField(max_length=1024)  # the folder that holds the model's files
    files = models.JSONField(default=list)  # [{"path", "size", "sha256"}], under ``path``
    # [{"name": scenario, "id": dataset id}], as azureml's Model.datasets.
    datasets = models.JSONField(default=list, blank=True)
    sample_input_dataset_id = models.CharField(max_length=36, blank=True, default="")
    sample_output_dataset_id = models.CharField(max_length=36, blank=True, default="")
    step_run_id = models.CharField(max_length=36, blank=True, default="", db_index=True)
    pipeline_run_id = models.CharField(max_length=36, blank=True, default="", db_index=True)
    experiment_name = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # False while its files are being copied: the version number is taken, nobody sees it yet.
    complete = models.BooleanField(default=False)

    class Meta:
        ordering = ["model__name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="model_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.model.name}:{self.version}"

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def size(self) -> int:
        return sum(f["size"] for f in self.files)


class ModelRead(models.Model):
    """A step run that loaded a model version (``Model.get_model_path``): which version it asked
    for ("latest" or a number) and which it got. Reuse compares "latest" with the latest now."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="reads")
    step_run_id = models.CharField(max_length=36, db_index=True)
    asked = models.CharField(max_length=16)  # "latest" or the version number asked for
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "step_run_id", "asked"], name="model_read_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step_run_id} read {self.model_version}"
