"""PostgreSQL: the `events` table and Django's own tables."""

from __future__ import annotations

from holded.settings import env
from holded.settings.base import PRODUCTION

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": env.string("POSTGRES_HOST", "127.0.0.1"),
        "PORT": env.integer("POSTGRES_PORT", 5432),
        "NAME": env.string("POSTGRES_DB", "holded"),
        "USER": env.string("POSTGRES_USER", "postgres"),
        "PASSWORD": env.required("POSTGRES_PASSWORD") if PRODUCTION else env.string("POSTGRES_PASSWORD", "postgres"),
        # Keep connections across requests; health-check them before reuse.
        "CONN_MAX_AGE": env.integer("POSTGRES_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": env.integer("POSTGRES_CONNECT_TIMEOUT", 5)},
    }
}
