"""Local infrastructure for the helpdesk: embedded PostgreSQL, NATS, an SMTP catcher."""

from helpdesk_devstack.nats import EmbeddedNats
from helpdesk_devstack.nats_cluster import NatsCluster
from helpdesk_devstack.ports import free_port
from helpdesk_devstack.postgres import EmbeddedPostgres
from helpdesk_devstack.smtp_catcher import SmtpCatcher

__all__ = ["EmbeddedNats", "EmbeddedPostgres", "NatsCluster", "SmtpCatcher", "free_port"]
