from __future__ import annotations

from django.urls import path

from runs.api import artifacts, models, views
from studio.workspace.api.limits import takes_upload

urlpatterns = [
    path("experiments/", views.ExperimentList.as_view(), name="api-experiments"),
    path("experiments/<str:name>/", views.ExperimentDetail.as_view(), name="api-experiment"),
    path("runs/", views.RunList.as_view(), name="api-runs"),
    path("runs/<str:run_id>/", views.RunDetail.as_view(), name="api-run"),
    path("runs/<str:run_id>/cancel/", views.RunCancel.as_view(), name="api-run-cancel"),
    path(
        "runs/<str:run_id>/rerun-failed/",
        views.RunRerunFailed.as_view(),
        name="api-run-rerun-failed",
    ),
    path("runs/<str:run_id>/metrics/", artifacts.RunMetrics.as_view(), name="api-run-metrics"),
    path(
        "computetargets/<str:name>/status/",
        views.ComputeTargetStatus.as_view(),
        name="api-computetarget-status",
    ),
    path("steps/<str:step_id>/", views.StepDetail.as_view(), name="api-step"),
    path("steps/<str:step_id>/log/", views.StepLog.as_view(), name="api-step-log"),
    path(
        "steps/<str:step_id>/minibatches/",
        views.StepMiniBatches.as_view(),
        name="api-step-minibatches",
    ),
    path("steps/<str:step_id>/metrics/", artifacts.StepMetrics.as_view(), name="api-step-metrics"),
    path("steps/<str:step_id>/tags/", artifacts.StepTags.as_view(), name="api-step-tags"),
    path(
        "steps/<str:step_id>/properties/",
        artifacts.StepProperties.as_view(),
        name="api-step-properties",
    ),
    path("steps/<str:step_id>/files/", artifacts.StepFiles.as_view(), name="api-step-files"),
    path(
        "steps/<str:step_id>/files/upload/",
        takes_upload(artifacts.StepFileUpload.as_view()),
        name="api-step-file-upload",
    ),
    path("steps/<str:step_id>/models/", models.StepModels.as_view(), name="api-step-models"),
    path("models/", models.ModelList.as_view(), name="api-models"),
    path("models/<str:name>/<str:version>/", models.ModelDetail.as_view(), name="api-model"),
    path(
        "models/<str:name>/<str:version>/download/",
        models.ModelFileDownload.as_view(),
        name="api-model-download",
    ),
    path(
        "models/<str:name>/<str:version>/reads/",
        models.ModelReads.as_view(),
        name="api-model-reads",
    ),
    path(
        "steps/<str:step_id>/files/download/",
        artifacts.StepFileDownload.as_view(),
        name="api-step-file-download",
    ),
]
