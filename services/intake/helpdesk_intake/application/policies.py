"""Policy use cases (CONTRACT §5): publish a version of an SLA policy, list them, read one as of an instant.

A policy is the ``Policy`` aggregate's events (made public by the relay on
``helpdesk.policy.<id>.published``) plus a row in ``intake.policies`` written in the
same transaction, which the list reads. A document is validated with the policy
model before anything is written; the document in force again writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpdesk_shared.events import Actor
from helpdesk_shared.policies import parse_policy
from helpdesk_shared.policy_book import PolicyBook
from helpdesk_shared.policy_events import PolicyPublished
from helpdesk_shared.policies.validation import policy_problems
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.adapters.eventstore import policy_row
from helpdesk_intake.application.service import Change, IntakeService, NotFound, Outcome, Request
from helpdesk_intake.domain.base import InvalidInput
from helpdesk_intake.domain.customer import Customer
from helpdesk_intake.domain.policy import Policy, Version, fingerprint, policy_uuid

IMPORTER = Principal(id="service:intake", role=Role.SERVICE)  # who imports HELPDESK_POLICY_DIR


def version_answer(policy_id: str, version: Version, document: bool = True) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": policy_id, "version": version.number,
                              "published_at": version.published_at.isoformat(), "by": version.by,
                              "fingerprint": version.fingerprint}
    return {**answer, "document": version.text} if document else answer


def check_document(text: str) -> str:
    """The policy id of a valid document, or ``InvalidInput`` naming every field at fault."""
    problems = [(field or "document", why) for field, why in policy_problems(text)]
    if problems:
        raise InvalidInput(f"the policy document has {len(problems)} problem(s)", fields=problems)
    return parse_policy(text).id


class PolicyService(IntakeService):
    def __init__(self, *args: Any, book: PolicyBook | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.book = book  # intake's own: a version is in force here at once, before the relay brings it

    def publish(self, request: Request, text: str) -> Outcome:
        """Publish ``text`` as the policy's next version: 201 when published, 200 when already in force."""
        outcome = self._publish(request, text)
        if outcome.status_code == 201 and self.book is not None:
            body = outcome.body
            self.book.take(PolicyPublished(
                policy_id=body["id"], version=body["version"], text=text, fingerprint=body["fingerprint"],
                actor=Actor(request.principal.id, request.principal.role),
                occurred_at=dt.datetime.fromisoformat(body["published_at"])))
        return outcome

    def _publish(self, request: Request, text: str) -> Outcome:
        policy_id = check_document(text)

        def decide() -> Change:
            ctx = self.context(request)
            try:
                policy = self.load(Policy, policy_uuid(policy_id))
            except NotFound:
                policy = Policy.register(ctx, policy_id)
            if not policy.publish(ctx, text):
                return Change([policy], version_answer(policy_id, policy.current, document=False))
            current = policy.current
            return Change([policy], version_answer(policy_id, current, document=False),
                          rows=[policy_row(policy.policy_id, current.number, current.published_at, current.by)],
                          status_code=201)

        return self.execute(request, decide, key=f"policy:{policy_id}")

    def list(self, principal: Principal | None = None) -> list[dict[str, Any]]:
        """Every policy's version in force, by id, with its name and time zone; a customer's user sees
        its own customer's policy only (the portal shows its tickets' times in that zone)."""
        items = [{**row, "published_at": row["published_at"].isoformat(), **self._described(row["id"])}
                 for row in self.store.rows.policies()]
        if principal is not None and principal.role is Role.CUSTOMER:
            own = self.load(Customer, principal.customer_id or "").policy  # type: ignore[attr-defined]
            items = [item for item in items if item["id"] == own]
        return items

    def _described(self, policy_id: str) -> dict[str, Any]:
        policy = (self.book or {}).get(policy_id)
        return {"name": policy.name, "timezone": policy.calendar.timezone} if policy else {}

    def get(self, policy_id: str, as_of: dt.datetime | None = None, number: int | None = None) -> dict[str, Any]:
        """The version in force now, at ``as_of``, or version ``number``; ``NotFound`` when there is none."""
        policy = self.load(Policy, policy_uuid(policy_id))
        if number is not None:
            if not 1 <= number <= len(policy.versions):
                raise NotFound(f"policy {policy_id} has no version {number}")
            return version_answer(policy_id, policy.versions[number - 1])
        version = policy.current if as_of is None else policy.in_force_at(as_of)
        if version is None:
            raise NotFound(f"policy {policy_id} had no version in force at {as_of.isoformat()}")  # type: ignore[union-attr]
        return version_answer(policy_id, version)

    def versions(self, policy_id: str) -> list[dict[str, Any]]:
        """Every published version of a policy, oldest first, without the documents."""
        policy = self.load(Policy, policy_uuid(policy_id))
        return [version_answer(policy_id, version, document=False) for version in policy.versions]

    def validate(self, text: str) -> dict[str, Any]:
        """What publishing ``text`` would do, writing nothing: ``InvalidInput`` (every error by field) or
        a summary — the policy, its time zone, the version in force and whether this one would differ."""
        policy_id = check_document(text)
        parsed = parse_policy(text)
        try:
            current: Version | None = self.load(Policy, policy_uuid(policy_id)).current
        except NotFound:
            current = None
        return {"id": policy_id, "name": parsed.name, "timezone": parsed.calendar.timezone,
                "fingerprint": fingerprint(text), "version_in_force": current.number if current else None,
                "changes": current is None or current.fingerprint != fingerprint(text)}
