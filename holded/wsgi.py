"""Django alone, as WSGI. What is served is collector.wsgi.application: the collector's door in front of this."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")

application = get_wsgi_application()
