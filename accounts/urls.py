"""Profile pages and the people API."""

from django.urls import path

from accounts import api, views

urlpatterns = [
    path("@<str:handle>/", views.profile, name="profile"),
    path("@<str:handle>/followers/", views.followers, name="followers"),
    path("@<str:handle>/following/", views.following, name="following"),
    path("@<str:handle>/follow/", views.follow, name="follow"),
    path("@<str:handle>/block/", views.block, name="block"),
    path("settings/profile/", views.profile_edit, name="profile_edit"),
    path("settings/data/", views.data_export, name="data_export"),
]

api_urlpatterns = [
    path("auth/token/", api.TokenApi.as_view(), name="token"),
    path("me/", api.MeApi.as_view(), name="me"),
    path("me/export/", api.MeExportApi.as_view(), name="me-export"),
    path("users/<str:handle>/", api.UserDetailApi.as_view(), name="user-detail"),
    path("users/<str:handle>/follow/", api.UserFollowApi.as_view(), name="user-follow"),
    path("users/<str:handle>/block/", api.UserBlockApi.as_view(), name="user-block"),
    path("users/<str:handle>/followers/", api.UserFollowersApi.as_view(), name="user-followers"),
    path("users/<str:handle>/following/", api.UserFollowingApi.as_view(), name="user-following"),
]
