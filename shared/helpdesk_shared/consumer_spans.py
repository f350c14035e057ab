"""Consumer spans: one span per stream message, a child of its producer's span (the traceparent
header), so a fact's trace runs on from the publishing process into each consumer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from helpdesk_shared.parking import StreamMessage
from helpdesk_shared.telemetry import context_from, exporting

tracer = trace.get_tracer("helpdesk.stream_runner")


@contextlib.contextmanager
def consuming(consumer: str, msgs: Sequence[StreamMessage]) -> Iterator[None]:
    """Spans ``process <event>`` for the messages of a batch, open while the batch is applied and committed.

    A batch is one transaction, so its messages' spans share its start and end; each joins its own trace.
    Made only when spans are exported: a span per message costs tens of microseconds.
    """
    if not exporting():
        yield
        return
    spans = [tracer.start_span(f"process {m.subject.rsplit('.', 1)[-1]}", context=context_from(m.traceparent),
                               kind=SpanKind.CONSUMER, attributes={
                                   "messaging.system": "nats", "messaging.operation.type": "process",
                                   "messaging.destination.name": m.subject,
                                   "messaging.consumer.group.name": consumer,
                                   "messaging.message.id": m.msg_id or "", "helpdesk.stream_seq": m.stream_seq,
                                   "messaging.batch.message_count": len(msgs)})
             for m in msgs]
    try:
        yield
    except BaseException as error:
        for span in spans:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        raise
    finally:
        for span in spans:
            span.end()
