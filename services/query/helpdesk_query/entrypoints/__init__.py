"""The projector, the rebuild and the HTTP API."""
