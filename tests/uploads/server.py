"""A real uvicorn server for the upload client tests (``python -m tests.uploads.server``).

Settings come from the environment (``KURA_DATA_DIR`` ...); the subject of every request is
``KURA_TEST_SUBJECT`` (JSON), installed as the ``optional_subject`` override. Test use only.
"""

from __future__ import annotations

import os

import uvicorn

from api.app import create_app
from api.cli.serve import uvicorn_config
from api.config import Settings
from api.deps import optional_subject
from api.permissions.policy import Subject
from tests.uploads.support import subject_from_json


def main() -> None:
    settings = Settings()
    app = create_app(settings)
    subject = subject_from_json(os.environ["KURA_TEST_SUBJECT"])

    async def as_subject() -> Subject | None:
        return subject

    app.dependency_overrides[optional_subject] = as_subject
    port = int(os.environ["KURA_TEST_PORT"])
    config = uvicorn_config(
        app, "127.0.0.1", port, log_level="warning", timeout_graceful_shutdown=2
    )
    uvicorn.Server(config).run()  # as ``kura serve`` runs it


if __name__ == "__main__":
    main()
