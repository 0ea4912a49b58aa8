from django.urls import path

from runs.api import views

urlpatterns = [
    path("experiments/", views.ExperimentList.as_view(), name="api-experiments"),
    path("experiments/<str:name>/", views.ExperimentDetail.as_view(), name="api-experiment"),
    path("runs/", views.RunList.as_view(), name="api-runs"),
    path("runs/<str:run_id>/", views.RunDetail.as_view(), name="api-run"),
    path("runs/<str:run_id>/cancel/", views.RunCancel.as_view(), name="api-run-cancel"),
    path("steps/<str:step_id>/", views.StepDetail.as_view(), name="api-step"),
    path("steps/<str:step_id>/log/", views.StepLog.as_view(), name="api-step-log"),
    path("steps/<str:step_id>/metrics/", views.StepMetrics.as_view(), name="api-step-metrics"),
]
