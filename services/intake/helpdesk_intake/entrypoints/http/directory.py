"""The directory's routes (CONTRACT §2): read customers, users and staff; manage single users.

They share paths with provisioning (``/v1/customers/{id}``…), and litestar wants one
controller per path, so ``ProvisioningController`` inherits them from ``DirectoryRoutes``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter

from helpdesk_shared.telemetry import current_traceparent
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.application import Request
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.directory import DirectoryService
from helpdesk_intake.entrypoints.http.meta import answer, provide_command

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Parameter(max_length=20, description="next_cursor of the previous page")]


class DirectoryRoutes(Controller):
    path = "/v1"
    dependencies = {"command": Provide(provide_command)}

    @get("/customers", sync_to_thread=True)
    def customers(self, principal: Principal, directory: DirectoryService, limit: Limit = 50,
                  cursor: Cursor = None) -> dict[str, Any]:
        """Customers in registration order, paged ``{items, next_cursor}`` (staff)."""
        return directory.customers(principal, limit, cursor)

    @get("/customers/{customer_id:str}", sync_to_thread=True)
    def customer(self, customer_id: str, principal: Principal, directory: DirectoryService) -> dict[str, Any]:
        """A customer with its policy, contract and default language (staff; a customer's user: its own)."""
        return directory.customer(principal, customer_id)

    @get("/customers/{customer_id:str}/users", sync_to_thread=True)
    def customer_users(self, customer_id: str, principal: Principal, directory: DirectoryService,
                       limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
        """A customer's users, paged (staff; a customer's user: its own customer's); never a password."""
        return directory.customer_users(principal, customer_id, limit, cursor)

    @get("/customers/{customer_id:str}/history", sync_to_thread=True)
    def customer_history(self, customer_id: str, principal: Principal, directory: DirectoryService,
                         limit: Limit = 100, cursor: Cursor = None) -> dict[str, Any]:
        """The facts of the customer and its users, oldest first: ``{position, type, time, actor, data}``."""
        return directory.history(principal, customer_id, limit, cursor)

    @get("/staff", sync_to_thread=True)
    def staff(self, principal: Principal, directory: DirectoryService, limit: Limit = 50,
              cursor: Cursor = None) -> dict[str, Any]:
        """Agents, admins and auditors in registration order, paged (staff)."""
        return directory.staff(principal, limit, cursor)

    @get("/users/{user_id:str}", sync_to_thread=True)
    def user(self, user_id: str, principal: Principal, directory: DirectoryService) -> dict[str, Any]:
        """A user: contacts, role, language, ``blocked`` and ``active`` (staff; a customer's user: colleagues)."""
        return directory.user(principal, user_id)

    @patch("/users/{user_id:str}", sync_to_thread=True)
    def change_user(self, user_id: str, data: cmd.ChangeUser, command: Request,
                    directory: DirectoryService) -> Response[Any]:
        """Block or unblock a user (MED-4), deactivate one (IMC-2), correct contacts (admin);
        ``language`` (ru|en) also by the user themself. Blocking or deactivating ends every
        token of the user on every service within a second."""
        return answer(directory.change_user(command, user_id, data))

    @post("/users/{user_id:str}/password", sync_to_thread=True, status_code=200)
    def set_password(self, user_id: str, data: cmd.SetPassword, principal: Principal,
                     directory: DirectoryService) -> Response[Any]:
        """Set a user's password (admin): every token of the user stops working."""
        # no Idempotency-Key here: its fingerprint would be a hash of the password
        return answer(directory.set_password(Request(principal=principal, traceparent=current_traceparent()),
                                             user_id, data))
