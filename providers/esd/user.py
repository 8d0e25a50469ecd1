"""esd:User — a platform user with roles. The password is secret and write-only:
the platform never returns it (GET masks it), so refresh keeps the value from state."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from providers.core import Created, Inputs, Observed, Outputs, prop
from providers.esd.base import EsdHandler

RoleName = Annotated[str, StringConstraints(min_length=1)]


class UserInputs(Inputs):
    username: str = prop(replace=True, min_length=1, description="login name (the platform's key)")
    password: str = prop(secret=True, write_only=True, min_length=1, description="write-only; stored encrypted in state")
    roles: list[RoleName] = prop(unordered=True, min_length=1, max_length=20, description="role names; each must exist")


class UserOutputs(Outputs):
    creator: str | None = None
    permissions: list[str] = prop([], changes_with="roles")  # union of the roles' permissions, as the platform computes it


class UserHandler(EsdHandler[UserInputs, UserOutputs]):
    id_doc = "the username."
    import_doc = "the username (the password must be declared: it cannot be read)."
    refresh_doc = ("sees the roles, the creator and the computed permissions; cannot see the password "
                   "(write-only, the platform masks it), so an out-of-band password change is not detected.")

    Inputs, Outputs = UserInputs, UserOutputs
    type_token = "esd:User"

    def label(self, inputs: UserInputs) -> str:
        return f"{self.type_token} {inputs.username}"

    def create(self, inputs: UserInputs) -> Created[UserOutputs]:
        # POST /users is an upsert: without this look, create would take over (and re-password)
        # a user that existed before the operation.
        existing = self.client.get_user(inputs.username)
        if existing is not None:
            self.refuse_unless_interrupted(f"user {inputs.username}", existing, {"roles": inputs.roles},
                                           inputs.username)
        self.upsert_create(self.label(inputs), inputs.username, UserOutputs(creator=self.client.username),
                           lambda: self.client.put_user(inputs.username, inputs.password, inputs.roles),
                           lambda: self.client.delete_users([inputs.username]))
        # The reply has no data; the permissions are the platform's union over the roles.
        return Created(inputs.username, self._outputs(inputs.username))

    def read(self, id: str, inputs: UserInputs, outputs: UserOutputs) -> Observed | None:
        user = self.client.get_user(id)
        if user is None:
            return None
        # The password is write-only: an import (no prior inputs) cannot know it; the first
        # `up` after the import then sets the program's password.
        known = {"password": inputs.password} if hasattr(inputs, "password") else {}
        seen = UserInputs.model_construct(username=id, roles=user.get("roles") or [], **known)
        return Observed(seen, self._from(user))

    def update(self, id: str, olds: UserInputs, news: UserInputs, outputs: UserOutputs) -> UserOutputs:
        self.client.put_user(id, news.password, news.roles)
        if sorted(news.roles) == sorted(olds.roles):
            return outputs.model_copy(update={"creator": self.client.username})  # same roles, same permissions
        return self._outputs(id)

    def delete(self, id: str, inputs: UserInputs, outputs: UserOutputs) -> None:
        self.client.delete_users([id])

    def _outputs(self, username: str) -> UserOutputs:
        return self._from(self.client.get_user(username) or {})

    @staticmethod
    def _from(user: dict) -> UserOutputs:
        return UserOutputs(creator=user.get("creator"), permissions=sorted(user.get("permissions") or []))
