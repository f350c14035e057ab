"""What each overlay promises, read from what ``kubectl kustomize`` renders.

dev: one replica of everything, NATS, PostgreSQL and a mail catcher in the namespace. production: a 3-node
NATS JetStream cluster with the HELPDESK stream at 3 replicas, a CloudNativePG cluster whose
generated Secret the services read, routes for intake and query, topology spread on every
Deployment, and a ServiceMonitor for every process that serves metrics.
"""

from __future__ import annotations

from tests.deploy.rendering import documents, named, of_kind

DEV = "deploy/kubernetes/overlays/dev"
PRODUCTION = "deploy/kubernetes/overlays/production"
COMPONENT = "app.kubernetes.io/component"


def helpdesk_containers(docs: list[dict]) -> list[dict]:
    return [container for doc in of_kind(docs, "Deployment")
            if doc["metadata"]["labels"]["app.kubernetes.io/name"] == "helpdesk"
            for container in doc["spec"]["template"]["spec"]["containers"]]


def test_platform_dev_runs_one_replica_of_everything_with_nats_and_postgres_inside() -> None:
    docs = documents(DEV)
    workloads = of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet")
    assert {doc["metadata"]["name"] for doc in of_kind(docs, "StatefulSet")} == {"nats", "postgres"}
    assert all(doc["spec"]["replicas"] == 1 for doc in workloads)
    assert not of_kind(docs, "HorizontalPodAutoscaler")
    assert all("minAvailable" not in pdb["spec"] for pdb in of_kind(docs, "PodDisruptionBudget"))


def test_platform_dev_generates_the_secrets_the_processes_read() -> None:
    docs = documents(DEV)
    secrets = {doc["metadata"]["name"] for doc in of_kind(docs, "Secret")}
    for container in helpdesk_containers(docs):
        refs = {ref["secretRef"]["name"] for ref in container["envFrom"] if "secretRef" in ref}
        refs |= {var["valueFrom"]["secretKeyRef"]["name"]
                 for var in container.get("env", []) if "valueFrom" in var}
        assert refs and refs <= secrets


def test_platform_production_nats_is_a_3_node_jetstream_cluster() -> None:
    docs = documents(PRODUCTION)
    nats = named(docs, "StatefulSet", "nats")
    pod = nats["spec"]["template"]["spec"]
    config = named(docs, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert nats["spec"]["replicas"] == 3 and nats["spec"]["serviceName"] == "nats-cluster"
    assert all(f"nats://nats-{i}.nats-cluster:6222" in config for i in range(3))
    assert "jetstream" in config and "server_name: $SERVER_NAME" in config
    assert named(docs, "Service", "nats-cluster")["spec"]["publishNotReadyAddresses"] is True
    assert named(docs, "PodDisruptionBudget", "nats")["spec"]["maxUnavailable"] == 1
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"


def test_platform_production_stream_has_3_replicas_in_the_config() -> None:
    config = named(documents(PRODUCTION), "ConfigMap", "helpdesk-config")["data"]
    assert config["HELPDESK_STREAM_REPLICAS"] == "3"
    assert config["HELPDESK_NATS_URL"] == "nats://nats:4222"


def test_platform_production_postgres_is_a_cloudnativepg_cluster_every_process_reads() -> None:
    docs = documents(PRODUCTION)
    cluster = named(docs, "Cluster", "helpdesk-db")
    assert cluster["spec"]["instances"] == 3
    # The services' runtime role is one of the cluster's managed roles (rows only, granted by the Job).
    (role,) = cluster["spec"]["managed"]["roles"]
    assert (role["name"], role["login"]) == ("helpdesk_app", True)
    # The operator generates helpdesk-db-app (the owner's); the overlay must not ship one.
    assert "helpdesk-db-app" not in {doc["metadata"]["name"] for doc in of_kind(docs, "Secret")}
    for container in helpdesk_containers(docs):
        if container["name"] == "portal":
            continue  # the portal reads no database: it calls intake and query with the user's token
        url = next(var for var in container["env"] if var["name"] == "HELPDESK_DATABASE_URL")
        assert url["valueFrom"]["secretKeyRef"] == {"name": "helpdesk-db-runtime", "key": "uri"}
    (job,) = of_kind(docs, "Job")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    owner = next(var for var in migrate["env"] if var["name"] == "HELPDESK_MIGRATION_DATABASE_URL")
    assert migrate["command"] == ["helpdesk-migrate"]
    assert owner["valueFrom"]["secretKeyRef"] == {"name": "helpdesk-db-app", "key": "uri"}


def test_platform_production_routes_intake_query_and_the_portal_to_their_services() -> None:
    docs = documents(PRODUCTION)
    routed = {(ref["name"], ref["port"]) for route in of_kind(docs, "HTTPRoute")
              for rule in route["spec"]["rules"] for ref in rule["backendRefs"]}
    assert routed == {("intake", 8001), ("query", 8002), ("portal", 8005)}
    for name, port in routed:
        assert port in [p["port"] for p in named(docs, "Service", name)["spec"]["ports"]]


def test_platform_production_spreads_every_deployment_over_zones_and_nodes() -> None:
    for deployment in of_kind(documents(PRODUCTION), "Deployment"):
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        keys = {c["topologyKey"] for c in spread}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        assert all("app.kubernetes.io/component" in c["matchLabelKeys"] for c in spread)


def test_platform_production_has_a_service_monitor_for_every_process_with_metrics() -> None:
    """Every helpdesk Service with an ``http`` or ``metrics`` port has its own ServiceMonitor."""
    docs = documents(PRODUCTION)
    monitored = {(monitor["spec"]["selector"]["matchLabels"][COMPONENT], endpoint["port"])
                 for monitor in of_kind(docs, "ServiceMonitor")
                 for endpoint in monitor["spec"]["endpoints"]}
    served = {(service["metadata"]["labels"][COMPONENT], port["name"])
              for service in of_kind(docs, "Service")
              if service["metadata"]["labels"].get("app.kubernetes.io/name") == "helpdesk"
              for port in service["spec"]["ports"] if port["name"] in ("http", "metrics")}
    assert served and monitored == served
    assert {component for component, _ in served} >= {"intake", "query", "sla", "notify"}


def test_platform_production_runs_more_replicas_where_they_serve() -> None:
    docs = documents(PRODUCTION)
    assert named(docs, "HorizontalPodAutoscaler", "intake")["spec"]["minReplicas"] >= 3
    assert named(docs, "Deployment", "query")["spec"]["replicas"] >= 3
    for name in ("intake-relay", "intake-smtp", "sla", "notify"):
        assert named(docs, "Deployment", name)["spec"]["replicas"] >= 2
