"""Feed pages, one concept a module; feed/urls.py reaches every view through this package."""

from .create import create, draft_post
from .feeds import feed_more, following, for_you
from .posts import (
    comment_create,
    comment_delete,
    comment_like,
    comments_sheet,
    post_delete,
    post_detail,
    post_edit,
    post_like,
    post_lineage,
)
from .tags import tag
from .verify import post_credentials, verify, verify_check

__all__ = [
    "comment_create",
    "comment_delete",
    "comment_like",
    "comments_sheet",
    "create",
    "draft_post",
    "feed_more",
    "following",
    "for_you",
    "post_delete",
    "post_detail",
    "post_edit",
    "post_credentials",
    "post_like",
    "post_lineage",
    "tag",
    "verify",
    "verify_check",
]
