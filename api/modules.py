"""The one list of Kura's modules (house style, "Adding a module").

Each entry names a package under ``api/`` whose ``module.py`` declares ``MODULE``: its HTTP
routers (mounted under ``/api/v1`` in this order), its schema step (indexes, run at start),
its beat entries (periodic tasks), the function grants it adds, and its permission rules
(actions ``"<prefix>.*"`` are decided by those rules, see ``api.permissions.policy``). The app,
``ensure_schema``, the worker's beat schedule and the grant list all read this list, so a new
module is a folder plus one line here, and nothing else imports every domain.

``module.py`` files are imported lazily (``modules()``), after ``api.container`` has loaded, so
they may import their routers and services freely.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fastapi import APIRouter

    from api.config import Settings
    from api.container import Container
    from api.permissions.policy import Resource, Subject

# In mounting order. The web interface's catch-all is mounted after all of them by the app.
MODULES: tuple[str, ...] = (
    "jobs",
    "auth",
    "users",
    "organizations",
    "master",
    "works",
    "audit",
    "archive",
    "uploads",
    "deliverables",
    "search",
    "attachments",
    "notifications",
    "mail",
    "schedules",
    "proposals",
    "workflow",
    "folders",
    "privacy",
    "inspections",
    "handovers",
    "bonds",
    "bulletins",
    "billing",
    "qualifications",
    "erasures",
    "backup",
)


class Rules(Protocol):
    """A module's permission rules for its own actions (``"bonds.*"`` → the bonds rules)."""

    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        """Whether ``subject`` may do ``action`` on ``resource``; cite the clause per rule."""


@dataclass(frozen=True)
class Module:
    name: str
    routers: Sequence[APIRouter] = ()
    ensure_schema: Callable[[Container], Awaitable[None]] | None = None
    # Periodic tasks: a mapping, or a function of the settings for intervals they set.
    beat: (
        Mapping[str, Mapping[str, Any]] | Callable[[Settings], Mapping[str, Mapping[str, Any]]]
    ) = field(default_factory=dict)
    grants: Mapping[str, str] = field(default_factory=dict)
    # Action prefixes this module decides (``("bonds",)`` covers ``bonds.read`` ...).
    rules: Mapping[str, Rules] = field(default_factory=dict)


@cache
def modules() -> tuple[Module, ...]:
    """Every module's declaration, in ``MODULES`` order (imported once)."""
    found: list[Module] = []
    for name in MODULES:
        declared = importlib.import_module(f"api.{name}.module").MODULE
        if not isinstance(declared, Module):
            raise TypeError(f"api.{name}.module.MODULE is not a Module")
        found.append(declared)
    return tuple(found)


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The periodic tasks of every module, for the worker's beat."""
    schedule: dict[str, dict[str, Any]] = {}
    for module in modules():
        entries = module.beat(settings) if callable(module.beat) else module.beat
        for key, entry in entries.items():
            if key in schedule:
                raise ValueError(f"beat entry {key!r} declared twice")
            schedule[key] = dict(entry)
    return schedule


def module_grants() -> dict[str, str]:
    """The function grants modules add to the core ones."""
    grants: dict[str, str] = {}
    for module in modules():
        grants.update(module.grants)
    return grants


def module_rules() -> dict[str, Rules]:
    """Action prefix → the rules deciding it."""
    rules: dict[str, Rules] = {}
    for module in modules():
        for prefix, rule in module.rules.items():
            if prefix in rules:
                raise ValueError(f"action prefix {prefix!r} claimed twice")
            rules[prefix] = rule
    return rules
