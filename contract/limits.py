"""What an accepted event may hold: limits chosen so that both sinks can store anything accepted.

The door and the stream check the same limits (contract/validation.py), so
an event past one becomes a dead letter that names the field and the limit,
never a write a sink refuses later. A text field's limit is the `maxLength`
its Avro schema states (schemas/*.avsc, in characters); a text, an array or
a map whose schema states none gets the defaults here. Where each number
comes from (the README's table of limits has them all):

- A text of an indexed column (`type`, in events_type_idx) must fit one
  B-tree entry of PostgreSQL: at most 2,704 bytes on 8 KiB pages, a
  character being at most 4 bytes of UTF-8, less the entry's own header.
- No text holds NUL: PostgreSQL's text and jsonb cannot.
- An event, encoded, holds at most EVENT_MAX_BYTES: it must fit a Kafka
  record with its headers (KAFKA_MESSAGE_MAX_BYTES, checked at start by
  collector/checks.py), and a poll and a lake object hold thousands of them.
- An error names at most MAX_ERRORS_NAMED problems and counts the rest, and
  quotes at most MAX_PATH_CHARACTERS of a field's path, so that a dead
  letter's headers have a bound whatever the event (contract/dead_letter.py).
"""

from __future__ import annotations

# PostgreSQL's largest B-tree entry on 8 KiB pages (BTMaxItemSize), and UTF-8's widest character.
BTREE_MAX_ENTRY_BYTES = 2704
UTF8_MAX_BYTES = 4
# An index entry's header and the text's length word, with a margin.
BTREE_ENTRY_OVERHEAD_BYTES = 32
# The longest text an indexed column may hold, in characters (668): its schema's maxLength stays below.
INDEXED_TEXT_MAX_LENGTH = (BTREE_MAX_ENTRY_BYTES - BTREE_ENTRY_OVERHEAD_BYTES) // UTF8_MAX_BYTES

# A text, an array or a map whose schema states no maxLength, or no maxItems.
DEFAULT_MAX_LENGTH = 255
DEFAULT_MAX_ITEMS = 1000

# An event once encoded in Avro: the value of its Kafka record, less the 5-byte wire header.
EVENT_MAX_BYTES = 256 * 1024

# What one error text quotes.
MAX_ERRORS_NAMED = 10
MAX_PATH_CHARACTERS = 200


def shorten_path(path: str) -> str:
    """A field's path as an error quotes it: a map's keys come from the client, so it is cut."""
    if len(path) <= MAX_PATH_CHARACTERS:
        return path
    return path[: MAX_PATH_CHARACTERS - 3] + "..."
