"""Modules over REST: ``/api/modules/...`` and ``/api/moduleversions/...``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.request import Request
from rest_framework.response import Response

from studio.workspace import modules, roles
from studio.workspace.api.serializers import JSONObjectField, StrictTypes
from studio.workspace.api.views import JSONParser
from studio.workspace.models import Module


class ModuleCreateSerializer(StrictTypes, serializers.Serializer):
    name = serializers.RegexField(
        modules.MODULE_NAME,
        trim_whitespace=False,
        error_messages={"invalid": modules.MODULE_NAME_RULE},
    )
    description = serializers.CharField(
        max_length=5000, allow_blank=True, required=False, default="", trim_whitespace=False
    )


class ModuleUpdateSerializer(StrictTypes, serializers.Serializer):
    name = serializers.RegexField(
        modules.MODULE_NAME,
        trim_whitespace=False,
        required=False,
        error_messages={"invalid": modules.MODULE_NAME_RULE},
    )
    description = serializers.CharField(
        max_length=5000, allow_blank=True, required=False, trim_whitespace=False
    )
    status = serializers.ChoiceField(choices=modules.STATUSES, required=False)
    default_version = serializers.CharField(max_length=64, required=False, trim_whitespace=False)


class ModuleVersionDescriptorSerializer(serializers.Serializer):
    version = serializers.CharField()
    module_version_id = serializers.CharField()


class ModuleSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    default_version = serializers.CharField(allow_null=True)
    versions = ModuleVersionDescriptorSerializer(many=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()


class ModulePublishSerializer(StrictTypes, serializers.Serializer):
    script_name = serializers.CharField(max_length=1000, trim_whitespace=False)
    snapshot = serializers.RegexField(r"^[0-9a-f]{64}\Z", trim_whitespace=False)
    version = serializers.CharField(
        max_length=64, required=False, allow_null=True, trim_whitespace=False
    )
    description = serializers.CharField(
        max_length=5000, allow_blank=True, required=False, default="", trim_whitespace=False
    )
    inputs = serializers.ListField(child=JSONObjectField(), required=False, default=list)
    outputs = serializers.ListField(child=JSONObjectField(), required=False, default=list)
    params = JSONObjectField(required=False, default=dict)
    arguments = serializers.ListField(child=JSONObjectField(), required=False, default=list)
    environment = JSONObjectField(required=False, allow_null=True, default=None)
    is_default = serializers.BooleanField(required=False, default=False)


class ModuleVersionUpdateSerializer(StrictTypes, serializers.Serializer):
    status = serializers.ChoiceField(choices=modules.STATUSES, required=False)
    description = serializers.CharField(
        max_length=5000, allow_blank=True, required=False, trim_whitespace=False
    )


class ModuleVersionSerializer(serializers.Serializer):
    id = serializers.CharField()
    module_id = serializers.CharField()
    module_name = serializers.CharField()
    version = serializers.CharField()
    status = serializers.CharField()
    description = serializers.CharField()
    is_default = serializers.BooleanField()
    snapshot = serializers.CharField()
    files = serializers.ListField(child=serializers.CharField())
    script_name = serializers.CharField()
    inputs = serializers.ListField(child=JSONObjectField())
    outputs = serializers.ListField(child=JSONObjectField())
    params = serializers.ListField(child=JSONObjectField())
    arguments = serializers.ListField(child=JSONObjectField())
    environment = JSONObjectField(allow_null=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


@extend_schema(
    methods=["GET"],
    parameters=[OpenApiParameter("name", str)],
    responses=ModuleSerializer(many=True),
    operation_id="api_modules_list",
)
@extend_schema(
    methods=["POST"],
    request=ModuleCreateSerializer,
    responses={201: ModuleSerializer, 409: None},
    operation_id="api_modules_create",
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def module_list(request: Request) -> Response:
    """Modules with their versions; POST creates one (``Module.create``)."""
    if request.method == "POST":
        roles.authorize(request, "create")
        body = ModuleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        module = modules.create_module(
            body.validated_data["name"], body.validated_data["description"], request.user
        )
        return Response(modules.module_json(module, []), status=status.HTTP_201_CREATED)
    found = Module.objects.select_related("created_by").prefetch_related("versions")
    if request.query_params.get("name"):
        found = found.filter(name=request.query_params["name"])
    return Response([modules.module_json(m) for m in found[:1000]])


@extend_schema(methods=["GET"], responses=ModuleSerializer, operation_id="api_module_get")
@extend_schema(
    methods=["PATCH"],
    request=ModuleUpdateSerializer,
    responses={200: ModuleSerializer, 409: None},
    operation_id="api_module_update",
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def module_detail(request: Request, module_id: str) -> Response:
    """A module; PATCH sets its name, description, status or default version."""
    module = modules.get_module(module_id=module_id)
    if request.method == "PATCH":
        roles.authorize(request, "change", owner=module.created_by)
        body = ModuleUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        module = modules.update_module(module, **body.validated_data)
    return Response(modules.module_json(module))


@extend_schema(responses=ModuleSerializer)
@api_view(["GET"])
def module_by_name(request: Request, name: str) -> Response:
    return Response(modules.module_json(modules.get_module(name=name)))


@extend_schema(request=ModulePublishSerializer, responses={201: ModuleVersionSerializer, 409: None})
@api_view(["POST"])
@parser_classes([JSONParser])
def module_publish(request: Request, module_id: str) -> Response:
    """Publish a version of the module (``module.publish_python_script``)."""
    module = modules.get_module(module_id=module_id)
    roles.authorize(request, "change", owner=module.created_by)
    body = ModulePublishSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    version = modules.publish_version(module, **body.validated_data, user=request.user)
    return Response(modules.version_json(version), status=status.HTTP_201_CREATED)


@extend_schema(
    methods=["GET"], responses=ModuleVersionSerializer, operation_id="api_moduleversion_get"
)
@extend_schema(
    methods=["PATCH"],
    request=ModuleVersionUpdateSerializer,
    responses=ModuleVersionSerializer,
    operation_id="api_moduleversion_update",
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def module_version_detail(request: Request, version_id: str) -> Response:
    """A module version; PATCH enables, disables or deprecates it, or sets its description."""
    version = modules.get_version(version_id)
    if request.method == "PATCH":
        roles.authorize(request, "change", owner=version.module.created_by)
        body = ModuleVersionUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = modules.update_version(version, **body.validated_data)
    return Response(modules.version_json(version))
