"""ASGI entry point: HTTP through Django, WebSockets through Channels, both behind the
trusted-proxy wrapper that sets the client's address (core/proxy.py)."""

import os
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A web process's number crunching is small (a page scores a few hundred clips): one BLAS
# and OpenMP thread each, set before numpy loads. Their spare threads otherwise spin on the
# cores the database and the other requests need (For You p99 72-78 ms against 62-67 here).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from core.bodies import (  # noqa: E402
    BoundedBodyMiddleware,
    daphne_streams_form_bodies,
    get_asgi_application,
)

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from core.proxy import TrustedProxyMiddleware  # noqa: E402
from moderation.policy import policy_warm  # noqa: E402
from ranking.live import live_warm  # noqa: E402

daphne_streams_form_bodies()
# The prompt policy's text encoder and the For You learner take seconds to load: load them
# while the server starts.
threading.Thread(target=policy_warm, name="policy-warm", daemon=True).start()
threading.Thread(target=live_warm, name="for-you-warm", daemon=True).start()

# Outermost, so every HTTP request and WebSocket sees the client's address, never the proxy's.
application = TrustedProxyMiddleware(
    ProtocolTypeRouter(
        {
            # Bodies over MAX_REQUEST_MB refused unread; the rest read without hogging the loop.
            "http": BoundedBodyMiddleware(django_asgi_app),
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
