from __future__ import annotations

from django.urls import path, re_path

from pipelines import draft_views, module_views, schedule_views, views

urlpatterns = [
    path("runs/<str:run_id>/publish/", views.run_publish, name="run-publish"),
    path("runs/<str:run_id>/resubmit/", views.run_resubmit, name="run-resubmit"),
    path("pipelines/", views.published_list, name="published-list"),
    path("pipelines/<uuid:pipeline_id>/", views.published_detail, name="published-detail"),
    path("pipelines/<uuid:pipeline_id>/submit/", views.published_submit, name="published-submit"),
    re_path(
        r"^pipelines/(?P<pipeline_id>[0-9a-f-]{36})/(?P<action>enable|disable)/$",
        views.published_status,
        name="published-status",
    ),
    path("drafts/", draft_views.draft_list, name="draft-list"),
    path("drafts/<uuid:draft_id>/", draft_views.draft_detail, name="draft-detail"),
    path("drafts/<uuid:draft_id>/submit/", draft_views.draft_submit, name="draft-submit"),
    path("drafts/<uuid:draft_id>/publish/", draft_views.draft_publish, name="draft-publish"),
    path("drafts/<uuid:draft_id>/delete/", draft_views.draft_delete, name="draft-delete"),
    path("endpoints/", views.endpoint_list, name="endpoint-list"),
    path("endpoints/<uuid:endpoint_id>/", views.endpoint_detail, name="endpoint-detail"),
    path("endpoints/<uuid:endpoint_id>/default/", views.endpoint_default, name="endpoint-default"),
    path(
        "endpoints/<uuid:endpoint_id>/submit/", views.endpoint_submit, name="endpoint-submit-form"
    ),
    re_path(
        r"^endpoints/(?P<endpoint_id>[0-9a-f-]{36})/(?P<action>enable|disable)/$",
        views.endpoint_status,
        name="endpoint-status",
    ),
    path("schedules/", schedule_views.schedule_list, name="schedule-list"),
    path("schedules/new/", schedule_views.schedule_create, name="schedule-create"),
    path("schedules/preview/", schedule_views.schedule_preview, name="schedule-preview"),
    path("schedules/<uuid:schedule_id>/", schedule_views.schedule_detail, name="schedule-detail"),
    path("schedules/<uuid:schedule_id>/edit/", schedule_views.schedule_edit, name="schedule-edit"),
    path(
        "schedules/<uuid:schedule_id>/run-now/",
        schedule_views.schedule_run_now,
        name="schedule-run-now",
    ),
    re_path(
        r"^schedules/(?P<schedule_id>[0-9a-f-]{36})/(?P<action>enable|disable)/$",
        schedule_views.schedule_toggle,
        name="schedule-toggle",
    ),
    path("modules/", module_views.module_list, name="module-list"),
    path("modules/<uuid:module_id>/", module_views.module_detail, name="module-detail"),
    path("modules/<uuid:module_id>/default/", module_views.module_default, name="module-default"),
    re_path(
        r"^modules/(?P<module_id>[0-9a-f-]{36})/(?P<action>enable|disable|deprecate)/$",
        module_views.module_status,
        name="module-status",
    ),
    re_path(
        r"^moduleversions/(?P<version_id>[0-9a-f-]{36})/(?P<action>enable|disable|deprecate)/$",
        module_views.module_version_status,
        name="module-version-status",
    ),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
