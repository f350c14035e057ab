"""Turn CustomResourceDefinitions into strict JSON Schemas for ``check-jsonschema``.

Run by hand when a vendored CRD changes (README.md names the sources):
``python tests/deploy/schemas/vendor_crds.py CRD.yaml...`` writes ``<group>/<kind>_<version>.json``
for every served version. Nothing is downloaded at test time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


def strict(schema: Any) -> Any:
    """Refuse unknown fields, as the API server does under strict field validation.

    An object that lists its properties, declares no ``additionalProperties`` and does not
    preserve unknown fields gets ``additionalProperties: false``, at every depth.
    """
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def version_schema(group: str, kind: str, version: dict) -> dict:
    """One served version's openAPIV3Schema, pinned to its apiVersion and kind."""
    schema = strict(version["schema"]["openAPIV3Schema"])
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["properties"]["apiVersion"] = {"enum": [f"{group}/{version['name']}"]}
    schema["properties"]["kind"] = {"enum": [kind]}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return schema


def vendor(crd_path: Path) -> list[Path]:
    """Write the JSON Schema of every served version of the CRD at ``crd_path``."""
    crd = yaml.safe_load(crd_path.read_text())
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    written = []
    for version in crd["spec"]["versions"]:
        if not version.get("served"):
            continue
        target = HERE / group / f"{kind.lower()}_{version['name']}.json"
        target.parent.mkdir(exist_ok=True)
        schema = version_schema(group, kind, version)
        target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in sys.argv[1:]:
        for target in vendor(Path(path)):
            print(target.relative_to(HERE))
