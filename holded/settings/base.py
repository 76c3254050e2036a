"""Django core: apps, middleware, REST framework, logging."""

from __future__ import annotations

from pathlib import Path

from holded.settings import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# "development" gives working defaults for every setting; "production" demands
# the secrets and turns debugging off.
HOLDED_ENV = env.string("HOLDED_ENV", "development")
PRODUCTION = HOLDED_ENV == "production"

SECRET_KEY = env.secret("DJANGO_SECRET_KEY", "development-only-not-a-secret", production=PRODUCTION)
DEBUG = env.boolean("DJANGO_DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env.strings("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI and Redoc served by the app itself: /api/docs/ works offline.
    "drf_spectacular_sidecar",
    "collector",
    "streaming.table",
    "streaming.runtime",
    "generator",
    "accounting",
    "monitoring",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, browsable API, Swagger UI) under granian, with no
    # web server in front; right after SecurityMiddleware, as whitenoise asks.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "holded.urls"
# The collector's door in front of Django (runserver serves it too).
WSGI_APPLICATION = "collector.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Overrides of third-party templates (drf_spectacular/redoc.html: nothing off-site).
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Filled by `manage.py collectstatic` (scripts/platform.sh up, the Docker
# image); whitenoise serves it compressed. In development whitenoise also
# finds files in the apps directly, so tests and runserver need no collect.
STATIC_ROOT = env.string("DJANGO_STATIC_ROOT", "") or str(BASE_DIR / ".run" / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "collector.errors.handle_exception",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

# The customer's generator posts to http://localhost:8000/collect, without a
# trailing slash; do not redirect POSTs.
APPEND_SLASH = False

SPECTACULAR_SETTINGS = {
    "TITLE": "Holded event collector",
    "DESCRIPTION": (
        "Takes packages of business events, validates them against the registered schema"
        " and streams them through Kafka."
    ),
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOG_LEVEL = env.string("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Client libraries log every HTTP request at INFO.
        **{name: {"level": "WARNING"} for name in ("httpx", "httpx2", "httpcore", "botocore", "boto3", "urllib3")},
        # Beam logs its type-hint conversions and runner internals at INFO.
        "apache_beam": {"level": "WARNING"},
        # Django's default config gives it a handler of its own: one line per message.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
