from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from pipelines.api.urls import submit_urlpatterns
from studio import views
from studio.api import errors

api = [
    path("", include("pipelines.api.urls")),
    path("", include("studio.api.urls")),
    path("", include("runs.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(r"^(?P<unmatched>.*)$", errors.not_found),  # last: JSON, not the HTML 404 page
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("compute/", views.compute_targets, name="compute-targets"),
    path("datastores/", views.datastores, name="datastores"),
    path("datastores/<str:name>/", views.datastore_detail, name="datastore-detail"),
    path("datastores/<str:name>/download/", views.datastore_download, name="datastore-download"),
    path("datasets/", views.datasets, name="datasets"),
    path("datasets/<str:name>/", views.dataset_detail, name="dataset-detail"),
    path("api/", include(api)),
    path("pipelines/v1.0/", include(submit_urlpatterns)),
    path("", include("pipelines.urls")),
    path("", include("runs.urls")),
]
