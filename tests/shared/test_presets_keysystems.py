"""Keysystems preset (KS rules): the answers intake takes from the policy."""

from helpdesk_shared.policies import customer_reply_status
from helpdesk_shared.vocabulary import Status

from tests.shared.histories import POLICIES

KEYSYSTEMS = POLICIES["keysystems"]


def test_ks4_the_clarification_resumes_work_where_it_stopped():
    assert customer_reply_status(KEYSYSTEMS, Status.AWAITING_CUSTOMER, Status.IN_PROGRESS) is Status.IN_PROGRESS
