"""The pure rules of intake: aggregates, the ticket workflow and its exceptions. No I/O, no clock."""
