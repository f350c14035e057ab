"""notify's Prometheus metrics, served with every other metric at ``/metrics``."""

from prometheus_client import Counter, Gauge

from helpdesk_shared.stream_runner import Meters

QUEUED = Counter("helpdesk_notify_mails_queued_total", "Mails written to the outbox")
SENT = Counter("helpdesk_notify_mails_sent_total", "Mails the SMTP server accepted")
FAILED = Counter("helpdesk_notify_mail_failures_total", "Delivery attempts that failed (retried or dead)")
SKIPPED = Counter("helpdesk_notify_mails_skipped_total",
                  "Mails not sent because the recipient's account is blocked or deactivated (MED-4, IMC-2)")
DEAD = Counter("helpdesk_notify_mails_dead_total", "Mails given up after their last attempt")
IN_DOUBT = Counter("helpdesk_notify_mails_in_doubt_total",
                   "Mails found 'sending' after a crash and sent again with the same Message-ID")
PENDING = Gauge("helpdesk_notify_outbox_pending", "Mails waiting to be sent (including retries)")
DEAD_NOW = Gauge("helpdesk_notify_outbox_dead", "Mails in the dead-letter state now")
WEBHOOKS_QUEUED = Counter("helpdesk_notify_webhooks_queued_total", "Webhook deliveries queued")
WEBHOOKS_DELIVERED = Counter("helpdesk_notify_webhooks_delivered_total", "Webhook deliveries answered 2xx")
WEBHOOK_FAILURES = Counter("helpdesk_notify_webhook_failures_total", "Webhook attempts that failed (retried or not)")
WEBHOOKS_FAILED = Counter("helpdesk_notify_webhooks_failed_total", "Webhook deliveries given up")
POSITION = Gauge("helpdesk_notify_position", "Event-store position notify has applied")
CONSUMER = Meters(
    Counter("helpdesk_notify_events_total", "Facts (ticket, SLA, directory, inbound mail) folded into notify's tables"),
    Counter("helpdesk_notify_events_parked_total", "Messages notify could not apply (kept in notify.parked)"),
    Gauge("helpdesk_notify_parked_events", "Messages currently parked in notify.parked"),
    POSITION)
