"""drf-spectacular hooks: what every operation can refuse, documented once.

Every API error is ``{"error": {"code", "message", "field"?, "details"?}}`` (see
``studio.workspace.api.errors``). Views document their successes; ``document_errors`` adds the
errors any operation can give: 401, 429 and 403 everywhere (credentials, invalid tokens from
one address, token scope), 404
where a path names an object (or a cursor names a page), 400 where the request carries
input, 413 where it carries a body, and gives the error body to any error response a view lists without one. It also
says of every input string that it holds no NUL character, and ``NotBlankText`` of text
fields that whitespace alone is blank: the API refuses both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

if TYPE_CHECKING:
    # Annotations only, as drf_spectacular.extensions does: drf_spectacular.openapi imports
    # DRF's views, whose settings load this project's API modules.
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.utils import Direction
    from rest_framework.request import Request

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error the API returns.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "invalid, not_found, not_authenticated, permission_denied, ...",
                },
                "message": {"type": "string", "description": "What is wrong, for a person."},
                "field": {
                    "type": "string",
                    "nullable": True,
                    "description": "The input at fault (400 only), e.g. graph.steps[0].name.",
                },
                "details": {
                    "description": "Every invalid input with its messages (400 only).",
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

ERRORS = {
    "400": "The input is invalid; error.field names it.",
    "401": "No token, or an invalid, expired or revoked one.",
    "403": "The token's scope does not allow this request.",
    "404": "Nothing of that name or id.",
    "413": "The request body is over this route's limit (STUDIO_MAX_BODY_BYTES; "
    "STUDIO_MAX_UPLOAD_BYTES for an upload).",
    "429": "Too many invalid tokens from this address: try again after Retry-After seconds.",
}

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_errors(
    result: dict[str, Any], generator: SchemaGenerator, request: Request | None, public: bool
) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: add the error envelope and the error responses."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if method not in METHODS:
                continue
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                _no_nul(parameter.get("schema", {}), schemas, set())
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _no_nul(media.get("schema", {}), schemas, set())
            responses = operation.setdefault("responses", {})
            wanted = ["403"]
            if operation.get("security"):
                wanted += ["401", "429"]
            if any(p["in"] == "path" or p["name"] == "cursor" for p in parameters):
                wanted.append("404")  # (DRF answers an invalid cursor with a 404 too)
            if parameters or "requestBody" in operation:
                wanted.append("400")
            if "requestBody" in operation:
                wanted.append("413")
            for code in wanted:
                responses.setdefault(code, _error_response(ERRORS[code]))
            for code, response in responses.items():
                if code.startswith(("4", "5")) and not response.get("content"):
                    description = response.get("description") or ""
                    if description in ("", "No response body"):
                        description = ERRORS.get(code, "")
                    responses[code] = _error_response(description)
            operation["responses"] = dict(sorted(responses.items()))
    return result


NO_NUL = "^[^\\x00]*$"


def _no_nul(schema: dict, schemas: dict, seen: set) -> None:
    """Say of every input string that it holds no NUL character: the API refuses them all
    (PostgreSQL can store none), in fields, free-form JSON and the URL alike."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            _no_nul(schemas.get(name, {}), schemas, seen)
        return
    if schema.get("type") == "string" and not ({"pattern", "enum", "format"} & schema.keys()):
        schema["pattern"] = NO_NUL
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _no_nul(schema[key], schemas, seen)
    for child in schema.get("properties", {}).values():
        _no_nul(child, schemas, seen)
    for key in ("oneOf", "anyOf", "allOf"):
        for child in schema.get(key, []):
            _no_nul(child, schemas, seen)


# Not blank once DRF strips it (Python's whitespace), and no NUL.
NOT_BLANK = (
    "^[^\\x00]*"
    "[^\\x00\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    "[^\\x00]*$"
)


class NotBlankText(OpenApiSerializerFieldExtension):
    """A text field that trims whitespace and refuses blanks refuses whitespace alone too:
    its pattern says so (imported by studio.workspace.api.serializers, so that it applies)."""

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if (
            direction == "request"
            and schema.get("type") == "string"
            and not ({"pattern", "enum", "format"} & schema.keys())
            and field.trim_whitespace
            and not field.allow_blank
            and not any(isinstance(v, RegexValidator) for v in field.validators)
        ):
            schema["pattern"] = NOT_BLANK
        return schema
