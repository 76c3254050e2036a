"""The import graph reads like the data flow: which package may import which (pure; reads the source).

contract        the event contract: schemas, registry, normalization, validation,
                ids, wire format, enriched event, dead-letter record; imports no project package
integrations    the services' configurations and clients; may import contract
collector       HTTP in, Kafka out          } each may import contract and integrations,
streaming       Kafka in, S3 and PostgreSQL }  never the other
accounting      reconcile: may import contract and integrations
monitoring      the /status page of the API process: may import contract, integrations and collector.health
generator       test data and the sender: imports no project package
holded          the Django project: settings, urls, server entry points (and the nginx in front);
                imports no app, only integrations (a child process ends with its parent)
bench           benchmarks: the contract, integrations, public entry points (the apps, the accounting and
                the generator), never transform internals
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "contract",
    "integrations",
    "collector",
    "streaming",
    "accounting",
    "monitoring",
    "generator",
    "holded",
    "bench",
)

ALLOWED: dict[str, set[str]] = {
    "contract": set(),
    "integrations": {"contract"},
    "collector": {"contract", "integrations"},
    "streaming": {"contract", "integrations"},
    "accounting": {"contract", "integrations"},
    "monitoring": {"contract", "integrations", "collector"},
    "generator": set(),
    "holded": {"integrations"},
    "bench": {"contract", "integrations", "collector", "streaming", "accounting", "generator"},
}
# Modules that are another package's internals: reachable only from inside it.
INTERNAL = ("streaming.pipeline.transforms", "collector.services", "collector.kafka")


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of the file (imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def package_files(package: str) -> list[Path]:
    return sorted(path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts)


def owner(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in PACKAGES else None


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = []
    for path in package_files(package):
        for module in sorted(imports_of(path)):
            target = owner(module)
            if target is None or target == package:
                continue
            if target not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
            elif module.startswith(INTERNAL):
                wrong.append(f"{path.relative_to(ROOT)} imports {module}, an internal of {target}")
    assert not wrong, "\n".join(wrong)


def test_the_collector_and_the_stream_never_import_each_other() -> None:
    crossing = [
        f"{path.relative_to(ROOT)} imports {module}"
        for package, other in (("collector", "streaming"), ("streaming", "collector"))
        for path in package_files(package)
        for module in imports_of(path)
        if owner(module) == other
    ]
    assert not crossing, "\n".join(crossing)


# Inside the stream, three rooms on three floors (docs/architecture.md, "The stream's house"):
#   streaming.table     the events table, a Django app: model, migrations, partitions, the COPY; the contract only
#   streaming.pipeline  the Beam job: source, transforms, records, lake objects; may use the table's SQL
#   streaming.runtime   the processes that host it: launcher, local processes, Flink, workers, lifecycle,
#                       health, metrics; the only room that may import the other two whole
STREAM_ROOMS: dict[str, tuple[str, ...]] = {
    "streaming.table": (),
    "streaming.pipeline": ("streaming.table.events_table", "streaming.table.partitions"),
    "streaming.runtime": ("streaming.pipeline", "streaming.table"),
}
# What flows between the transforms and what configures them: they never import a transform or the graph.
PIPELINE_VALUES = ("records", "objects", "config", "host", "retry", "isolation", "replay")


def stream_room(module: str) -> str | None:
    return next((room for room in STREAM_ROOMS if module == room or module.startswith(room + ".")), None)


def test_each_room_of_the_stream_imports_only_the_rooms_below_it() -> None:
    wrong = []
    for path in package_files("streaming"):
        here = stream_room(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for module in sorted(imports_of(path)):
            there = stream_room(module)
            if here is None or there is None or there == here:
                continue
            if not module.startswith(STREAM_ROOMS[here]):
                wrong.append(f"{path.relative_to(ROOT)} ({here}) imports {module} ({there})")
    assert not wrong, "\n".join(wrong)


def test_the_stream_has_nothing_outside_its_three_rooms() -> None:
    outside = [
        str(path.relative_to(ROOT))
        for path in package_files("streaming")
        if stream_room(".".join(path.relative_to(ROOT).with_suffix("").parts)) is None
        and path.relative_to(ROOT).as_posix() != "streaming/__init__.py"
    ]
    assert not outside, outside


@pytest.mark.parametrize("name", PIPELINE_VALUES)
def test_the_pipelines_values_import_no_transform_and_no_runtime(name: str) -> None:
    path = ROOT / "streaming" / "pipeline" / f"{name}.py"
    allowed = tuple(f"streaming.pipeline.{other}" for other in PIPELINE_VALUES)
    wrong = [
        module for module in sorted(imports_of(path)) if owner(module) == "streaming" and not module.startswith(allowed)
    ]
    assert not wrong, f"streaming/pipeline/{name}.py imports {wrong}"


def test_the_django_project_holds_settings_urls_and_entry_points_only() -> None:
    modules = {path.relative_to(ROOT / "holded").as_posix() for path in package_files("holded")}
    allowed = {"__init__.py", "urls.py", "wsgi.py", "asgi.py", "server.py", "proxy.py"}
    assert {m for m in modules if not m.startswith("settings/")} <= allowed


def test_no_test_imports_a_conftest() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for module in imports_of(path)
        if "conftest" in module.split(".")
    ]
    assert not offenders, "\n".join(offenders)


def test_the_rule_sees_a_forbidden_import(tmp_path: Path) -> None:
    # The checker itself: an import of the stream from the collector is found.
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from streaming.pipeline.transforms.decode import Decode\n")
    assert "streaming.pipeline.transforms.decode" in imports_of(source)
    assert owner("streaming.pipeline.transforms.decode") == "streaming"
