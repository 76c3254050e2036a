from django.urls import path

from collector.api import CollectView, LiveView, ReadyView, metrics

urlpatterns = [
    path("collect", CollectView.as_view(), name="collect"),
    path("health/live", LiveView.as_view(), name="health-live"),
    path("health/ready", ReadyView.as_view(), name="health-ready"),
    path("metrics", metrics, name="metrics"),
]
