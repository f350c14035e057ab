"""Pure SLA rules: what to announce and which timers to plan, from a ticket's SLA state."""
