"""Provisioning and login (CONTRACT §2): customers, their users, staff, and credentials."""

from __future__ import annotations

from collections.abc import Callable

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.adapters.committer import CommitConflict
from helpdesk_intake.adapters.eventstore import SideRow, customer_email_row, user_email_row
from helpdesk_intake.adapters.passwords import hash_password, verify_password
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.service import (
    Blocked,
    Change,
    IntakeService,
    Outcome,
    Request,
    new_id,
)
from helpdesk_intake.domain.base import InvalidInput
from helpdesk_intake.domain.customer import Customer
from helpdesk_intake.domain.user import User


class InvalidCredentials(Exception):
    """The login and password do not match a user."""


class LoginTaken(InvalidInput):
    """Logins are unique."""


class IdentityService(IntakeService):
    def register_customer(self, request: Request, command: cmd.RegisterCustomer) -> Outcome:
        def decide() -> Change:
            self._known_policy(command.policy)
            customer = Customer.register(
                self.context(request), id=new_id(), name=command.name, email=command.email,
                client_code=command.client_code, policy=command.policy,
                contract=command.contract.given() if command.contract else {},
            )
            return Change([customer], {"id": str(customer.id), "version": customer.version},
                          rows=[customer_email_row(customer.id, customer.email)], status_code=201)

        return self.execute(request, decide)

    def change_customer(self, request: Request, customer_id: str, command: cmd.ChangeCustomer) -> Outcome:
        def decide() -> Change:
            given = command.given()
            if "policy" in given:
                self._known_policy(given["policy"])
            customer = self.load(Customer, customer_id)
            contract = given.get("contract")
            customer.change(self.context(request), policy=given.get("policy"),
                            contract=contract.given() if contract else None)
            self.customers.forget(customer_id)
            return Change([customer], {"id": str(customer.id), "version": customer.version})

        return self.execute(request, decide, key=customer_id)

    def register_customer_user(self, request: Request, customer_id: str,
                               command: cmd.RegisterCustomerUser) -> Outcome:
        def decide() -> Change:
            self.load(Customer, customer_id)
            user = User.register(self.context(request), id=new_id(), role=Role.CUSTOMER,
                                 name=command.name, email=command.email, login=command.login,
                                 customer_id=customer_id, phone=command.phone)
            return self._with_credential(user, command.password)

        return self._registering(request, decide)

    def register_staff(self, request: Request, command: cmd.RegisterStaff) -> Outcome:
        def decide() -> Change:
            user = User.register(self.context(request), id=new_id(), role=Role(command.role),
                                 name=command.name, email=command.email, login=command.login,
                                 department=command.department)
            return self._with_credential(user, command.password)

        return self._registering(request, decide)

    def login(self, command: cmd.Login) -> Principal:
        """The principal a login and password name; a blocked customer's user is refused (MED-4)."""
        with self.store.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            row = conn.execute("SELECT user_id, password_hash FROM intake.credentials WHERE login = %s",
                               (command.login.strip(),)).fetchone()
        if row is None or not verify_password(command.password, row["password_hash"]):
            raise InvalidCredentials("wrong login or password")
        user = self.load(User, row["user_id"])
        if user.role is Role.CUSTOMER and not self.load(Customer, user.customer_id or "").active:
            raise Blocked("your organisation has no active contract; the account is blocked")
        return Principal(id=str(user.id), role=user.role, customer_id=user.customer_id)

    def _with_credential(self, user: User, password: str) -> Change:
        """The user, its credential and its address (which identifies its mail) in one transaction."""
        row = SideRow("INSERT INTO {schema}.credentials (login, user_id, password_hash) VALUES (%s, %s, %s)",
                      (user.login, user.id, hash_password(password)))
        address = user_email_row(user.id, user.email, user.role.value, user.customer_id)
        return Change([user], {"id": str(user.id), "version": user.version}, rows=[row, address], status_code=201)

    def _registering(self, request: Request, decide: Callable[[], Change]) -> Outcome:
        try:
            return self.execute(request, decide)
        except CommitConflict as conflict:
            if conflict.constraint == "credentials_pkey":
                raise LoginTaken("this login is taken", field="login") from None
            raise

    def _known_policy(self, policy: str) -> None:
        if policy not in self.policies():
            known = ", ".join(sorted(self.policies()))
            raise InvalidInput(f"unknown policy {policy!r}; known: {known}", field="policy")
