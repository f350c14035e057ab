"""Provisioning and login (CONTRACT §2): customers, their users, staff, and credentials.

A login is throttled before its password is checked (domain/throttling.py), and a
right password stored under an older scheme or cost is rehashed there and then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.adapters.committer import CommitConflict
from helpdesk_intake.adapters.credentials import Credential, Credentials, credential_row
from helpdesk_intake.adapters.eventstore import customer_email_row, user_email_row
from helpdesk_intake.adapters.login_throttle import LoginThrottle
from helpdesk_intake.adapters.passwords import Passwords
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
    def __init__(self, *args: Any, passwords: Passwords, credentials: Credentials, throttle: LoginThrottle,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.passwords = passwords
        self.credentials = credentials
        self.throttle = throttle

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
            customer = self.load(Customer, customer_id)
            if self.rules_for(customer.policy).policy.require_phone and not (command.phone or "").strip():  # type: ignore[attr-defined]
                raise InvalidInput("a phone is required of this customer's users (KS-9)", field="phone")
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

    def login(self, command: cmd.Login, address: str) -> Principal:
        """The principal a login and password name, unless the login or the caller's ``address``
        must wait (``TooManyAttempts``); a blocked customer's user is refused (MED-4)."""
        credential = self.credentials.find(command.login.strip())
        stored = credential.password_hash if credential else None
        accepted = self.throttle.guard(command.login, address, self.clock.now(),
                                       lambda: self.passwords.verify(command.password, stored))
        if credential is None or not accepted:
            raise InvalidCredentials("wrong login or password")
        self._upgrade(credential, command.password)
        user = self.load(User, credential.user_id)
        if user.role is Role.CUSTOMER and not self.load(Customer, user.customer_id or "").active:
            raise Blocked("your organisation has no active contract; the account is blocked")
        return Principal(id=str(user.id), role=user.role, customer_id=user.customer_id)

    def _upgrade(self, credential: Credential, password: str) -> None:
        """Rehash a right password stored under an older scheme or cost (no event: a hash is no fact)."""
        if self.passwords.needs_rehash(credential.password_hash):
            self.credentials.replace_hash(credential, self.passwords.hash(password))

    def _with_credential(self, user: User, password: str) -> Change:
        """The user, its credential and its address (which identifies its mail) in one transaction."""
        row = credential_row(user.login, user.id, self.passwords.hash(password))
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
