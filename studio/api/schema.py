"""drf-spectacular hooks: the error responses of every operation, documented once.

Every API error is ``{"error": {"code", "message", "field"?, "details"?}}`` (see
``studio.api.errors``). Views document their successes; this hook adds the errors any
operation can give: 401 and 403 everywhere (credentials, token scope), 404 where a path
names an object, 400 where the request carries input, and gives the error body to any
error response a view lists without one.
"""

from __future__ import annotations

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
}

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_errors(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry: add the error envelope and the error responses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            locations = {p.get("in") for p in operation.get("parameters", [])}
            wanted = ["403"]
            if operation.get("security"):
                wanted.append("401")
            if "path" in locations:
                wanted.append("404")
            if "requestBody" in operation or locations - {"path"}:
                wanted.append("400")
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
