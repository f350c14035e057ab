"""notify's pure rules: the per-ticket view, who hears what (ticket, SLA and inbound-mail facts),
recipients, threading ids and retry policy."""
