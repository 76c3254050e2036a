"""The WSGI application: POST /collect straight to the collector, the rest to Django (collector/wsgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")

from collector.wsgi import collect_first

application = collect_first(get_wsgi_application())
