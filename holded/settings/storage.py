"""The S3 store (MinIO with Docker, versitygw natively) through django-storages."""

from __future__ import annotations

from holded import env
from holded.settings.base import PRODUCTION

S3_ENDPOINT_URL = env.string("S3_ENDPOINT_URL", "http://127.0.0.1:9000")
S3_BUCKET = env.string("S3_BUCKET", "holded-events")
S3_REGION = env.string("S3_REGION", "us-east-1")
S3_ACCESS_KEY_ID = env.required("S3_ACCESS_KEY_ID") if PRODUCTION else env.string("S3_ACCESS_KEY_ID", "minioadmin")
S3_SECRET_ACCESS_KEY = (
    env.required("S3_SECRET_ACCESS_KEY") if PRODUCTION else env.string("S3_SECRET_ACCESS_KEY", "minioadmin")
)

# The bucket is private: no ACL is set on objects, and links are never public.
_S3_OPTIONS = {
    "endpoint_url": S3_ENDPOINT_URL,
    "bucket_name": S3_BUCKET,
    "region_name": S3_REGION,
    "access_key": S3_ACCESS_KEY_ID,
    "secret_key": S3_SECRET_ACCESS_KEY,
    "addressing_style": "path",
    "signature_version": "s3v4",
    "default_acl": None,
    "querystring_auth": True,
    "file_overwrite": True,
}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Dead letters and enriched events, as JSON objects.
    "events": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _S3_OPTIONS},
}
