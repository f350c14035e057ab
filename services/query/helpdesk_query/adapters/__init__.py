"""PostgreSQL read models and the JetStream event store."""
