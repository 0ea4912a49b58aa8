"""Workspace-level API: the workspace, compute targets, datastores, snapshots."""

from __future__ import annotations

import io
import itertools
import re
import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema, extend_schema_view
from rest_framework import generics, parsers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from studio.core.errors import StudioError
from studio.core.paths import clean_path
from studio.core.spec import DIGEST
from studio.workspace import egress, environments, outages, roles, services, storage
from studio.workspace.api import serializers
from studio.workspace.api.errors import Conflict
from studio.workspace.datastores import Store, StoreConfig
from studio.workspace.models import ComputeTarget, Dataset, Datastore, Snapshot, WorkerHeartbeat
from studio.workspace.urls_helpers import absolute_base_url

if TYPE_CHECKING:
    from _typeshed import SupportsRead


class JSONParser(parsers.JSONParser):
    """DRF's, with JSON nested too deeply for Python a 400 rather than a 500."""

    def parse(
        self,
        stream: SupportsRead[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:  # any JSON
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class ZipParser(parsers.BaseParser):
    """The body as a stream, read by the view in chunks (never whole in memory)."""

    media_type = "application/zip"

    def parse(
        self,
        stream: SupportsRead[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> SupportsRead[bytes]:
        return stream


@extend_schema(
    methods=["GET"], responses=serializers.WorkspaceSerializer, operation_id="api_workspace"
)
@extend_schema(
    methods=["PATCH"],
    request=serializers.WorkspaceUpdateSerializer,
    responses=serializers.WorkspaceSerializer,
    operation_id="api_workspace_update",
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def workspace(request: Request) -> Response:
    """The workspace; PATCH sets its default datastore (``ws.set_default_datastore``)."""
    if request.method == "PATCH":
        roles.authorize(request, "administer")
        body = serializers.WorkspaceUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if "default_datastore" in body.validated_data:
            try:
                services.set_default_datastore(body.validated_data["default_datastore"])
            except StudioError as exc:
                raise StudioError("default_datastore", exc.message) from None
    return Response(
        {
            "name": "studio",
            "url": absolute_base_url(request),
            "default_datastore": services.workspace_default_datastore().name,
            "default_compute_target": settings.STUDIO_DEFAULT_COMPUTE,
            "user": request.user.get_username(),
        }
    )


@extend_schema_view(
    post=extend_schema(responses={201: serializers.ComputeTargetSerializer, 409: None})
)
class ComputeTargetList(generics.ListCreateAPIView):
    parser_classes = [JSONParser]
    serializer_class = serializers.ComputeTargetSerializer
    queryset = ComputeTarget.objects.all()
    pagination_class = None

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "live_workers": WorkerHeartbeat.live()}

    def perform_create(self, serializer: BaseSerializer) -> None:
        name = serializer.validated_data["name"]
        if ComputeTarget.objects.filter(name=name).exists():
            raise Conflict(f"Compute target {name} already exists.")
        serializer.save()


class ComputeTargetDetail(generics.RetrieveAPIView):
    serializer_class = serializers.ComputeTargetSerializer
    queryset = ComputeTarget.objects.all()
    lookup_field = "name"


class DatastoreList(APIView):
    """Datastores; POST registers one (a local folder only by an admin, under STUDIO_LOCAL_DATASTORE_ROOTS)."""

    parser_classes = [JSONParser]

    @extend_schema(responses=serializers.DatastoreDetailSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(serializers.DatastoreDetailSerializer(storage.datastores(), many=True).data)

    @extend_schema(
        request=serializers.DatastoreRegisterSerializer,
        responses={201: serializers.DatastoreDetailSerializer},
    )
    def post(self, request: Request) -> Response:
        roles.authorize(request, "administer")
        body = serializers.DatastoreRegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        kind = data["kind"]
        options = {
            "s3": {
                "bucket": data["bucket"],
                "endpoint_url": data["endpoint_url"],
                "region": data["region"],
            },
            "azureblob": {
                "account_name": data["account_name"],
                "container": data["container"],
                "endpoint": data["endpoint"],
            },
            "local": {},
        }[kind]
        options = {k: v for k, v in options.items() if v}
        secrets = {k: data[k] for k in ("key", "secret", "account_key", "sas_token") if data.get(k)}
        if data["create_if_not_exists"] and kind != "local":
            _create_bucket(kind, data["name"], options, secrets)
        datastore = services.register_datastore(
            name=data["name"],
            kind=kind,
            user=request.user,
            options=options,
            secrets=secrets,
            root=data["root"],
            overwrite=data["overwrite"],
        )
        return Response(
            serializers.DatastoreDetailSerializer(datastore).data, status=status.HTTP_201_CREATED
        )


def _create_bucket(kind: str, name: str, options: dict, secrets: dict) -> None:
    store = Store(StoreConfig(name=name, kind=kind, options=options, secrets=secrets))
    base = store._base()
    try:
        with store.refusals_named():
            if not store.fs.exists(base):
                store.fs.mkdir(base)
    except egress.AddressRefused as exc:
        raise StudioError(exc.field, exc.message) from None
    except Exception as exc:
        raise StudioError("options", f"Could not create {base}: {exc}") from None


class DatastoreDetail(generics.RetrieveAPIView):
    serializer_class = serializers.DatastoreDetailSerializer
    queryset = Datastore.objects.all()
    lookup_field = "name"

    def get_object(self) -> Datastore:
        return _datastore(self.kwargs["name"])  # the default one exists from its first use


def _datastore(name: str) -> Datastore:
    if name == storage.DEFAULT_DATASTORE:
        return storage.default_datastore()
    return get_object_or_404(Datastore, name=name)


# What clean_path accepts, for the schema: a relative POSIX path with no '..' part, URL,
# drive, percent-escape, wildcard, backslash, '#', '?', ';' or control character.
PATH_PATTERN = (
    r"^(?![~/])(?![A-Za-z]:)(?!.*://)(?!.*%[0-9A-Fa-f]{2})(?!(?:.*/)?\.\.+(?:/|$))"
    r"[^\x00-\x1f\\#?;*\[]*$"
)
# The same, naming a file: not the root ('', '.', './').
FILE_PATTERN = PATH_PATTERN.replace("^", "^(?![./]*$)", 1)


def query_bool(request: Request, name: str, default: bool) -> bool:
    """A ``true``/``false`` (or ``1``/``0``) query parameter; anything else is a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ValidationError({name: "Must be true or false."})


def _path_param(request: Request, name: str = "path", required: bool = False) -> str:
    raw = request.query_params.get(name, "")
    if required and not raw:
        raise ValidationError({name: "This query parameter is required."})
    try:
        return clean_path(raw)
    except StudioError as exc:
        raise StudioError(name, exc.message) from None


@extend_schema(
    parameters=[
        OpenApiParameter(
            "path",
            str,
            pattern=PATH_PATTERN,
            description="Folder on the datastore ('' is the root)",
        ),
        OpenApiParameter("recursive", bool, description="List every file below the folder"),
    ],
    responses=serializers.DatastoreEntrySerializer(many=True),
)
@api_view(["GET"])
def datastore_files(request: Request, name: str) -> Response:
    """Folders and files under a path, with sizes (``recursive``: every file below it)."""
    store = _datastore(name).store()
    path = _path_param(request)
    if query_bool(request, "recursive", False):
        entries = [
            {"name": f.path.rsplit("/", 1)[-1], "path": f.path, "size": f.size, "is_dir": False}
            for f in itertools.islice(store.walk(path), 100_000)
        ]
    else:
        entries = store.ls(path)
    return Response(entries)


@extend_schema(
    parameters=[OpenApiParameter("path", str, required=True, pattern=FILE_PATTERN)],
    responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
)
@api_view(["GET"])
def datastore_download(request: Request, name: str) -> FileResponse:
    """One file's bytes, streamed."""
    store = _datastore(name).store()
    path = _path_param(request, required=True)
    try:
        handle = store.open_read(path)
    except (FileNotFoundError, IsADirectoryError):
        raise NotFound(f"No file {path} on datastore {name}.") from None
    filename = path.rsplit("/", 1)[-1]
    return FileResponse(
        handle, as_attachment=True, filename=filename, content_type="application/octet-stream"
    )


class _AnyBytes(parsers.BaseParser):
    media_type = "*/*"

    def parse(
        self,
        stream: SupportsRead[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> SupportsRead[bytes]:
        return stream


@extend_schema(
    parameters=[
        OpenApiParameter("path", str, required=True, pattern=FILE_PATTERN),
        OpenApiParameter("overwrite", bool),
    ],
    request={"application/octet-stream": OpenApiTypes.BINARY},
    responses={201: serializers.DatastoreEntrySerializer},
)
@api_view(["PUT"])
@parser_classes([_AnyBytes])
def datastore_upload(request: Request, name: str) -> Response:
    """Write one file (the request body) at ``path``; refuses to replace one unless ``overwrite``."""
    store = _datastore(name).store()
    path = _path_param(request, required=True)
    overwrite = query_bool(request, "overwrite", False)
    try:
        size = store.write_file(path, request.stream or io.BytesIO(b""), overwrite=overwrite)
    except FileExistsError as exc:
        if exc.filename is not None:  # from the file system, naming a server path
            raise ValidationError({"path": f"A parent folder of {path} is a file."}) from None
        raise ValidationError({"path": str(exc)}) from None
    except IsADirectoryError:
        raise ValidationError({"path": f"{path} is a folder."}) from None
    except OSError as exc:  # e.g. a name too long for the file system
        if outages.no_space(exc) is not None:
            raise  # not the request's fault: a 507 (studio.workspace.outages)
        raise ValidationError(
            {"path": f"{path} cannot be written: {exc.strerror or exc}."}
        ) from None
    return Response(
        {"name": path.rsplit("/", 1)[-1], "path": path, "size": size, "is_dir": False},
        status=status.HTTP_201_CREATED,
    )


def _dataset_json(dataset: Dataset) -> dict:
    return {
        "id": str(dataset.id),
        "name": dataset.name,
        "version": dataset.version,
        "kind": dataset.kind,
        "paths": dataset.paths,
        "options": dataset.options,
        "description": dataset.description,
        "tags": dataset.tags,
        "created_at": dataset.created_at,
    }


class DatasetList(APIView):
    """Registered datasets (every version); POST registers one."""

    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[OpenApiParameter("name", str)],
        responses=serializers.DatasetSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        datasets = Dataset.objects.all()
        if request.query_params.get("name"):
            datasets = datasets.filter(name=request.query_params["name"])
        return Response([_dataset_json(d) for d in datasets[:1000]])

    @extend_schema(
        request=serializers.DatasetSerializer, responses={201: serializers.DatasetSerializer}
    )
    def post(self, request: Request) -> Response:
        body = serializers.DatasetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data.get("name"):
            dataset = services.register_dataset(
                name=data["name"],
                kind=data["kind"],
                paths=data["paths"],
                options=data["options"],
                description=data["description"],
                tags=data["tags"],
                create_new_version=data["create_new_version"],
            )
        else:
            dataset = services.save_dataset_definition(
                kind=data["kind"], paths=data["paths"], options=data["options"]
            )
        return Response(_dataset_json(dataset), status=status.HTTP_201_CREATED)


def _dataset(dataset_id: str) -> Dataset:
    try:
        uuid.UUID(str(dataset_id))
    except ValueError:
        raise NotFound("No such dataset.") from None
    return get_object_or_404(Dataset, id=dataset_id)


@extend_schema(responses=serializers.DatasetSerializer)
@api_view(["GET"])
def dataset_detail(request: Request, dataset_id: str) -> Response:
    return Response(_dataset_json(_dataset(dataset_id)))


@extend_schema(
    parameters=[
        OpenApiParameter(
            "version",
            str,
            pattern=r"^(latest|[0-9]{1,9})$",
            description="A version number or 'latest' (the default)",
        )
    ],
    responses=serializers.DatasetSerializer,
)
@api_view(["GET"])
def dataset_by_name(request: Request, name: str) -> Response:
    version = request.query_params.get("version", "latest")
    if not re.fullmatch(r"latest|[0-9]{1,9}", version):
        raise ValidationError({"version": "Must be a version number or 'latest'."})
    return Response(_dataset_json(services.get_dataset(name, version)))


@extend_schema(responses=serializers.DatasetFileSerializer(many=True))
@api_view(["GET"])
def dataset_files(request: Request, dataset_id: str) -> Response:
    """The files the dataset points at now."""
    resolved = services.resolve_dataset(_dataset(dataset_id))
    return Response(
        [
            {"datastore": ds.name, "path": f.path, "size": f.size}
            for ds, _, _, files in resolved.groups
            for f in files[:100_000]
        ]
    )


@extend_schema(
    request=serializers.SnapshotDigestsSerializer, responses=serializers.SnapshotMissingSerializer
)
@api_view(["POST"])
@parser_classes([JSONParser])
def snapshots_missing(request: Request) -> Response:
    """Which of these snapshot digests the server does not have yet."""
    body = serializers.SnapshotDigestsSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    wanted = body.validated_data["digests"]
    have = set(Snapshot.objects.filter(digest__in=wanted).values_list("digest", flat=True))
    return Response({"missing": [d for d in wanted if d not in have]})


_DIGEST = OpenApiParameter(
    "digest", str, OpenApiParameter.PATH, pattern=DIGEST.pattern, description="sha256 of the zip"
)


@extend_schema(
    request={"application/zip": OpenApiTypes.BINARY},
    responses={201: serializers.SnapshotSerializer},
    parameters=[_DIGEST],
)
@api_view(["PUT"])
@parser_classes([ZipParser])
def snapshot_upload(request: Request, digest: str) -> Response:
    """Upload a snapshot zip; its content must hash to ``digest``."""
    if not DIGEST.match(digest):
        raise ValidationError({"digest": "Must be a sha256 hex digest."})
    try:
        size, files = storage.receive_snapshot(digest, request.stream or io.BytesIO(b""))
    except StudioError as exc:
        raise StudioError(exc.field if exc.field == "digest" else "body", exc.message) from None
    snapshot, _ = Snapshot.objects.update_or_create(
        digest=digest, defaults={"size": size, "files": files}
    )
    return Response(
        {"digest": digest, "size": snapshot.size, "files": sorted(files)},
        status=status.HTTP_201_CREATED,
    )


@extend_schema(responses=serializers.SnapshotSerializer, parameters=[_DIGEST])
@api_view(["GET"])
def snapshot_detail(request: Request, digest: str) -> Response:
    snapshot = get_object_or_404(Snapshot, digest=digest)
    return Response(
        {"digest": snapshot.digest, "size": snapshot.size, "files": sorted(snapshot.files)}
    )


class EnvironmentList(APIView):
    """Registered environments (the latest version of each); POST registers a version."""

    parser_classes = [JSONParser]

    @extend_schema(responses=serializers.EnvironmentSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response([environments.as_json(e) for e in environments.latest_versions()])

    @extend_schema(
        request=serializers.EnvironmentRegisterSerializer,
        responses={201: serializers.EnvironmentSerializer, 409: None},
    )
    def post(self, request: Request) -> Response:
        body = serializers.EnvironmentRegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        environment = environments.register(
            data["name"], data["definition"], data.get("version"), request.user
        )
        return Response(environments.as_json(environment), status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[
        OpenApiParameter("version", str, description="A version number; the latest without")
    ],
    responses=serializers.EnvironmentSerializer,
)
@api_view(["GET"])
def environment_detail(request: Request, name: str) -> Response:
    return Response(
        environments.as_json(environments.get(name, request.query_params.get("version")))
    )
