"""Moderation pages and API."""

from django.urls import path

from moderation import api, views

urlpatterns = [
    path("report/<str:kind>/<str:ref>/", views.report, name="report"),
    path("moderation/", views.queue, name="queue"),
    path("moderation/cases/<int:pk>/", views.case_detail, name="case"),
    path("moderation/appeals/", views.appeals, name="appeals"),
    path("moderation/appeals/<int:pk>/", views.appeal_detail, name="appeal"),
    path("notices/", views.notices, name="notices"),
    path("appeals/", views.my_appeals, name="my_appeals"),
    path("appeals/decision/<int:pk>/", views.decision_appeal, name="decision_appeal"),
    path("appeals/refusal/<int:pk>/", views.refusal_appeal, name="refusal_appeal"),
    path("transparency/", views.transparency, name="transparency"),
]

api_urlpatterns = [
    path("reports/", api.ReportCreateApi.as_view(), name="report-create"),
    path("notices/", api.NoticeListApi.as_view(), name="notice-list"),
    path("appeals/", api.AppealCreateApi.as_view(), name="appeal-create"),
    path("moderation/cases/", api.CaseListApi.as_view(), name="case-list"),
    path("moderation/cases/<int:pk>/", api.CaseDetailApi.as_view(), name="case-detail"),
    path("moderation/cases/<int:pk>/decision/", api.CaseDecideApi.as_view(), name="case-decide"),
    path("moderation/appeals/", api.AppealListApi.as_view(), name="appeal-list"),
    path(
        "moderation/appeals/<int:pk>/decision/",
        api.AppealDecideApi.as_view(),
        name="appeal-decide",
    ),
]
