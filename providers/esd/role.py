"""esd:Role — a named set of permissions (``<resource>:<action>``). POST is an upsert, so
create first checks the name is free (an existing role is never overwritten: import it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints, model_validator

from providers.core import Created, Inputs, Observed, Outputs, RuleError, prop
from providers.esd.base import EsdHandler

Permission = Annotated[str, StringConstraints(min_length=1)]
BUILT_IN_ROLE = "IT Operator"  # the platform refuses to delete it


class RoleInputs(Inputs):
    name: str = prop(replace=True, min_length=1, description="role name (the platform's key)")
    permissions: list[Permission] = prop(unordered=True, min_length=1, max_length=20,
                                         description="e.g. sagemaker_endpoint:all, checkpoint:list")

    @model_validator(mode="after")
    def _not_built_in(self) -> RoleInputs:
        if self.name == BUILT_IN_ROLE:
            raise RuleError("name", f"'{BUILT_IN_ROLE}' is the platform's built-in role and cannot be managed")
        return self


class RoleOutputs(Outputs):
    creator: str | None = None


class RoleHandler(EsdHandler[RoleInputs, RoleOutputs]):
    id_doc = "the role name."
    import_doc = "the role name."
    refresh_doc = "sees the permissions and the creator; the name is the key, so a rename is a new role."

    Inputs, Outputs = RoleInputs, RoleOutputs
    type_token = "esd:Role"

    def create(self, inputs: RoleInputs) -> Created[RoleOutputs]:
        # POST /roles is an upsert: without this look, create would overwrite (adopt) a role that
        # existed before the operation. Anything found after it is what this operation sent.
        existing = self.client.get_role(inputs.name)
        if existing is not None:
            self.refuse_unless_interrupted(f"role {inputs.name}", existing, {"permissions": inputs.permissions},
                                           inputs.name)
        outputs = RoleOutputs(creator=self.client.username)  # the platform sets creator = caller
        self.upsert_create(self.label(inputs), inputs.name, outputs,
                           lambda: self.client.put_role(inputs.name, inputs.permissions),
                           lambda: self.client.delete_roles([inputs.name]))
        return Created(inputs.name, outputs)

    def read(self, id: str, inputs: RoleInputs, outputs: RoleOutputs) -> Observed | None:
        role = self.client.get_role(id)
        if role is None:
            return None
        seen = RoleInputs(name=id, permissions=role.get("permissions") or [])
        return Observed(seen, RoleOutputs(creator=role.get("creator")))

    def update(self, id: str, olds: RoleInputs, news: RoleInputs, outputs: RoleOutputs) -> RoleOutputs:
        self.client.put_role(id, news.permissions)
        return RoleOutputs(creator=self.client.username)  # the upsert makes the caller the creator

    def delete(self, id: str, inputs: RoleInputs, outputs: RoleOutputs) -> None:
        self.client.delete_roles([id])
