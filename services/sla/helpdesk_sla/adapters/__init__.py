"""PostgreSQL, NATS and intake adapters of the SLA service."""
