"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os
import threading

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from moderation.policy import policy_warm  # noqa: E402
from ranking.live import live_warm  # noqa: E402

# The prompt policy's text encoder and the For You learner take seconds to load: load them
# while the server starts.
threading.Thread(target=policy_warm, name="policy-warm", daemon=True).start()
threading.Thread(target=live_warm, name="for-you-warm", daemon=True).start()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
