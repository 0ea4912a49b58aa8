from __future__ import annotations

from django.urls import path

from runs import environment_views, model_views, views

urlpatterns = [
    path("experiments/", views.experiments, name="experiments"),
    path("experiments/<path:name>/", views.runs_list, name="experiment-runs"),
    path("runs/", views.runs_list, name="runs"),
    path("compare/", views.compare, name="compare"),
    path("runs/<str:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<str:run_id>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<str:run_id>/context/", views.run_update, name="run-update"),
    path("runs/<str:run_id>/rerun-failed/", views.run_rerun_failed, name="run-rerun-failed"),
    path("runs/<str:run_id>/search/", views.run_log_search, name="run-log-search"),
    path("runs/<str:run_id>/timeline/", views.run_timeline, name="run-timeline"),
    path("steps/<str:step_id>/file/", views.step_file, name="step-file"),
    path("steps/<str:step_id>/notebook/", views.step_notebook, name="step-notebook"),
    path("steps/<str:step_id>/log/", views.step_log_tail, name="step-log-tail"),
    path("steps/<str:step_id>/log/download/", views.step_log_download, name="step-log-download"),
    path("compute/", views.compute_targets, name="compute-targets"),
    path("environments/", environment_views.environments, name="environments"),
    path("datasets/<path:name>/", views.dataset_detail, name="dataset-detail"),
    path("models/", model_views.models, name="models"),
    path("models/<str:name>/", model_views.model_detail, name="model-detail"),
    path("models/<str:name>/compare/", model_views.model_compare, name="model-compare"),
    path("models/<str:name>/<int:version>/file/", model_views.model_file, name="model-file"),
]
