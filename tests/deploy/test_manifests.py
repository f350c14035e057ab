"""The deployment files agree with the code: processes, probes, settings names, file lists.

Static checks (PyYAML) of the base's files and of what kubectl renders for the overlays:
no cluster, no Docker, no network.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

from tests.deploy.rendering import documents  # noqa: E402 - needs PyYAML

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes" / "base"
OVERLAYS = ["deploy/kubernetes/overlays/dev", "deploy/kubernetes/overlays/production"]
# The five processes and the port each HTTP one listens on (None: no HTTP).
PROCESSES = {
    "helpdesk-intake serve": 8001,
    "helpdesk-intake relay": None,
    "helpdesk-intake smtp": None,  # SMTP, not HTTP: TCP probes on its port
    "helpdesk-query serve": 8002,
    "helpdesk-query project": None,  # the projectors: probes on its metrics port
    "helpdesk-sla serve": 8003,
    "helpdesk-notify serve": 8004,
    "helpdesk-portal serve": 8005,
}
SETTINGS = [
    ("helpdesk_shared.settings", "CommonSettings"),
    ("helpdesk_intake.settings", "IntakeSettings"),
    ("helpdesk_query.settings", "QuerySettings"),
    ("helpdesk_sla.settings", "SlaSettings"),
    ("helpdesk_notify.settings", "NotifySettings"),
    ("helpdesk_portal.settings", "PortalSettings"),
]


def known_env() -> set[str]:
    names = {"HELPDESK_QUERY_PORT"}
    for module, struct in SETTINGS:
        try:
            fields = getattr(importlib.import_module(module), struct).__struct_fields__
        except (ImportError, AttributeError):  # a service still being written
            continue
        names |= {"HELPDESK_" + field.upper() for field in fields}
    return names


def kube_docs() -> list[dict]:
    return [doc for path in sorted(KUBE.glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def containers() -> list[tuple[dict, dict]]:
    return [(doc, c) for doc in kube_docs() if doc["kind"] == "Deployment"
            for c in doc["spec"]["template"]["spec"]["containers"]]


def test_card7_deployments_run_known_processes_with_probes_resources_and_non_root():
    seen = set()
    for deployment, container in containers():
        pod = deployment["spec"]["template"]["spec"]
        command = " ".join(container.get("command", []) + container.get("args", []))
        assert command in PROCESSES, (deployment["metadata"]["name"], command)
        seen.add(command)
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        if (port := PROCESSES[command]) is not None:
            assert [p["containerPort"] for p in container["ports"]] == [port]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert "startupProbe" in container
    assert seen == PROCESSES.keys()


def test_every_helpdesk_variable_is_a_setting():
    names = set()
    for doc in kube_docs() + [doc for overlay in OVERLAYS for doc in documents(overlay)]:
        if doc["kind"] in ("ConfigMap", "Secret") and doc["metadata"]["name"] != "helpdesk-policies":
            names |= (doc.get("data") or {}).keys() | (doc.get("stringData") or {}).keys()
    for _, container in containers():
        names |= {var["name"] for var in container.get("env", [])}
    for service in compose()["services"].values():
        names |= set(service.get("environment", {}))
    unknown = {n for n in names if n.startswith("HELPDESK_")} - known_env()
    assert not unknown
    assert "HELPDESK_CLOCK" not in names  # never in production


def test_compose_runs_the_five_processes_after_healthy_postgres():
    services = compose()["services"]
    assert services["migrate"]["command"] == ["helpdesk-migrate"]
    apps = {name: s for name, s in services.items() if s.get("build") and name != "migrate"}
    assert sorted(" ".join(s["command"]) for s in apps.values()) == sorted(PROCESSES)
    for service in apps.values():
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["environment"]["HELPDESK_BIND_HOST"] == "0.0.0.0"
        if (port := PROCESSES[" ".join(service["command"])]) is not None:
            assert f"{port}:{port}" in service["ports"]
    assert services["nats"]["command"][:3] == ["-js", "-sd", "/data"]


def test_kustomization_lists_existing_files_and_no_secret():
    resources = yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"]
    assert all((KUBE / name).is_file() for name in resources)
    assert "secret.example.yaml" not in resources
    others = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert others == set(resources)


def test_example_policy_is_valid():
    from helpdesk_shared.policies.loader import parse_policy

    policies = next(d for d in kube_docs() if d["metadata"]["name"] == "helpdesk-policies")
    for name, text in policies["data"].items():
        parse_policy(text, name)
