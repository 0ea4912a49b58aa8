from django.urls import path

from studio.api import views

urlpatterns = [
    path("workspace/", views.workspace, name="api-workspace"),
    path("computetargets/", views.ComputeTargetList.as_view(), name="api-computetargets"),
    path("computetargets/<str:name>/", views.ComputeTargetDetail.as_view(), name="api-computetarget"),
    path("datastores/", views.DatastoreList.as_view(), name="api-datastores"),
    path("datastores/<str:name>/", views.DatastoreDetail.as_view(), name="api-datastore"),
    path("snapshots/missing/", views.snapshots_missing, name="api-snapshots-missing"),
    path("snapshots/<str:digest>/", views.snapshot_detail, name="api-snapshot"),
    path("snapshots/<str:digest>/upload/", views.snapshot_upload, name="api-snapshot-upload"),
]
