"""intake's adapters: the event store, group commit, NATS publishing."""
