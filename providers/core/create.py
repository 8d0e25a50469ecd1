"""Creates that are safe to repeat: after a lost reply, a Ctrl-C, or a process that died.

Most create APIs of these platforms take no idempotency key and are not idempotent. When a create
does not know whether its request took effect (no reply, a 5xx, throttling past the retries; or
the run that sent it was killed), it must find "the object this resource asked for" before it
sends again, and it must never take anybody else's object for it. This module owns that loop and
the handle it looks for; a platform supplies only where the handle travels (a marker field, a
label, a name plus a time window) and the look-up.

The handle (the contract)
-------------------------
``handle = "aim-" + sha256(URN, generation)[:24]``

* The **URN** (stack, project, type, resource name) says which resource of which stack asked.
* The **generation** says which object of that resource this is. It is a hidden input,
  ``__aimodels_generation`` (``GENERATION``), that the project's provider server adds in Check
  (``generation``) and the engine keeps in state with the other inputs:

  - no old inputs: ``"0"``. That is a new resource, or the re-run of a create whose run was
    killed: the engine drops the interrupted (pending) create from state, calls Check again
    without old inputs, and so the re-run computes the **same handle** and recognises what its
    predecessor sent;
  - the engine checks a replacement a second time without old inputs: that Check answers what
    the Check with old inputs just gave for the same URN (``checked_generation``);
  - a *targeted* replacement (``pulumi up --replace``, a tainted resource) is checked only
    without old inputs and gets no Diff, so Check asks the stack's state itself
    (providers/core/state.py): when it holds the URN, the generation is the next of the one held
    there and the held object is noted as current (never "ours"). A re-run of an interrupted
    targeted replacement computes the same generation again;
  - old inputs (the resource is in state): ``next_generation(old)``, whatever changed. Only a
    replacement creates, and its object must never be taken for the one it replaces, even when
    nothing declared changed (``pulumi up --replace``, a forced replacement): the engine may call
    no Diff before such a create, so nothing short of a new generation tells the two apart.
    Re-running an interrupted replacement computes the same next generation again (the old
    inputs are still in state). A successful update stores the new generation; that only moves
    the chain on;
  - a failed create kept in state (``CreatedButFailed``) is stored with the next generation, so
    the create that replaces it looks for a different handle.

  Besides, the server notes from Diff the id that the resource's state holds
  (``note_current``): a create never takes that object for its own (a second guard).

* Under the SDK's stock server there is no URN and no generation: the handle is then a random
  token per create call (``Handle.durable`` is False). It still covers a lost reply, not a dead
  process.

The loop (``create_once``)
--------------------------
1. With a durable handle, look first: an interrupted run of this resource may have sent the
   create already. Found: continue with that object (it carries our handle, so it is ours, not
   an adoption). A platform with no field for the handle (``lookup_first=False``) skips this and
   recognises its object when the platform refuses the name (see the platform's docstring).
2. Send. A transient failure (``is_transient``: no answer, a 5xx, 429) leaves the outcome
   unknown: look up, riding out an outage until ``lookup_timeout_s``; found means continue with
   it, not found means send again, at most ``attempts`` sends in all.
3. Anything else (a 4xx, ``Cancelled``) ends the create at once.

Objects made by anybody else carry no handle of ours and are refused with the import command by
the platform code, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from providers.core import runtime, state
from providers.core.errors import ProviderError, WaitTimeout, is_transient
from providers.core.progress import progress
from providers.core.wait import Poll, wait_for

T = TypeVar("T")

GENERATION = "__aimodels_generation"
FIRST_GENERATION = "0"
LOOKUP_TIMEOUT_S = 300.0  # how long a look-up after an unknown outcome rides out an outage
ATTEMPTS = 3  # sends of one create at most (each after a look-up found nothing)


def recovery_window_s() -> float:
    """How far back a durable handle looks for what an interrupted run sent, where the look-up
    pages by creation time or (no field for a handle) the time is part of the recognition rule.
    ``AIMODELS_RECOVERY_WINDOW_S``, default 24 hours."""
    raw = os.environ.get("AIMODELS_RECOVERY_WINDOW_S", "")
    try:
        return max(0.0, float(raw)) if raw else 24 * 3600.0
    except ValueError:
        return 24 * 3600.0

__all__ = ["ATTEMPTS", "FIRST_GENERATION", "GENERATION", "Handle", "checked_generation", "create_once", "creating",
           "generation",
           "handle", "is_transient", "look_up", "next_generation", "note_current", "recovery_window_s"]


@dataclass(frozen=True)
class Handle:
    """What a create carries so that it can find its own object again."""

    token: str  # the value the platform stores (a marker, a label value)
    durable: bool  # derived from URN and generation: the next run computes it again
    current_id: str | None = None  # the object the resource's state holds now: never "ours"
    urn: str = ""
    generation: str = ""

    def is_current(self, id: Any) -> bool:
        return self.current_id is not None and str(id) == self.current_id

    def interrupted_inputs(self) -> dict[str, Any] | None:
        """The inputs an interrupted run of this very create sent (or was about to send): the
        create the engine recorded as pending for this URN and generation, in the stack's state
        or kept by ``aimodels recover`` (providers/core/state.py). None when there is none, or
        without a durable handle. For platforms with no field for a marker, this record is the
        proof that the object holding the resource's name is the one this resource asked for."""
        if not self.durable:
            return None
        pending = state.pending_create(self.urn)
        if pending is None or pending.get(GENERATION, FIRST_GENERATION) != self.generation:
            return None
        return pending

    def uuid(self) -> str:
        """A 32-hex uuid derived from the handle, for platforms where the caller chooses the new
        object's id (ZStack's ``resourceUuid``): the next run of an interrupted create asks for
        the same id, so it finds (or is refused with) the object its predecessor made."""
        return hashlib.sha256(f"aimodels-uuid\n{self.token}".encode()).hexdigest()[:32]

    def since(self, sent_at: float) -> float:
        """Where a look-up by creation time starts: at this send, or, for a durable handle, the
        recovery window earlier (an interrupted run sent it before this process existed)."""
        return sent_at - recovery_window_s() if self.durable else sent_at


