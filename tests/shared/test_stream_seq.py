"""SLA at scale (issue #16 item 5): a consumer reads a message's stream sequence from its ack subject alone."""

from __future__ import annotations

from nats.aio.msg import Msg

from helpdesk_shared.parking import stream_seq


def test_sla_scale_stream_seq_agrees_with_nats_metadata_for_both_ack_subject_forms() -> None:
    for reply in ("$JS.ACK.HELPDESK.helpdesk-sla.1.4711.12.1700000000000000000.3",
                  "$JS.ACK.domain.ACCOUNTHASH.HELPDESK.helpdesk-sla.2.4712.13.1700000000000000000.0.x1"):
        msg = Msg(None, subject="helpdesk.ticket.t1.opened", reply=reply)  # type: ignore[arg-type]
        assert stream_seq(msg) == msg.metadata.sequence.stream
