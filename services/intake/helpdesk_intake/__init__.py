"""intake: HTTP commands → Ticket and Customer aggregates → the PostgreSQL event store."""