def next_generation(gen: str) -> str:
    return hashlib.sha256(f"aimodels-generation\n{gen}".encode()).hexdigest()[:16]


def generation(olds: dict[str, Any]) -> str:
    """The generation a checked resource carries (see the module docstring)."""
    if not olds:
        return FIRST_GENERATION
    old = olds.get(GENERATION)
    return next_generation(old if isinstance(old, str) and old else FIRST_GENERATION)


_checked: dict[str, str] = {}  # URN -> the generation its last Check with old inputs gave
_checked_lock = threading.Lock()


def checked_generation(urn: str, olds: dict[str, Any]) -> str:
    """The generation for the server's Check of ``urn``.

    When the engine replaces a resource it checks the new inputs twice: first against the old
    inputs (to diff), then once more *without* old inputs (so that a provider can pick new
    auto-names). The second Check must not answer ``FIRST_GENERATION``, or the replacement's
    handle would be the one its original was created with, and its create would take the original
    for its own (then the engine deletes the original: the object the stack now holds). So the
    generation a Check with old inputs gave is remembered per URN, and a Check without old inputs
    that follows it in the same run answers the same. A resource the state does not hold is only
    ever checked without old inputs: ``FIRST_GENERATION``, as before.

    A *targeted* replacement has no Check with old inputs at all: a Check without them for a URN
    that the stack's state holds (``state.held``) takes the next of the held generation, and the
    held id is noted as current, like Diff notes it.
    """
    with _checked_lock:
        if olds:
            _checked[urn] = generation(olds)
            return _checked[urn]
        if not urn:
            return FIRST_GENERATION
        if urn in _checked:
            return _checked[urn]
    held = state.held(urn)
    if held is None:
        return FIRST_GENERATION
    note_current(urn, held.id)
    with _checked_lock:
        _checked[urn] = generation(held.inputs or {GENERATION: FIRST_GENERATION})
        return _checked[urn]


