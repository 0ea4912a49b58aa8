from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from pipelines.api.urls import submit_urlpatterns
from studio import views
from studio.api import SearchAPI
from studio.workspace.api import docs, errors
from studio.workspace.signin import SignInView

api = [
    path("", include("pipelines.api.urls")),
    path("", include("studio.workspace.api.urls")),
    path("", include("runs.api.urls")),
    path("search/", SearchAPI.as_view(), name="api-search"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs.api_docs, name="api-docs"),
    re_path(r"^(?P<unmatched>.*)$", errors.not_found),  # last: JSON, not the HTML 404 page
]

urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("", include("studio.workspace.urls")),
    path("api/", include(api)),
    path("pipelines/v1.0/", include(submit_urlpatterns)),
    path("", include("pipelines.urls")),
    path("", include("runs.urls")),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
