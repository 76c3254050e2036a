"""The S3 store (MinIO with Docker, versitygw natively): a private bucket, reached with SigV4."""

from __future__ import annotations

from holded.settings import env
from holded.settings.base import PRODUCTION

S3_ENDPOINT_URL = env.string("S3_ENDPOINT_URL", "http://127.0.0.1:9000")
S3_BUCKET = env.string("S3_BUCKET", "holded-events")
S3_REGION = env.string("S3_REGION", "us-east-1")
# The application's own user, which owns the bucket and may do nothing else
# (scripts/services.sh and docker-compose.yaml create it); never the store's root.
S3_ACCESS_KEY_ID = env.required("S3_ACCESS_KEY_ID") if PRODUCTION else env.string("S3_ACCESS_KEY_ID", "holded-app")
S3_SECRET_ACCESS_KEY = env.secret("S3_SECRET_ACCESS_KEY", "holded-app-secret", production=PRODUCTION)
