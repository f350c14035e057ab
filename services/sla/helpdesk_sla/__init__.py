"""sla: SLA timers in business time, warnings, breaches and automatic transitions (CARD-4)."""
