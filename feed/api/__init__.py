"""The feed API, one concept a module; feed/urls.py reaches it through here."""

from .comments import CommentDetailApi, CommentLikeApi, CommentListCreateApi
from .common import PostOutputSerializer, PostPageSerializer
from .posts import FeedApi, PostDetailApi, PostLikeApi, PostListApi, TagPostsApi, UserPostsApi
from .remix import DraftPostApi, PostRemixApi
from .verify import ManifestByBindingApi, VerifyApi, VerifyCheckApi

__all__ = [
    "CommentDetailApi",
    "CommentLikeApi",
    "CommentListCreateApi",
    "DraftPostApi",
    "FeedApi",
    "ManifestByBindingApi",
    "PostDetailApi",
    "PostLikeApi",
    "PostListApi",
    "PostOutputSerializer",
    "PostPageSerializer",
    "PostRemixApi",
    "TagPostsApi",
    "UserPostsApi",
    "VerifyApi",
    "VerifyCheckApi",
]
