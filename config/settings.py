"""Riff settings, read from the environment.

The defaults are the embedded mode: SQLite, local media, no servers to run. Each
integration is switched on by one variable: DATABASE_URL, REDIS_URL, USE_S3.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.api_schema import api_schema_settings
from config.database import database
from config.model_catalogue import riff_models
from config.policies import (
    content_security_policy,
    rate_limited_writes,
    suspended_accounts_may,
    throttle_rates,
)
from config.schedule import beat_schedule

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Off unless asked for: a server started without it shows no debug page, needs its own
# SECRET_KEY and gets the HTTPS hardening below. bin/run and bin/test turn it on for the
# embedded mode they run.
DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "riff-embedded-development-key-not-for-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY
elif SECRET_KEY == _DEV_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured("The development SECRET_KEY cannot be used when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "accounts",
    "feed",
    "generation",
    "moderation",
    "ranking",
    "social",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a sign-in refused by the lockout (accounts/lockout.py) into its 429.
    "axes.middleware.AxesMiddleware",
    # Last, so its 400 page has the signed-in user; still before any view runs.
    "core.middleware.reject_malformed_requests",
    # The write limits of RATE_LIMITED_WRITES on the site's own pages (the API's throttles
    # count the same ones); after the session and htmx middleware, which it reads.
    "core.middleware.LimitPageWrites",
    # A view that needed Redis while it was down answers 503, not 500.
    "core.middleware.ServiceOutage",
    # What a suspended account may still do, for pages and the API (SUSPENDED_ACCOUNTS_MAY).
    "core.middleware.SuspendedAccountScope",
    # Notes a post's page or API shown to a signed-in viewer: their events may follow.
    "ranking.middleware.note_post_shown",
]
RATE_LIMITED_WRITES = rate_limited_writes()
SUSPENDED_ACCOUNTS_MAY = suspended_accounts_may()

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "moderation.context_processors.moderation",
                "social.context_processors.notifications",
                "generation.context_processors.rendering",
            ],
            # {% media_url file %}: a file's URL for the viewer of the page (core/media.py).
            "builtins": ["core.templating"],
        },
    },
]

DATABASES = {
    "default": database(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        parallel_workers=int(os.environ.get("DB_PARALLEL_WORKERS", "0")),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# SQLite builds a covering index (ranking's seen filter) without its extra columns: fine.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: a locked-out account or address is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
SITE_ID = 1

# How many proxies of ours stand in front of Riff, each appending to X-Forwarded-For. With 0
# (the default) that header is ignored: it is whatever the client wrote. The ASGI server
# reads it by this count, once, and sets REMOTE_ADDR to the client's address
# (core/proxy.py); DRF's throttles, allauth's limits and the sign-in lockout all read
# REMOTE_ADDR alone, so none of them may count the proxies a second time.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
ALLAUTH_TRUSTED_PROXY_COUNT = 0

# One lockout for the log-in page and the token API together (accounts/lockout.py): after
# LOGIN_LOCKOUT_FAILURES failed sign-ins for an account, or from an address, both are
# refused for LOGIN_LOCKOUT_MINUTES. Counted in the database, so every process agrees.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_LOCKOUT_FAILURES", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "accounts.lockout.login_key"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# The client's address as every limit reads it (see TRUSTED_PROXY_COUNT).
AXES_CLIENT_IP_CALLABLE = "core.web.client_address"
AXES_VERBOSE = False
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "feed:for_you"
LOGOUT_REDIRECT_URL = "feed:for_you"

# --- Redis: cache, Celery broker and channel layer; embedded mode runs without it.
REDIS_URL = os.environ.get("REDIS_URL", "")
DATA_DIR = Path(os.environ.get("RIFF_DATA_DIR", BASE_DIR / ".data"))

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "riff"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, which breaks the
            # layer's blocking receive on an idle socket; it must wait as long as it needs.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # A folder-backed broker lets the web process and the worker share a queue
    # without any server; production uses Redis.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(DATA_DIR / "broker"),
        "data_folder_out": str(DATA_DIR / "broker"),
        "processed_folder": str(DATA_DIR / "broker-processed"),
        # Worker control messages (ping, inspect) too, instead of ./control.
        "control_folder": str(DATA_DIR / "broker-control"),
        "store_processed": False,
    }

CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Media storage: local disk, or S3-compatible with USE_S3.
USE_S3 = env_bool("USE_S3", False)
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
if USE_S3:
    STORAGES["default"] = {
        # Riff talks to the bucket at AWS_S3_ENDPOINT_URL; browsers get URLs presigned for
        # AWS_S3_PUBLIC_ENDPOINT_URL when set (compose: the site, whose proxy passes the
        # bucket's path on to MinIO), else for the same endpoint.
        "BACKEND": "core.storage.PublicEndpointS3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", "riff-media"),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "public_endpoint_url": os.environ.get("AWS_S3_PUBLIC_ENDPOINT_URL") or None,
            # An endpoint of one's own (MinIO) serves buckets by path, not by host name.
            "addressing_style": "path" if os.environ.get("AWS_S3_ENDPOINT_URL") else None,
            "custom_domain": os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
            # Presigned URLs only: the bucket stays private, and a URL handed out lasts as
            # long as a signed local one.
            "querystring_auth": True,
            "querystring_expire": int(os.environ.get("MEDIA_SIGNED_URL_S", "600")),
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
# Pages load from Riff itself and the media host when media is in S3: the host its URLs name
# (the custom domain, else the public endpoint, in compose the site itself, else the endpoint).
if USE_S3:
    _custom_domain = os.environ.get("AWS_S3_CUSTOM_DOMAIN", "")
    _endpoint = os.environ.get("AWS_S3_PUBLIC_ENDPOINT_URL") or os.environ.get(
        "AWS_S3_ENDPOINT_URL", ""
    )
    _MEDIA_ORIGIN = (
        f"https://{_custom_domain}"
        if _custom_domain
        else ("/".join(_endpoint.split("/")[:3]) if _endpoint else "https://*.amazonaws.com")
    )
else:
    _MEDIA_ORIGIN = ""
_CSP = content_security_policy(media_origin=_MEDIA_ORIGIN)
CONTENT_SECURITY_POLICY = os.environ.get("CONTENT_SECURITY_POLICY") or _CSP
# Local media is served by Riff itself (with Range support, which video seeking needs)
# unless a reverse proxy in front of it does.
SERVE_MEDIA = env_bool("SERVE_MEDIA", not USE_S3)
# How long a signed media URL (a draft's, a private or followers-only post's) stays valid:
# between this and twice this. In S3 mode, how long presigned URLs last.
MEDIA_SIGNED_URL_S = int(os.environ.get("MEDIA_SIGNED_URL_S", "600"))
# Uploads bigger than this are refused before they reach a form.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# How many uploads over 8 MB a web process copies and reads at once (core/uploads.py); the
# rest wait their turn, so that pages keep being answered while big files arrive.
LARGE_UPLOADS_AT_ONCE = int(os.environ.get("LARGE_UPLOADS_AT_ONCE", "1"))
FILE_UPLOAD_HANDLERS = [
    "core.uploads.MemoryFileUploadHandler",
    "core.uploads.TemporaryFileUploadHandler",
]
AVATAR_MAX_BYTES = 2 * 1024 * 1024

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Accounts (django-allauth).
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Riff <noreply@localhost>")

ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_USERNAME_MIN_LENGTH = 3
ACCOUNT_USERNAME_BLACKLIST = ["admin", "api", "accounts", "static", "media", "riff", "settings"]
ACCOUNT_EMAIL_VERIFICATION = os.environ.get(
    "ACCOUNT_EMAIL_VERIFICATION", "optional" if DEBUG else "mandatory"
)
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_RATE_LIMITS = {
    "login": os.environ.get("RATE_LIMIT_LOGIN", "30/m/ip"),
    "login_failed": os.environ.get("RATE_LIMIT_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "signup": os.environ.get("RATE_LIMIT_SIGNUP", "10/h/ip"),
    "reset_password": "5/m/ip,3/m/key",
    "confirm_email": "1/3m/key",
}
# Sign-up needs a code from the admin when this is on.
INVITE_ONLY = env_bool("INVITE_ONLY", False)

# --- API.
REST_FRAMEWORK = {
    # Token first: DRF answers "not signed in" with the first class's challenge, and
    # only token auth has one, so anonymous writes get 401 rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Throttles key anonymous callers by REMOTE_ADDR, already the client's behind our proxies
    # (see TRUSTED_PROXY_COUNT); 0, not None, which would read X-Forwarded-For whole.
    "NUM_PROXIES": 0,
    # Per scope; RATE_LIMITED_WRITES says which page and API endpoint count under each.
    "DEFAULT_THROTTLE_RATES": throttle_rates(),
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonRateThrottle",
        "core.throttling.UserRateThrottle",
        "core.throttling.WriteRateThrottle",
    ],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
# The OpenAPI schema's settings (drf-spectacular): config/api_schema.py.
SPECTACULAR_SETTINGS = api_schema_settings()

FEED_PAGE_SIZE = int(os.environ.get("FEED_PAGE_SIZE", "8"))

# --- Generation: model weights come from local directories only, never from a hub.
MODELS_DIR = Path(os.environ.get("RIFF_MODELS_DIR", DATA_DIR / "models"))
RIFF_MODELS = riff_models(models_dir=MODELS_DIR, base_dir=BASE_DIR)
# Each model's caps, checked when a job is asked for (API and form, a 400 naming the limit)
# and again by the worker: max_steps (GENERATION_MAX_STEPS when unset), max_seconds and
# max_frames (the clip's length), max_width and max_height (its frame, for every shape).
GENERATION_MAX_STEPS = int(os.environ.get("GENERATION_MAX_STEPS", "50"))
# The house model ships with Riff and makes real clips on a CPU; tests that need a tiny
# random model name tiny-wan themselves.
RIFF_DEFAULT_MODEL = os.environ.get("RIFF_DEFAULT_MODEL", "riff-house")
# Per-person allowances; an admin can override both on a person's quota row.
GENERATION_DAILY_QUOTA = int(os.environ.get("GENERATION_DAILY_QUOTA", "20"))
GENERATION_CONCURRENT_QUOTA = int(os.environ.get("GENERATION_CONCURRENT_QUOTA", "2"))
# A job running longer than this is timed out by its step callback or by the sweeper.
GENERATION_TIMEOUT_S = int(os.environ.get("GENERATION_TIMEOUT_S", "900"))
# A worker holds a running job on a lease this long, renewed by its heartbeat thread every
# third of it, from model load to the last write; the sweeper takes back expired leases.
GENERATION_HEARTBEAT_S = float(os.environ.get("GENERATION_HEARTBEAT_S", "120"))
GENERATION_MAX_ATTEMPTS = int(os.environ.get("GENERATION_MAX_ATTEMPTS", "3"))
# A job still queued after this long is given up on (no worker is taking jobs).
GENERATION_QUEUE_TIMEOUT_S = int(os.environ.get("GENERATION_QUEUE_TIMEOUT_S", "3600"))
# A job queued this long is sent to the broker again (a message lost in a Redis restart);
# a second delivery finds the job taken and does nothing.
GENERATION_RESEND_QUEUED_S = int(os.environ.get("GENERATION_RESEND_QUEUED_S", "300"))
# An open job socket also re-reads its job this often and sends what changed: how the
# embedded mode stays live (no Redis); with Redis it only covers a lost push.
GENERATION_STATUS_RECHECK_S = float(
    os.environ.get("GENERATION_STATUS_RECHECK_S", "10" if REDIS_URL else "1")
)

# --- Notifications: open pages re-read this often besides pushes; read ones are kept so long;
# Web Push tells push services this contact (empty: DEFAULT_FROM_EMAIL's address), and pushes
# only to public https hosts unless WEBPUSH_LOCAL_ENDPOINTS (a development instance's default).
_RECHECK_S = "30" if REDIS_URL else "5"
NOTIFICATIONS_RECHECK_S = float(os.environ.get("NOTIFICATIONS_RECHECK_S", _RECHECK_S))
NOTIFICATIONS_KEEP_DAYS = int(os.environ.get("NOTIFICATIONS_KEEP_DAYS", "90"))
WEBPUSH_CONTACT = os.environ.get("WEBPUSH_CONTACT", "")
WEBPUSH_LOCAL_ENDPOINTS = env_bool("WEBPUSH_LOCAL_ENDPOINTS", DEBUG)

# Content credentials (C2PA): clips are signed with this chain (leaf then CA) and key, read
# back with these CAs as anchors; `manage.py c2pa_dev_ca` makes a development CA here.
C2PA_DIR = DATA_DIR / "c2pa"
C2PA_CERT_CHAIN = Path(os.environ.get("C2PA_CERT_CHAIN", C2PA_DIR / "chain.pem"))
C2PA_PRIVATE_KEY = Path(os.environ.get("C2PA_PRIVATE_KEY", C2PA_DIR / "key.pem"))
C2PA_TRUST_ANCHORS = Path(os.environ.get("C2PA_TRUST_ANCHORS", C2PA_DIR / "ca.pem"))
# "Verify a clip" reads uploads up to this size (whole clips of a few seconds are far smaller).
VERIFY_MAX_UPLOAD_MB = int(os.environ.get("VERIFY_MAX_UPLOAD_MB", "100"))
# No request body may be larger: the ASGI app refuses one with a 413 before reading it
# (core/bodies.py). The largest upload, a clip to verify, plus its form's few bytes.
MAX_REQUEST_MB = int(os.environ.get("MAX_REQUEST_MB", str(VERIFY_MAX_UPLOAD_MB + 1)))
# Read from a video's header before anything is decoded: larger or longer ones are refused.
VERIFY_MAX_PIXELS = int(os.environ.get("VERIFY_MAX_PIXELS", str(4096 * 2160)))
VERIFY_MAX_SECONDS = int(os.environ.get("VERIFY_MAX_SECONDS", "180"))
VERIFY_MAX_FRAMES = int(os.environ.get("VERIFY_MAX_FRAMES", str(180 * 60)))
# Uploads are checked by workers on the `verify` queue, never in the web process: at most
# this many may wait (more are refused with a 503), each read for at most VERIFY_TIME_LIMIT_S;
# a request waits up to VERIFY_WAIT_S for its answer, then says where to find it. A check no
# worker finished in VERIFY_GIVE_UP_S is given up on; results are kept VERIFY_KEEP_S.
VERIFY_MAX_PENDING = int(os.environ.get("VERIFY_MAX_PENDING", "16"))
VERIFY_TIME_LIMIT_S = int(os.environ.get("VERIFY_TIME_LIMIT_S", "60"))
VERIFY_WAIT_S = float(os.environ.get("VERIFY_WAIT_S", "20"))
VERIFY_GIVE_UP_S = int(os.environ.get("VERIFY_GIVE_UP_S", "600"))
VERIFY_KEEP_S = int(os.environ.get("VERIFY_KEEP_S", "3600"))
# The sentence encoder the prompt policy (and ranking) embed text with: a local folder of a
# sentence-transformers model, or empty for the MiniLM packaged with Riff.
RIFF_TEXT_ENCODER_PATH = os.environ.get("RIFF_TEXT_ENCODER_PATH", "")

if REDIS_URL:
    # Redis hands an unacknowledged job to another worker after this long: it must outlast
    # the longest job (late acks), or a slow clip would start twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * GENERATION_TIMEOUT_S + 60}

CELERY_TASK_ROUTES = {
    "generation.tasks.run_generation_job": {"queue": "gpu"},
    "moderation.tasks.verify_check": {"queue": "verify"},
}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# For You (README "For You" and its settings table): retrains, versions kept, logs kept.
RANKING_RETRAIN_HOURS = float(os.environ.get("RANKING_RETRAIN_HOURS", "6"))
RANKING_TRAIN_PASSES = int(os.environ.get("RANKING_TRAIN_PASSES", "1"))
RANKING_MODELS_KEPT = int(os.environ.get("RANKING_MODELS_KEPT", "10"))
RANKING_SERVED_DAYS = int(os.environ.get("RANKING_SERVED_DAYS", "30"))
# A retrain's window and held-out check (ranking/training.py), and event pruning.
RANKING_TRAIN_WINDOW_DAYS = float(os.environ.get("RANKING_TRAIN_WINDOW_DAYS", "30"))
RANKING_HOLDOUT_HOURS = float(os.environ.get("RANKING_HOLDOUT_HOURS", "24"))
RANKING_EVENTS_MARGIN_DAYS = float(os.environ.get("RANKING_EVENTS_MARGIN_DAYS", "7"))
RANKING_PRUNE_BATCH = int(os.environ.get("RANKING_PRUNE_BATCH", "10000"))
# Each web process's updater interval, and how long its learner keeps a showing of a clip.
RANKING_SYNC_INTERVAL_S = float(os.environ.get("RANKING_SYNC_INTERVAL_S", "0.5"))
RANKING_EXPOSURE_WINDOW_H = float(os.environ.get("RANKING_EXPOSURE_WINDOW_H", "6"))
CELERY_BEAT_SCHEDULE = beat_schedule(retrain_hours=RANKING_RETRAIN_HOURS)

# --- Production hardening; `manage.py check --deploy` passes with DEBUG off.
if not DEBUG:
    if TRUSTED_PROXY_COUNT:
        # Only a proxy of ours says whether the browser's connection was HTTPS; without one,
        # X-Forwarded-Proto is the client's own words and Riff's own connection tells.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
