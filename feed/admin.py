"""Admin for posts, likes, comments (and their likes) and tags."""

from django.contrib import admin
from django.utils.html import format_html

from .models import Comment, CommentLike, Like, Post, PostTag


class CommentInline(admin.TabularInline):
    """A post's comments on its page."""

    model = Comment
    extra = 0
    raw_id_fields = ("author",)
    fields = ("author", "body", "created")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    """Posts with their counters and lineage."""

    list_display = (
        "id",
        "thumb",
        "owner",
        "short_caption",
        "visibility",
        "model_name",
        "like_count",
        "comment_count",
        "remix_of",
        "created",
    )
    list_display_links = ("id", "thumb")
    list_filter = ("visibility", "model_name", "allow_remix", "allow_download", "created")
    search_fields = ("caption", "prompt", "owner__username")
    list_select_related = ("owner", "remix_of")
    raw_id_fields = ("owner", "remix_of")
    readonly_fields = ("like_count", "comment_count", "duration_s", "width", "height")
    date_hierarchy = "created"
    inlines = (CommentInline,)

    @admin.display(description="Poster")
    def thumb(self, obj: Post) -> str:
        """A small poster image."""
        if not obj.poster:
            return "-"
        return format_html('<img src="{}" alt="" style="height:48px">', obj.poster.url)

    @admin.display(description="Caption")
    def short_caption(self, obj: Post) -> str:
        """The caption, cut short."""
        return (obj.caption or obj.prompt)[:60]


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    """Likes."""

    list_display = ("user", "post", "created")
    search_fields = ("user__username",)
    list_filter = ("created",)
    list_select_related = ("user", "post")
    raw_id_fields = ("user", "post")
    date_hierarchy = "created"


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    """Comments."""

    list_display = ("author", "post", "short_body", "parent", "like_count", "created")
    search_fields = ("body", "author__username")
    list_filter = ("created", "removed")
    list_select_related = ("author", "post")
    raw_id_fields = ("author", "post", "parent")
    readonly_fields = ("like_count", "reply_count")
    date_hierarchy = "created"

    @admin.display(description="Comment")
    def short_body(self, obj: Comment) -> str:
        """The comment, cut short."""
        return obj.body[:80]


@admin.register(CommentLike)
class CommentLikeAdmin(admin.ModelAdmin):
    """Likes of comments."""

    list_display = ("user", "comment", "created")
    search_fields = ("user__username",)
    list_select_related = ("user", "comment")
    raw_id_fields = ("user", "comment")
    date_hierarchy = "created"


@admin.register(PostTag)
class PostTagAdmin(admin.ModelAdmin):
    """The #tags posts carry (kept in step with their captions: read only)."""

    list_display = ("tag", "post")
    search_fields = ("tag",)
    raw_id_fields = ("post",)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
