"""Settings: Django core in base.py, then one module per integration.

Every value comes from the environment (see .env.example) with a default that
points at the native development services started by scripts/services.sh.
HOLDED_ENV=production removes the defaults of every secret.
"""

from holded.settings.base import *  # noqa: F403
from holded.settings.collector import *  # noqa: F403
from holded.settings.database import *  # noqa: F403
from holded.settings.events import *  # noqa: F403
from holded.settings.kafka import *  # noqa: F403
from holded.settings.schema_registry import *  # noqa: F403
from holded.settings.storage import *  # noqa: F403
from holded.settings.stream import *  # noqa: F403
