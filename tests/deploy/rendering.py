"""The deploy tools from the locked dev dependencies, and the manifests kustomize renders."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEMAS = Path(__file__).resolve().parent / "schemas"
KUSTOMIZATIONS = [
    "deploy/kubernetes/base",
    "deploy/kubernetes/overlays/dev",
    "deploy/kubernetes/overlays/production",
]


def run(*command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool installed next to this Python (kubectl, hadolint, ...) in the repository root."""
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, input=stdin, text=True,
                          capture_output=True, timeout=120)


@functools.cache
def kustomize(path: str) -> str:
    """``kubectl kustomize path``: what ``kubectl apply -k`` would send."""
    built = run("kubectl", "kustomize", path)
    assert built.returncode == 0, f"kubectl kustomize {path} fails:\n{built.stderr}"
    return built.stdout


def documents(path: str) -> list[dict]:
    """The rendered objects of a kustomization (read with PyYAML after kubectl built them)."""
    return [doc for doc in yaml.safe_load_all(kustomize(path)) if doc]


def schema_for(doc: dict) -> Path | None:
    """The vendored JSON Schema of a custom resource (``schemas/<group>/<kind>_<version>.json``)."""
    group, _, version = doc["apiVersion"].rpartition("/")
    path = SCHEMAS / group / f"{doc['kind'].lower()}_{version}.json"
    return path if group and path.is_file() else None


def named(docs: list[dict], kind: str, name: str) -> dict:
    return next(doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name)


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [doc for doc in docs if doc["kind"] == kind]
