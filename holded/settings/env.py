"""Typed reads of settings from the environment.

Every setting has a development default, except those that must never have
one in production: `required()` fails early, naming the variable, and
`secret()` also refuses, in production, any of the development defaults.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")


def string(name: str, default: str) -> str:
    return os.environ.get(name, default)


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} must be set.")
    return value


# Every development default of a secret or password in the project (settings,
# scripts/lib/common.sh, docker-compose.yaml): production refuses each of them.
DEVELOPMENT_SECRETS = frozenset(
    {"development-only-not-a-secret", "postgres", "minioadmin", "holded_stream", "holded_api", "holded-app-secret"}
)


def secret(name: str, development_default: str, *, production: bool) -> str:
    """A secret: its development default outside production; in production set, and not a known default."""
    if not production:
        return os.environ.get(name, development_default)
    value = required(name)
    if value in DEVELOPMENT_SECRETS:
        raise ImproperlyConfigured(
            f"The environment variable {name} holds a development default; production needs a secret of its own."
        )
    return value


def _parsed(name: str, default: T, parse: Callable[[str], T], kind: str) -> T:
    """`parse` of the variable, its default when unset or empty; a value `parse` refuses names the variable."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {kind}, got {raw!r}.") from None


def integer(name: str, default: int) -> int:
    return _parsed(name, default, int, "an integer")


def number(name: str, default: float) -> float:
    return _parsed(name, default, float, "a number")


def boolean(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}.")


def strings(name: str, default: list[str]) -> list[str]:
    """A comma-separated list."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]
