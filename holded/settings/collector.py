"""POST /collect: request limits and throttling."""

from __future__ import annotations

from holded.settings import env
from holded.settings.base import PRODUCTION

# Keys that may post to /collect (comma-separated; two during a rotation).
# Required with the production settings; optional in local development, where
# the customer's generator posts without one.
if PRODUCTION:
    COLLECT_API_KEYS = [key.strip() for key in env.required("COLLECT_API_KEYS").split(",") if key.strip()]
else:
    COLLECT_API_KEYS = env.strings("COLLECT_API_KEYS", [])
COLLECT_REQUIRE_API_KEY = PRODUCTION or env.boolean("COLLECT_REQUIRE_API_KEY", False)

# Request-level limits (413 beyond them). The body limit also applies after gzip.
COLLECT_MAX_BODY_BYTES = env.integer("COLLECT_MAX_BODY_BYTES", 1024 * 1024)
COLLECT_MAX_EVENTS = env.integer("COLLECT_MAX_EVENTS", 1000)
# Levels of arrays and objects a body may nest (an event needs 4; 400 for a 400 beyond it).
COLLECT_MAX_JSON_DEPTH = env.integer("COLLECT_MAX_JSON_DEPTH", 64)
# DRF rate, such as "100/second" or "6000/minute", per client address and per
# API process; empty for no throttling (429 beyond it).
COLLECT_THROTTLE_RATE = env.string("COLLECT_THROTTLE_RATE", "")
# The header that holds the client's address, set by the server's own nginx (holded/proxy.py;
# holded/server.py sets it when it starts nginx); empty: the connection's address.
COLLECT_CLIENT_ADDRESS_HEADER = env.string("API_CLIENT_ADDRESS_HEADER", "")
# What a 503 asks the client to wait before retrying.
COLLECT_RETRY_AFTER_SECONDS = env.integer("COLLECT_RETRY_AFTER_SECONDS", 5)

# /status shows dead-letter errors, which may quote event data: in production
# only staff (Django admin users) see it.
STATUS_REQUIRE_STAFF = env.boolean("STATUS_REQUIRE_STAFF", PRODUCTION)
# /status is made again at most this often, whatever the request rate (its page refreshes every 30 s).
STATUS_CACHE_SECONDS = env.number("STATUS_CACHE_SECONDS", 10.0)
