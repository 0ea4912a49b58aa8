"""The shell's API: the global search (studio/search.py) for scripts and tokens."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.search import KINDS, MAX_QUERY, search_workspace


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(
        max_length=MAX_QUERY,
        required=False,
        allow_blank=True,
        default="",
        help_text="A name (or part of one) or an id",
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=50,
        required=False,
        default=10,
        help_text="At most this many per kind",
    )


class SearchAPI(APIView):
    """Runs, experiments, published pipelines, endpoints, datasets and datastores whose name or
    id matches ``q``, grouped by kind; a token limited to one pipeline or endpoint finds only it."""

    allow_limited_token = True  # it finds only what the token may read

    @extend_schema(parameters=[SearchQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        query = SearchQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        words, limit = query.validated_data["q"], query.validated_data["limit"]
        results = search_workspace(request, words, limit=limit)
        return Response(
            {
                "query": results.query,
                "results": {
                    kind: [
                        {"title": h.title, "detail": h.detail, "id": h.ident, "url": h.url}
                        for h in hits
                    ]
                    for kind, hits in results.groups.items()
                },
                "more": [kind for kind in KINDS if kind in results.more],
            }
        )
