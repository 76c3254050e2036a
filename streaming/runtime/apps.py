from django.apps import AppConfig


class StreamRuntimeConfig(AppConfig):
    """An app for its command only: `manage.py run_stream`, which hosts the pipeline. No models."""

    name = "streaming.runtime"
    label = "stream_runtime"
    verbose_name = "Event stream (the process that runs the Beam job)"
