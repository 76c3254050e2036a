"""PostgreSQL: the `events` table and Django's own tables.

POSTGRES_USER is the owner that migrates. Each process then connects with a
role of its own, allowed only what it needs: the API as API_POSTGRES_USER
(collector/roles.py), the stream as STREAM_POSTGRES_USER (settings/stream.py).
scripts/platform.sh and docker-compose.yaml hand each process its role.
"""

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
        "PASSWORD": env.secret("POSTGRES_PASSWORD", "postgres", production=PRODUCTION),
        # Keep connections across requests; health-check them before reuse.
        "CONN_MAX_AGE": env.integer("POSTGRES_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "connect_timeout": env.integer("POSTGRES_CONNECT_TIMEOUT", 5),
            # libpq's sslmode: "require" or "verify-full" (with POSTGRES_SSLROOTCERT) for a server over the network.
            "sslmode": env.string("POSTGRES_SSLMODE", "prefer"),
            **({"sslrootcert": root} if (root := env.string("POSTGRES_SSLROOTCERT", "")) else {}),
        },
    }
}

# The API's own role: reads `events` (admin, /status) and keeps Django's
# sessions and admin users; no other write (collector/roles.py grants it).
API_POSTGRES_USER = env.string("API_POSTGRES_USER", "holded_api")
API_POSTGRES_PASSWORD = env.secret("API_POSTGRES_PASSWORD", "holded_api", production=PRODUCTION)
