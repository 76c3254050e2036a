"""Package and event ids: UUIDv7 whose last 16 bits are the event's index (contract section 5).

A package id is a UUIDv7 (RFC 9562) with its 16 lowest bits zero: 48 bits of
Unix milliseconds, the version, 58 random bits, the variant. Event `i` of the
package gets the package id with `i` in those 16 bits. So every event id is
unique, the ids of one package share their first 112 bits, and

    correlation_id BETWEEN package_id AND package_id | 0xFFFF

regroups a package through an ordinary B-tree index on the UUID column.
Ids made by one process are strictly increasing, even within a millisecond.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid

INDEX_BITS = 16
MAX_EVENTS_PER_PACKAGE = 1 << INDEX_BITS
INDEX_MASK = MAX_EVENTS_PER_PACKAGE - 1
RANDOM_BITS = 58  # 12 bits of rand_a + the 46 of rand_b above the index

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62

_lock = threading.Lock()
_last_millis = -1
_last_random = 0


def _layout(millis: int, random: int) -> int:
    rand_a = random >> 46  # 12 bits
    rand_b_high = random & ((1 << 46) - 1)  # 46 bits, then 16 bits of index
    return (millis << 80) | _VERSION_7 | (rand_a << 64) | _VARIANT_RFC | (rand_b_high << INDEX_BITS)


def new_package_id() -> uuid.UUID:
    """A fresh package id (index bits zero), greater than any made before in this process."""
    global _last_millis, _last_random
    # Drawn before the lock: reading the OS's randomness releases the GIL, and
    # a thread that did so inside the lock made every other request wait on it.
    fresh = secrets.randbits(RANDOM_BITS)
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis > _last_millis:
            random = fresh
        else:
            # Same (or an earlier, if the clock stepped back) millisecond: keep
            # the last one and count up, so that ids stay ordered (RFC 9562 6.2).
            millis = _last_millis
            random = _last_random + 1
            if random >> RANDOM_BITS:
                millis, random = millis + 1, 0
        _last_millis, _last_random = millis, random
    return uuid.UUID(int=_layout(millis, random))


def event_id(package_id: uuid.UUID, index: int) -> uuid.UUID:
    if not 0 <= index < MAX_EVENTS_PER_PACKAGE:
        raise ValueError(f"an event index must be in [0, {MAX_EVENTS_PER_PACKAGE}), got {index}")
    if package_id.int & INDEX_MASK:
        raise ValueError(f"{package_id} is not a package id: its index bits are not zero")
    return uuid.UUID(int=package_id.int | index)


def package_id_of(correlation_id: uuid.UUID) -> uuid.UUID:
    return uuid.UUID(int=correlation_id.int & ~INDEX_MASK)


def package_id_text(correlation_id: str) -> str:
    """package_id_of for a correlationId already in canonical text (as the stream's are): its last four
    hex digits, the index, zeroed, with no UUID parsed or made."""
    return correlation_id[:-4] + "0000"


def index_of(correlation_id: uuid.UUID) -> int:
    return correlation_id.int & INDEX_MASK


def package_range(package_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The smallest and largest event ids of a package, for a BETWEEN query."""
    low = package_id_of(package_id)
    return low, uuid.UUID(int=low.int | INDEX_MASK)


def timestamp_millis(correlation_id: uuid.UUID) -> int:
    """When the package was made, in Unix milliseconds."""
    return correlation_id.int >> 80


# --- messageIdStamp: a UUID, or a ULID (the same 128 bits, Crockford base32) --

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_VALUES = {char: value for value, char in enumerate(_CROCKFORD)}


def parse_ulid(text: str) -> uuid.UUID:
    """The UUID holding the same 128 bits as a ULID; raises ValueError if it is not one."""
    if len(text) != 26:
        raise ValueError("a ULID has 26 characters")
    value = 0
    for char in text.upper():
        digit = _CROCKFORD_VALUES.get(char)
        if digit is None:
            raise ValueError(f"{char!r} is not a Crockford base32 digit")
        value = (value << 5) | digit
    if value >> 128:
        raise ValueError("a ULID holds at most 128 bits (its first character is at most 7)")
    return uuid.UUID(int=value)


def message_id_uuid(text: str) -> uuid.UUID:
    """messageIdStamp as the UUID the database stores: itself, or the UUID of a ULID's bits."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return parse_ulid(text)


# --- UUIDs as text -------------------------------------------------------------
#
# The stream writes UUIDs as text (PostgreSQL's COPY reads text). Most arrive in
# the canonical form already, and matching it costs a tenth of parsing.
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid_text(text: str) -> str:
    """The canonical text (lowercase, hyphenated) of the UUID `text` spells; raises ValueError if none."""
    return text if _CANONICAL.fullmatch(text) else str(uuid.UUID(text))


def message_id_text(text: str) -> str:
    """The canonical text of messageIdStamp's UUID (a ULID's bits as a UUID); raises ValueError if none."""
    return text if _CANONICAL.fullmatch(text) else str(message_id_uuid(text))
