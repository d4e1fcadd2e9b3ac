"""FastAPI dependencies: the container, and the subject asking (from session or token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.container import Container
from api.permissions.policy import Subject


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def optional_subject(request: Request) -> Subject | None:
    """The authenticated subject or None. Implemented by ``api.auth``: session cookie (with
    CSRF check on unsafe methods) or ``Authorization: Bearer`` token."""
    from api.auth.deps import resolve_subject

    return await resolve_subject(request)


SubjectDep = Annotated[Subject | None, Depends(optional_subject)]
