"""Generation pages and the generation API."""

from django.urls import path

from generation import api, views

urlpatterns = [
    path("jobs/<uuid:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<uuid:job_id>/status/", views.job_status_fragment, name="job_status"),
    path("jobs/<uuid:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<uuid:job_id>/delete/", views.draft_delete, name="draft_delete"),
    path("drafts/", views.drafts, name="drafts"),
]

api_urlpatterns = [
    path("generations/", api.GenerationListCreateApi.as_view(), name="generation-list"),
    path("generations/models/", api.GenerationModelsApi.as_view(), name="generation-models"),
    path("generations/<uuid:job_id>/", api.GenerationDetailApi.as_view(), name="generation-detail"),
    path(
        "generations/<uuid:job_id>/cancel/",
        api.GenerationCancelApi.as_view(),
        name="generation-cancel",
    ),
]
