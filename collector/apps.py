from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class CollectorConfig(AppConfig):
    name = "collector"
    verbose_name = "Event collector (POST /collect)"

    def ready(self) -> None:
        from collector import checks  # noqa: F401  (registers the checks that the limits agree)
        from collector.roles import grant_api_role

        # post_migrate is sent per app with models, after every migration has
        # run; this app has none, so listen to auth's: once per migrate.
        post_migrate.connect(grant_api_role, sender=apps.get_app_config("auth"), dispatch_uid="collector.api_role")
