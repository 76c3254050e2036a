"""The Avro check as it was before contract.validation compiled it: a walk of the schema for every value.

Kept as the oracle of tests/contract/test_validation.py, which checks that the
compiled checks name the same errors, in the same order, for any event. It
walks the limits a schema states too (maxLength, maxItems, no NUL in a text;
contract/limits.py), written here again rather than imported.
"""

from __future__ import annotations

from typing import Any

from contract.limits import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH
from contract.validation import INT32, INT64, FieldError, _finite, echo, type_name


def _stated(schema: Any, name: str, default: int) -> int:
    value = schema.get(name) if isinstance(schema, dict) else None
    return value if type(value) is int and value > 0 else default


def _text(value: str, path: str, max_length: int) -> list[FieldError]:
    errors = []
    if len(value) > max_length:
        errors.append(FieldError(path, f"is {len(value)} characters long; at most {max_length} (maxLength)"))
    if "\x00" in value:
        errors.append(FieldError(path, "must not contain the NUL character (PostgreSQL cannot store it)"))
    if any(0xD800 <= ord(character) <= 0xDFFF for character in value):
        errors.append(FieldError(path, "must be Unicode text (it holds a lone surrogate, which UTF-8 cannot)"))
    return errors


def walker_errors(value: Any, schema: Any, path: str, named: dict[str, Any] | None = None) -> list[FieldError]:
    """Every way `value` fails the Avro `schema` (parsed JSON, as registered)."""
    named = {} if named is None else named
    if isinstance(schema, str):
        if schema in named:
            return walker_errors(value, named[schema], path, named)
        return _primitive_errors(value, schema, path)
    if isinstance(schema, list):
        return _union_errors(value, schema, path, named)
    kind = schema.get("type")
    if kind == "record":
        named[schema["name"]] = schema
        if "namespace" in schema:
            named[f"{schema['namespace']}.{schema['name']}"] = schema
        return _record_errors(value, schema, path, named)
    if kind == "enum":
        named[schema["name"]] = schema
        if value not in schema["symbols"]:
            return [FieldError(path, f"must be one of {', '.join(schema['symbols'])}, got {echo(value)}")]
        return []
    if kind == "array":
        if not isinstance(value, list):
            return [FieldError(path, f"must be an array, got {type_name(value)}")]
        most = _stated(schema, "maxItems", DEFAULT_MAX_ITEMS)
        if len(value) > most:
            return [FieldError(path, f"holds {len(value)} entries; at most {most} (maxItems)")]
        return [e for i, item in enumerate(value) for e in walker_errors(item, schema["items"], f"{path}[{i}]", named)]
    if kind == "map":
        if not isinstance(value, dict):
            return [FieldError(path, f"must be an object, got {type_name(value)}")]
        most = _stated(schema, "maxItems", DEFAULT_MAX_ITEMS)
        if len(value) > most:
            return [FieldError(path, f"holds {len(value)} entries; at most {most} (maxItems)")]
        errors = [e for k, item in value.items() for e in walker_errors(item, schema["values"], f"{path}.{k}", named)]
        for key in value:
            if isinstance(key, str):
                errors += _text(key, f"{path}.{key} (key)", DEFAULT_MAX_LENGTH)
        return errors
    if kind == "string":
        if not isinstance(value, str):
            return _primitive_errors(value, "string", path)
        return _text(value, path, _stated(schema, "maxLength", DEFAULT_MAX_LENGTH))
    if kind == "fixed":
        named[schema["name"]] = schema
        return _primitive_errors(value, "bytes", path)
    return walker_errors(value, kind, path, named)  # {"type": "string"} and logical types


def _record_errors(value: Any, schema: dict[str, Any], path: str, named: dict[str, Any]) -> list[FieldError]:
    if not isinstance(value, dict):
        return [FieldError(path or "event", f"must be an object, got {type_name(value)}")]
    errors = []
    for field in schema["fields"]:
        name = field["name"]
        field_path = f"{path}.{name}" if path else name
        if name in value:
            errors.extend(walker_errors(value[name], field["type"], field_path, named))
        elif "default" not in field:
            errors.append(FieldError(field_path, "is required"))
    return errors


def _union_errors(value: Any, branches: list[Any], path: str, named: dict[str, Any]) -> list[FieldError]:
    if value is None:
        if "null" in branches:
            return []
        return [FieldError(path, "is required")]
    attempts = []
    for branch in branches:
        if branch == "null":
            continue
        errors = walker_errors(value, branch, path, named)
        if not errors:
            return []  # the first branch that takes the value: no need to try the others
        attempts.append(errors)
    # Report the branch the value was closest to (fewest errors), usually the record.
    return min(attempts, key=len) if attempts else [FieldError(path, "must be null")]


def _primitive_errors(value: Any, kind: str, path: str) -> list[FieldError]:
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("int", "long"):
        low, high = INT32 if kind == "int" else INT64
        if isinstance(value, int) and not isinstance(value, bool):
            if low <= value <= high:
                return []
            return [FieldError(path, f"is out of range for an Avro {kind}: {value}")]
        ok = False
    elif kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and _finite(value)
    elif kind == "string":
        if isinstance(value, str):
            return _text(value, path, DEFAULT_MAX_LENGTH)
        ok = False
    elif kind == "bytes":
        ok = isinstance(value, (bytes, str))
    else:
        return [FieldError(path, f"has a type this collector does not know: {kind}")]
    if ok:
        return []
    expected = {"null": "null", "boolean": "a boolean", "int": "an integer", "long": "an integer"}.get(
        kind, "a number" if kind in ("float", "double") else f"a {kind}"
    )
    return [FieldError(path, f"must be {expected}, got {type_name(value)} {echo(value)}")]
