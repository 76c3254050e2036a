from django.urls import path

from monitoring.views import status_page

urlpatterns = [path("status", status_page, name="status")]
