# The stream's fixtures serve the end-to-end tests of accounting too.
from tests.streaming.conftest import stream_lane

__all__ = ["stream_lane"]
