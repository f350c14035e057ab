"""The SLA service's loops: the ticket-event consumer, the timer wheel, the publisher, the command sender."""