# -- what the server tells the create ----------------------------------------------------------

_creating: ContextVar[tuple[str, str] | None] = ContextVar("aimodels_creating", default=None)
_current_ids: dict[str, str] = {}


def note_current(urn: str, id: str) -> None:
    """Diff saw the id the resource's state holds: the create that may follow is not that object."""
    if urn and id:
        _current_ids[urn] = id


@contextlib.contextmanager
def creating(urn: str, gen: Any) -> Iterator[None]:
    """The server's Create: the URN and generation from which the create's handle derives."""
    token = _creating.set((urn, gen) if urn and isinstance(gen, str) and gen else None)
    try:
        yield
    finally:
        _creating.reset(token)


def handle() -> Handle:
    """The handle of the create being served: durable under the project's server, else random."""
    at = _creating.get()
    if at is None:
        return Handle("aim-" + secrets.token_hex(12), durable=False)
    urn, gen = at
    digest = hashlib.sha256(f"{urn}\n{gen}".encode()).hexdigest()[:24]
    return Handle("aim-" + digest, durable=True, current_id=_current_ids.get(urn), urn=urn, generation=gen)


# -- the loop ---------------------------------------------------------------------------------------

def look_up(what: str, find: Callable[[], T | None], timeout_s: float = LOOKUP_TIMEOUT_S) -> T | None:
    """Run one look-up, riding out an outage (transient errors) until ``timeout_s`` like any wait."""

    def poll() -> Poll[T]:
        found = find()
        return Poll(found, "found" if found is not None else "not found", done=True)

    return wait_for(f"{what}: looking for what this resource sent", poll, timeout_s=timeout_s)


def create_once(what: str, handle: Handle, send: Callable[[], T], find: Callable[[], T | None], *,
                lookup_first: bool = True, attempts: int = ATTEMPTS, lookup_timeout_s: float = LOOKUP_TIMEOUT_S,
                pause: Callable[[int], float] | None = None, sleep: Callable[[float], None] | None = None,
                unknown_hint: str = "") -> T:
    """Send a create carrying ``handle``; when its outcome is unknown, look for it (``find``)
    before sending again. ``find`` returns the object carrying this handle (or recognised by the
    platform's rule), never ``handle.current_id``. ``pause(attempt)`` is the delay before a
    resend (none by default); ``unknown_hint`` ends the error when the platform stayed unreachable
    (what to look for by hand)."""
    if handle.durable and lookup_first:
        try:
            found = look_up(what, find, lookup_timeout_s)  # rides out an outage, like any look-up
        except WaitTimeout:
            raise ProviderError(f"{what}: the platform stayed unreachable, so it is unknown whether an interrupted "
                                "run of this resource already made it; nothing was sent: run `pulumi up` again "
                                "later") from None
        if found is not None:
            progress(f"{what}: found the object an interrupted run of this resource created; continuing with it")
            return found
    unknown: ProviderError | None = None
    for attempt in range(1, attempts + 1):
        runtime.check_cancelled(what)
        try:
            return send()
        except ProviderError as exc:
            if not is_transient(exc):
                raise
            unknown = exc
        progress(f"{what}: no usable reply ({unknown.message}); looking for what this resource sent")
        try:
            found = look_up(what, find, lookup_timeout_s)
        except WaitTimeout:
            hint = f": {unknown_hint}" if unknown_hint else ""
            raise ProviderError(f"{what}: the create got no answer and the platform stayed unreachable, so it is "
                                f"unknown whether it was made{hint}") from None
        if found is not None:
            progress(f"{what}: the create had arrived; continuing with what it made")
            return found
        if attempt < attempts:
            delay = pause(attempt) if pause else 0.0
            progress(f"{what}: the create had not arrived; sending it again"
                     + (f" in {delay:.1f}s" if delay else "") + f" ({attempt + 1}/{attempts})")
            if delay:
                (sleep or runtime.sleep)(delay)
    assert unknown is not None
    raise unknown
