"""The Benthos peer side by side with this project: runs ../shared/peer/bench_peer.py from here.

    uv run python bench/peer.py collect|stream|fresh [the driver's options]

The driver in shared/ reuses bench/collect.py and bench/stream.py, and was
written before the event contract and the integrations had packages of their
own: it imports `registry_client` from `holded.registry` and `s3_client` from
`holded.storage`. The Django project no longer holds them, so this maps those
two names onto `integrations.clients` (the same one-per-process clients), then
runs the driver unchanged, with this checkout as its root.
"""

from __future__ import annotations

import os
import runpy
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRIVER = Path(os.environ.get("PEER_DRIVER", ROOT.parent / "shared" / "peer" / "bench_peer.py"))


def main() -> None:
    if not DRIVER.exists():
        sys.exit(f"no peer driver at {DRIVER} (set PEER_DRIVER)")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("HOLDED_ROOT", str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")
    import django

    django.setup()
    from integrations import clients

    for name, attribute in (("holded.registry", "registry_client"), ("holded.storage", "s3_client")):
        module = types.ModuleType(name, f"{attribute} for the peer driver (bench/peer.py)")
        setattr(module, attribute, getattr(clients, attribute))
        sys.modules[name] = module
    sys.argv = [str(DRIVER), *sys.argv[1:]]
    runpy.run_path(str(DRIVER), run_name="__main__")
    if sys.argv[1:2] == ["collect"]:
        # The driver's own label predates decision 22; what it served is bench.collect.serve_api's.
        print("  (ours was served by python -m holded.server, granian: the driver's label is older)")


if __name__ == "__main__":
    main()
