from __future__ import annotations

from django.urls import path

from studio.workspace.api import modules, views
from studio.workspace.api.limits import takes_upload

urlpatterns = [
    path("workspace/", views.workspace, name="api-workspace"),
    path("computetargets/", views.ComputeTargetList.as_view(), name="api-computetargets"),
    path(
        "computetargets/<str:name>/", views.ComputeTargetDetail.as_view(), name="api-computetarget"
    ),
    path("datastores/", views.DatastoreList.as_view(), name="api-datastores"),
    path("datastores/<str:name>/", views.DatastoreDetail.as_view(), name="api-datastore"),
    path("datastores/<str:name>/files/", views.datastore_files, name="api-datastore-files"),
    path(
        "datastores/<str:name>/download/", views.datastore_download, name="api-datastore-download"
    ),
    path(
        "datastores/<str:name>/upload/",
        takes_upload(views.datastore_upload),
        name="api-datastore-upload",
    ),
    path("datasets/", views.DatasetList.as_view(), name="api-datasets"),
    path("datasets/by-name/<path:name>/", views.dataset_by_name, name="api-dataset-by-name"),
    path("datasets/<str:dataset_id>/", views.dataset_detail, name="api-dataset"),
    path("datasets/<str:dataset_id>/files/", views.dataset_files, name="api-dataset-files"),
    path("environments/", views.EnvironmentList.as_view(), name="api-environments"),
    path("environments/<str:name>/", views.environment_detail, name="api-environment"),
    path("modules/", modules.module_list, name="api-modules"),
    path("modules/by-name/<str:name>/", modules.module_by_name, name="api-module-by-name"),
    path("modules/<str:module_id>/", modules.module_detail, name="api-module"),
    path("modules/<str:module_id>/versions/", modules.module_publish, name="api-module-publish"),
    path(
        "moduleversions/<str:version_id>/",
        modules.module_version_detail,
        name="api-moduleversion",
    ),
    path("snapshots/missing/", views.snapshots_missing, name="api-snapshots-missing"),
    path("snapshots/<str:digest>/", views.snapshot_detail, name="api-snapshot"),
    path(
        "snapshots/<str:digest>/upload/",
        takes_upload(views.snapshot_upload),
        name="api-snapshot-upload",
    ),
]
