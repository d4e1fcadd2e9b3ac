"""Backups and restore (issue 12 §3; seed 001 別表3 8, 10): ``kura backup`` / ``kura restore``
(``api.cli.backup``) and the operators' read-only view of the backups and keys."""

from __future__ import annotations

from api.backup.permissions import BackupRules
from api.backup.router import router
from api.modules import Module

MODULE = Module("backup", routers=(router,), rules={"backups": BackupRules()})
