"""notify's I/O: PostgreSQL (views, outbox, contacts), SMTP, templates, SLA policies."""
