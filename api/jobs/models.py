"""The ``jobs`` collection: one record per job declared by a unit of work (the outbox).

A record is written in the same transaction as the change that needs the job, so a committed
change always has its job, whatever crashes afterwards. Fields:

- ``task``, ``kwargs``: what to run (a task name ``"package.verb"`` and JSON arguments);
  ``queue``: the broker queue the task is routed to;
- ``state``: ``queued`` (recorded, not handed to the broker yet) -> ``sent`` -> ``running``
  -> ``done`` | ``failed``; a Celery retry goes back to ``sent``, a job whose worker died back
  to ``queued`` (``restarts`` counts those), an operator's retry from ``failed`` to ``queued``;
- ``due_at``: when the sweeper looks at the job next. ``queued``: send it (the sender crashed
  between commit and send); ``sent``: send it again if its queue is empty (the message was
  lost); ``running``: the lease, renewed by the worker, past which the worker counts as dead;
  ``done``: purge the record. ``failed`` has none: it waits for an operator;
- ``attempts`` (starts), ``restarts`` (starts after a dead worker), ``worker``, ``last_error``,
  ``created_at``, ``sent_at``, ``started_at``, ``finished_at``, ``updated_at``.

The job id is the Celery task id, and the message carries it in the ``kura_job`` header.
"""

from __future__ import annotations

from enum import StrEnum

from storage.ports import IndexSpec

JOBS = "jobs"


class JobState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# What the operators' screens and messages call the states.
STATE_LABELS = {
    JobState.QUEUED: "送信待ち",
    JobState.SENT: "実行待ち",
    JobState.RUNNING: "実行中",
    JobState.DONE: "完了",
    JobState.FAILED: "失敗",
}

LIVE_STATES = (JobState.QUEUED.value, JobState.SENT.value, JobState.RUNNING.value)

JOB_INDEXES = [
    # The sweeper's questions: which jobs of a state are due (and routed to an empty queue).
    IndexSpec((("state", 1), ("due_at", 1))),
    IndexSpec((("state", 1), ("queue", 1), ("due_at", 1))),
    # Operators' lists: a state's jobs, newest first (ids sort by creation time).
    IndexSpec((("state", 1), ("id", -1))),
    # The archive's recovery asks whether a file still has a live ingest job.
    IndexSpec((("kwargs.node_id", 1),)),
]
