from __future__ import annotations

from django.urls import path

from studio.workspace import views

urlpatterns = [
    path("datastores/", views.datastores, name="datastores"),
    # <path:...>: a name stored before names were checked may hold a '/'; still a page.
    path("datastores/<path:name>/download/", views.datastore_download, name="datastore-download"),
    path("datastores/<path:name>/", views.datastore_detail, name="datastore-detail"),
    path("datasets/", views.datasets, name="datasets"),
]
