"""The feed API, one concept a module; feed/urls.py and accounts reach it through here."""

from .comments import CommentDetailApi, CommentListCreateApi
from .common import AvatarUrlField, PostOutputSerializer, PostPageSerializer
from .posts import FeedApi, PostDetailApi, PostLikeApi, PostListApi
from .remix import DraftPostApi, PostRemixApi
from .verify import VerifyApi

__all__ = [
    "AvatarUrlField",
    "CommentDetailApi",
    "CommentListCreateApi",
    "DraftPostApi",
    "FeedApi",
    "PostDetailApi",
    "PostLikeApi",
    "PostListApi",
    "PostOutputSerializer",
    "PostPageSerializer",
    "PostRemixApi",
    "VerifyApi",
]
