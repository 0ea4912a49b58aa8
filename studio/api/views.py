"""Workspace-level API: the workspace, compute targets, datastores, snapshots."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import generics, parsers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from studio import storage
from studio.api import serializers
from studio.models import ComputeTarget, Datastore, Snapshot, WorkerHeartbeat
from studio.sdk.snapshot import SnapshotError, read_zip
from studio.sdk.spec import DIGEST
from studio.urls_helpers import absolute_base_url


class ZipParser(parsers.BaseParser):
    media_type = "application/zip"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read()


@extend_schema(responses=serializers.WorkspaceSerializer)
@api_view(["GET"])
def workspace(request):
    return Response(
        {
            "name": "studio",
            "url": absolute_base_url(request),
            "default_datastore": storage.default_datastore().name,
            "default_compute_target": settings.STUDIO_DEFAULT_COMPUTE,
            "user": request.user.get_username(),
        }
    )


class ComputeTargetList(generics.ListCreateAPIView):
    serializer_class = serializers.ComputeTargetSerializer
    queryset = ComputeTarget.objects.all()
    pagination_class = None

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "live_workers": WorkerHeartbeat.live()}


class ComputeTargetDetail(generics.RetrieveAPIView):
    serializer_class = serializers.ComputeTargetSerializer
    queryset = ComputeTarget.objects.all()
    lookup_field = "name"


class DatastoreList(generics.ListAPIView):
    serializer_class = serializers.DatastoreSerializer
    pagination_class = None

    def get_queryset(self):
        storage.default_datastore()
        return Datastore.objects.all()


class DatastoreDetail(generics.RetrieveAPIView):
    serializer_class = serializers.DatastoreSerializer
    queryset = Datastore.objects.all()
    lookup_field = "name"


@extend_schema(request=serializers.SnapshotDigestsSerializer, responses=serializers.SnapshotMissingSerializer)
@api_view(["POST"])
def snapshots_missing(request):
    """Which of these snapshot digests the server does not have yet."""
    body = serializers.SnapshotDigestsSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    wanted = body.validated_data["digests"]
    have = set(Snapshot.objects.filter(digest__in=wanted).values_list("digest", flat=True))
    return Response({"missing": [d for d in wanted if d not in have]})


@extend_schema(request={"application/zip": OpenApiTypes.BINARY}, responses={201: serializers.SnapshotSerializer})
@api_view(["PUT"])
@parser_classes([ZipParser])
def snapshot_upload(request, digest: str):
    """Upload a snapshot zip; its content must hash to ``digest``."""
    if not DIGEST.match(digest):
        raise ValidationError({"digest": "Must be a sha256 hex digest."})
    data = request.data if isinstance(request.data, bytes) else b""
    try:
        actual, files = read_zip(data)
    except SnapshotError as exc:
        raise ValidationError({"body": str(exc)}) from None
    if actual != digest:
        raise ValidationError({"digest": f"The uploaded content hashes to {actual}, not {digest}."})
    storage.save_snapshot(digest, data)
    snapshot, _ = Snapshot.objects.update_or_create(digest=digest, defaults={"size": len(data), "files": files})
    return Response({"digest": digest, "size": snapshot.size, "files": sorted(files)}, status=status.HTTP_201_CREATED)


@extend_schema(responses=serializers.SnapshotSerializer)
@api_view(["GET"])
def snapshot_detail(request, digest: str):
    snapshot = get_object_or_404(Snapshot, digest=digest)
    return Response({"digest": snapshot.digest, "size": snapshot.size, "files": sorted(snapshot.files)})
