"""The API documentation page: Swagger UI drawn from the OpenAPI schema (/api/schema/), in the
site's layout. Its files come from drf-spectacular-sidecar through static (no CDN) and its
start-up script is a file of its own (the same view with ``?script``): the Content-Security-
Policy allows no inline script."""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "studio/api_docs.html"
    url_name = "api-schema"
    title = "API documentation"


# Swagger UI's stylesheet draws its small icons as data: images: allowed on this page only.
api_docs = csp_update({"img-src": [SELF, "data:"]})(login_required(ApiDocsView.as_view()))
