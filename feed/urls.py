"""Feed pages and the feed API."""

from django.urls import path

from feed import api, views

urlpatterns = [
    path("", views.for_you, name="for_you"),
    path("following/", views.following, name="following"),
    path("feed/<str:feed>/more/", views.feed_more, name="feed_more"),
    path("p/<int:pk>/", views.post_detail, name="post_detail"),
    path("p/<int:pk>/remixes/", views.post_lineage, name="post_lineage"),
    path("p/<int:pk>/credentials/", views.post_credentials, name="post_credentials"),
    path("tags/<str:tag>/", views.tag, name="tag"),
    path("verify/", views.verify, name="verify"),
    path("verify/<uuid:check_id>/", views.verify_check, name="verify_check"),
    path("p/<int:pk>/like/", views.post_like, name="post_like"),
    path("p/<int:pk>/comments/", views.comment_create, name="comment_create"),
    path("p/<int:pk>/comments/sheet/", views.comments_sheet, name="comments_sheet"),
    path("p/<int:pk>/edit/", views.post_edit, name="post_edit"),
    path("p/<int:pk>/delete/", views.post_delete, name="post_delete"),
    path("c/<int:pk>/delete/", views.comment_delete, name="comment_delete"),
    path("c/<int:pk>/like/", views.comment_like, name="comment_like"),
    path("create/", views.create, name="create"),
    path("create/drafts/<uuid:job_id>/post/", views.draft_post, name="draft_post"),
]

api_urlpatterns = [
    path("feed/<str:feed>/", api.FeedApi.as_view(), name="feed"),
    path("posts/", api.PostListApi.as_view(), name="post-list"),
    path("users/<str:handle>/posts/", api.UserPostsApi.as_view(), name="user-posts"),
    path("tags/<str:tag>/posts/", api.TagPostsApi.as_view(), name="tag-posts"),
    path("posts/<int:pk>/", api.PostDetailApi.as_view(), name="post-detail"),
    path("posts/<int:pk>/like/", api.PostLikeApi.as_view(), name="post-like"),
    path("posts/<int:pk>/comments/", api.CommentListCreateApi.as_view(), name="post-comments"),
    path("comments/<int:pk>/", api.CommentDetailApi.as_view(), name="comment-detail"),
    path("comments/<int:pk>/like/", api.CommentLikeApi.as_view(), name="comment-like"),
    path("posts/<int:pk>/remix/", api.PostRemixApi.as_view(), name="post-remix"),
    path("generations/<uuid:job_id>/post/", api.DraftPostApi.as_view(), name="generation-post"),
    path("verify/", api.VerifyApi.as_view(), name="verify"),
    path("verify/<uuid:check_id>/", api.VerifyCheckApi.as_view(), name="verify-check"),
    path("manifests/by-binding/", api.ManifestByBindingApi.as_view(), name="manifest-by-binding"),
]
