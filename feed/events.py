"""What the feed tells the apps above it (see core/events.py).

The ranking learns from likes, comments and remixes; notifications will hear the same.
Each is sent by a service in feed/services.py, inside its transaction.
"""

from core.events import DomainEvent

# A clip was posted (`post.remix_of` names the clip it remixes, if any).
post_published = DomainEvent("feed.post_published", ("post",))
# `user` liked `post`, or took the like back.
post_liked = DomainEvent("feed.post_liked", ("user", "post"))
post_unliked = DomainEvent("feed.post_unliked", ("user", "post"))
# A comment was added under its post.
comment_created = DomainEvent("feed.comment_created", ("comment",))
