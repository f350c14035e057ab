"""notify's use cases: fold stream messages into views, the directory and the outbox
(``projection``); deliver due mail (``delivery``). Both work through ports whose
adapters ``bootstrap`` chooses.
"""

from helpdesk_notify.application.delivery import (
    Contact,
    DeliveryFailed,
    Directory,
    Job,
    Mailer,
    Outbox,
    Outcome,
    Sender,
)
from helpdesk_notify.application.projection import Batch, Incoming, fold_batch

__all__ = ["Batch", "Contact", "DeliveryFailed", "Directory", "Incoming", "Job", "Mailer", "Outbox", "Outcome",
           "Sender", "fold_batch"]
