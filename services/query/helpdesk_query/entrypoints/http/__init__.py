"""The query API: litestar routes over the read model and the event store."""
