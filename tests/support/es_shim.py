"""Test-only shim: make elasticsearch-py 8/9 talk plain JSON to OpenSearch-API servers.

osmem-server (the OpenSearch-API test server) answers HTTP 406 to the client's
``application/vnd.elasticsearch+json; compatible-with=8`` headers; these node classes rewrite
them to ``application/json``. Copied from shared/infra.md's reference shim; used only through
``KURA_SEARCH__ES_NODE_CLASS=tests.support.es_shim:AsyncPlainJsonNode`` in tests. The async
node builds on httpx (already a dependency) rather than aiohttp as the reference did.
"""

from __future__ import annotations

import re
from typing import Any

from elastic_transport import HttpxAsyncHttpNode, Urllib3HttpNode

_VENDOR = re.compile(r"application/vnd\.elasticsearch\+([a-z-]+)\s*(;\s*compatible-with=\d+)?")


def _fix(headers: Any) -> Any:
    if headers:
        headers = headers.copy()
        for name in ("accept", "content-type"):
            value = headers.get(name)
            if value:
                headers[name] = _VENDOR.sub(r"application/\1", value)
    return headers


class PlainJsonNode(Urllib3HttpNode):
    def perform_request(  # type: ignore[override]
        self, method: str, target: str, body: bytes | None = None, headers: Any = None, **kw: Any
    ) -> Any:
        return super().perform_request(method, target, body=body, headers=_fix(headers), **kw)


class AsyncPlainJsonNode(HttpxAsyncHttpNode):
    async def perform_request(  # type: ignore[override]
        self, method: str, target: str, body: bytes | None = None, headers: Any = None, **kw: Any
    ) -> Any:
        return await super().perform_request(method, target, body=body, headers=_fix(headers), **kw)
