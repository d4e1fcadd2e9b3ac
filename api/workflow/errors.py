"""Typed errors of the workflow (rendered as problem+json by ``api.errors``)."""

from __future__ import annotations

from api.errors import Conflict, Forbidden, KuraError, ValidationFailed
from api.workflow.machine import TransitionRefused


class NotYourTurn(Conflict):
    code = "not_your_turn"
    title = "まだ承認の順番ではありません。"


class AlreadyDone(Conflict):
    code = "already_done"
    title = "この段階はすでに処理済みです。"


class InvalidState(Conflict):
    code = "invalid_state"
    title = "この発議書類の状態ではこの操作はできません。"


def refused(exc: TransitionRefused) -> KuraError:
    """The HTTP answer for a refused transition: 409 for state and turn (the proposal moved
    on), 403 for an actor the route does not allow, 400 naming ``to`` for a wrong target."""
    match exc.code:
        case "turn":
            return NotYourTurn(exc.message)
        case "done":
            return AlreadyDone(exc.message)
        case "actor":
            return Forbidden(exc.message)
        case "target":
            return ValidationFailed(exc.message, field="to")
    return InvalidState(exc.message)
