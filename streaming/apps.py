from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "streaming"
    verbose_name = "Event stream (Beam job into S3 and PostgreSQL)"
