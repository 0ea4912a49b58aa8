from __future__ import annotations

from django.urls import path

from studio.workspace import views

urlpatterns = [
    path("datastores/", views.datastores, name="datastores"),
    path("datastores/<str:name>/", views.datastore_detail, name="datastore-detail"),
    path("datastores/<str:name>/download/", views.datastore_download, name="datastore-download"),
    path("datasets/", views.datasets, name="datasets"),
]
