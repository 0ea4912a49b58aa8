from __future__ import annotations

from django.urls import path, re_path

from pipelines.api import drafts, schedules, views

# The SDK's management API, under /api/.
urlpatterns = [
    path("publishedpipelines/", views.PublishedPipelineList.as_view(), name="api-published"),
    path(
        "publishedpipelines/<str:pipeline_id>/",
        views.PublishedPipelineDetail.as_view(),
        name="api-published-detail",
    ),
    re_path(
        r"^publishedpipelines/(?P<pipeline_id>[^/]+)/(?P<action>[^/]+)/$",
        views.PublishedPipelineStatus.as_view(),
        name="api-published-status",
    ),
    path("runs/<str:run_id>/publish/", views.RunPublish.as_view(), name="api-run-publish"),
    path("pipelineendpoints/", views.PipelineEndpointList.as_view(), name="api-endpoints"),
    path(
        "pipelineendpoints/<str:endpoint_id>/",
        views.PipelineEndpointDetail.as_view(),
        name="api-endpoint",
    ),
    path(
        "pipelineendpoints/<str:endpoint_id>/versions/",
        views.PipelineEndpointVersions.as_view(),
        name="api-endpoint-versions",
    ),
    path(
        "pipelineendpoints/<str:endpoint_id>/default/",
        views.PipelineEndpointDefault.as_view(),
        name="api-endpoint-default",
    ),
    re_path(
        r"^pipelineendpoints/(?P<endpoint_id>[^/]+)/(?P<action>[^/]+)/$",
        views.PipelineEndpointStatus.as_view(),
        name="api-endpoint-status",
    ),
    path("pipelinedrafts/", drafts.PipelineDraftList.as_view(), name="api-drafts"),
    path("pipelinedrafts/clone/", drafts.PipelineDraftClone.as_view(), name="api-draft-clone"),
    path("pipelinedrafts/<str:draft_id>/", drafts.PipelineDraftDetail.as_view(), name="api-draft"),
    path(
        "pipelinedrafts/<str:draft_id>/submit/",
        drafts.PipelineDraftSubmit.as_view(),
        name="api-draft-submit",
    ),
    path(
        "pipelinedrafts/<str:draft_id>/publish/",
        drafts.PipelineDraftPublish.as_view(),
        name="api-draft-publish",
    ),
    path("schedules/", schedules.ScheduleList.as_view(), name="api-schedules"),
    path("schedules/preview/", schedules.SchedulePreview.as_view(), name="api-schedule-preview"),
    path("schedules/<str:schedule_id>/", schedules.ScheduleDetail.as_view(), name="api-schedule"),
    path(
        "schedules/<str:schedule_id>/runs/",
        schedules.ScheduleRuns.as_view(),
        name="api-schedule-runs",
    ),
    path(
        "schedules/<str:schedule_id>/fires/",
        schedules.ScheduleFires.as_view(),
        name="api-schedule-fires",
    ),
    path(
        "schedules/<str:schedule_id>/run-now/",
        schedules.ScheduleRunNow.as_view(),
        name="api-schedule-run-now",
    ),
    re_path(
        r"^schedules/(?P<schedule_id>[^/]+)/(?P<action>[^/]+)/$",
        schedules.ScheduleStatus.as_view(),
        name="api-schedule-status",
    ),
]

# Azure's REST submit endpoints (the path ends like Azure's).
submit_urlpatterns = [
    path(
        "PipelineRuns/PipelineSubmit/<str:pipeline_id>",
        views.PipelineSubmit.as_view(),
        name="pipeline-submit",
    ),
    path(
        "PipelineRuns/PipelineEndpointSubmit/Id/<str:endpoint_id>",
        views.PipelineEndpointSubmit.as_view(),
        name="endpoint-submit",
    ),
    path(
        "PipelineRuns/PipelineEndpointSubmit/Id/<str:endpoint_id>/<str:version>",
        views.PipelineEndpointVersionSubmit.as_view(),
        name="endpoint-submit-version",
    ),
    path(
        "PipelineRuns/PipelineEndpointSubmit/Name",
        views.PipelineEndpointSubmitByName.as_view(),
        name="endpoint-submit-by-name",
    ),
]
