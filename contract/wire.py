"""Confluent's wire format: magic byte 0, the schema id (4 bytes, big-endian), Avro.

Written here with fastavro rather than through confluent-kafka's
AvroSerializer so that the collector writes with exactly the schema version it
validated the event against: the id in the header is that version's.
Records written here are read by confluent-kafka's AvroDeserializer, and the
other way round (tests/contract/test_wire.py).
"""

from __future__ import annotations

import io
import struct
from typing import Any

import fastavro

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")
HEADER_BYTES = _HEADER.size  # the magic byte and the schema id


class WireFormatError(ValueError):
    """Bytes that are not a record in Confluent's wire format."""


def encode(schema_id: int, parsed_schema: Any, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    buffer.write(_HEADER.pack(MAGIC_BYTE, schema_id))
    fastavro.schemaless_writer(buffer, parsed_schema, record)
    return buffer.getvalue()


def schema_id_of(value: bytes) -> int:
    if len(value) < _HEADER.size:
        raise WireFormatError(f"a record needs at least {_HEADER.size} bytes, this one has {len(value)}")
    magic, schema_id = _HEADER.unpack_from(value)
    if magic != MAGIC_BYTE:
        raise WireFormatError(f"unknown magic byte {magic} (expected {MAGIC_BYTE})")
    return int(schema_id)


def decode(value: bytes, writer_schema: Any, reader_schema: Any | None = None) -> Any:
    schema_id_of(value)
    return fastavro.schemaless_reader(io.BytesIO(value[_HEADER.size :]), writer_schema, reader_schema)
