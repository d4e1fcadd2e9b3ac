"""Issue 7 item 8: the OpenAPI document lists every status code each operation answers
(113 were undocumented), with RFC 9457 problem bodies (``api/openapi.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.config import Settings
from api.openapi import MEDIA

METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data: Path = tmp_path_factory.mktemp("openapi") / "unused"
    return create_app(Settings(data_dir=data, log_json=False)).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS and path.startswith("/api/v1/")
    ]


def test_every_api_operation_documents_the_shared_errors(document: dict[str, Any]) -> None:
    ops = operations(document)
    assert len(ops) > 80
    for method, path, op in ops:
        codes = set(op["responses"])
        assert {"400", "401", "403", "404", "503", "507"} <= codes, (method, path, codes)
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            assert {"409", "413"} <= codes, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in codes, (method, path)
        assert any(code.startswith("2") for code in codes), (method, path)


def test_error_answers_are_problem_json(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")) and code not in ("412", "416"):
                content = response.get("content", {})
                assert list(content) == ["application/problem+json"], (method, path, code)
                ref = content["application/problem+json"]["schema"]["$ref"]
                expected = "ValidationProblem" if code == "422" else "Problem"
                assert ref == f"#/components/schemas/{expected}"
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) >= {"type", "title", "status", "detail", "code"}
    assert "errors" in schemas["ValidationProblem"]["required"]


def test_operation_specific_codes(document: dict[str, Any]) -> None:
    paths = document["paths"]
    content = paths["/api/v1/files/{node_id}/content"]["get"]["responses"]
    assert {"200", "206", "304", "416"} <= set(content)
    assert "*/*" in content["200"]["content"]
    assert {"423", "429"} <= set(paths["/api/v1/auth/login"]["post"]["responses"])
    patch = paths["/api/v1/uploads/{upload_id}"]["patch"]["responses"]
    assert {"204", "410", "412", "415", "460"} <= set(patch)
    # the erasure's write fence (api.keys.fence) and the erasure answered as a job
    assert "410" in paths["/api/v1/works/{work_id}/posts"]["post"]["responses"]
    assert "410" in paths["/api/v1/attachments/uploads"]["post"]["responses"]
    assert "410" in paths["/api/v1/proposals/{proposal_id}/approve"]["post"]["responses"]
    assert "202" in paths["/api/v1/erasures/{scope}"]["post"]["responses"]
    csv = paths["/api/v1/works/{work_id}/listing.csv"]["get"]["responses"]["200"]
    assert list(csv["content"]) == ["text/csv"]


def test_the_document_is_built_once_per_route_set(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "unused", log_json=False))
    first = app.openapi()
    assert app.openapi() is first

    @app.get("/api/v1/test/added")
    async def added() -> dict[str, str]:
        return {}

    second = app.openapi()
    assert "503" in second["paths"]["/api/v1/test/added"]["get"]["responses"]


def test_file_answers_are_described_as_files_of_their_types(document: dict[str, Any]) -> None:
    """One table (``api.openapi.MEDIA``) describes every answer that is a file: each entry is
    a route of the document, its success answers binary strings of the listed types, JSON
    keeping the schema the route declares (the billing report answers JSON, CSV or XLSX)."""
    binary = {"type": "string", "format": "binary"}
    paths = document["paths"]
    for (method, path), media in MEDIA.items():
        types = (media,) if isinstance(media, str) else media
        op = paths[path][method.lower()]  # a stale entry fails here
        for code, response in op["responses"].items():
            if code.startswith("2") and code != "204":
                assert list(response["content"]) == list(types), (method, path, code)
                for media_type, content in response["content"].items():
                    if media_type != "application/json":
                        assert content["schema"] == binary, (method, path, media_type)
    content = paths["/api/v1/files/{node_id}/content"]["get"]["responses"]
    assert (content["200"]["description"], content["206"]["description"]) == (
        "ファイル",
        "ファイルの一部",
    )
    report = paths["/api/v1/billing/reports/{fiscal_year}"]["get"]["responses"]["200"]
    assert report["description"] != "ファイル"
    assert paths["/api/v1/bonds/{bond_id}/copy.pdf"]["get"]["responses"]["200"]["content"] == {
        "application/pdf": {"schema": binary}
    }
