"""The offline inspection package (seed 001 §5(2): 通信環境に支障がある時は、情報共有システムから
出力した電子データを利用したオフラインでの電子検査): one ZIP holding the work's documents under
``書類/`` with their folder structure and names kept (別表1-1 6(1)), the decided proposals not
filed as documents under ``発議書類/``, and an ``index.html`` that opens from the unpacked
folder without a server: the folder tree, documents opened side by side (§5(4)), the
approval record of every proposal (5(8)).

The page is self-contained (inline style and script, the data as JSON in the page, no network
request); its text is Japanese. Documents stream from the content store into the ZIP, so memory
stays flat; the proposals' PDFs are printed as they are written.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime
from importlib import resources
from typing import Any

from api.archive.cas import ContentStore
from api.archive.models import NodeKind, content_scope
from api.archive.tree import walk
from api.archive.zipstream import ZipWriter
from api.container import Container
from api.folders.documents import jst_day, stamp_text
from api.folders.filing import file_name, filed_nodes
from storage.query import Eq, Record

DOCS = "書類"
PROPOSALS = "発議書類"


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def page(
    work: Record, items: list[dict[str, Any]], proposals: list[dict[str, Any]], made_at: str
) -> bytes:
    """index.html: data embedded as JSON (``</`` escaped), rendered by the inline script."""
    data = json.dumps({"files": items, "proposals": proposals}, ensure_ascii=False).replace(
        "</", "<\\/"
    )
    title = html.escape(f"{work.get('title', '')} 電子検査")
    template = resources.files("api.inspections").joinpath("templates/offline.html")
    header = f"工事番号 {work.get('number') or ''}　出力日時 {made_at}"
    values = {"TITLE": title, "HEADER": html.escape(header), "DATA": data}
    # One pass: text put in is never read again as a placeholder.
    text = re.sub(
        r"__(TITLE|HEADER|DATA)__", lambda m: values[m.group(1)], template.read_text("utf-8")
    )
    return text.encode()


class OfflinePackage:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.cas = ContentStore(container.records, container.blobs, container.clock)

    async def stream(self, work: Record) -> AsyncIterator[bytes]:
        """The ZIP bytes: index.html first, then the documents and the unfiled proposals."""
        from api.folders.documents import DocumentList
        from api.proposals.models import PROPOSALS as PROPOSAL_RECORDS
        from api.proposals.printing import Printing, stamps_of
        from api.proposals.views import people_of, user_names
        from api.workflow import machine

        work_id = str(work["id"])
        files = [
            n
            async for n in walk(
                self.records, (Eq("work_id", work_id), Eq("kind", NodeKind.FILE.value))
            )
        ]
        stamps = await DocumentList(self.container).approvals(files)
        items = [
            {
                "name": str(n["name"]),
                "path": str(n["path"]),
                "folder": str(n["path"]).strip("/").split("/")[:-1],
                "href": f"{DOCS}{n['path']}",
                "doc_type": str((n.get("meta") or {}).get("doc_type") or ""),
                "registered_on": jst_day(str(n.get("created_at") or "")),
                "approvals": stamp_text(stamps.get(str(n["id"]), [])),
            }
            for n in files
        ]
        filed = await filed_nodes(self.container, work_id)
        decided = [
            p
            async for p in self.records.scan(
                PROPOSAL_RECORDS, (Eq("work_id", work_id), Eq("state", machine.S.DECIDED.value))
            )
        ]
        decided.sort(key=lambda p: int(p.get("number") or 0))
        people = [i for p in decided for i in people_of(p)]
        names = await user_names(self.container, people)
        proposals = []
        unfiled = []
        for p in decided:
            node = filed.get(str(p["id"]))
            href = f"{DOCS}{node['path']}" if node is not None else f"{PROPOSALS}/{file_name(p)}"
            if node is None:
                unfiled.append(p)
            proposals.append(
                {
                    "number": p.get("number"),
                    "title": str(p.get("title") or ""),
                    "href": href,
                    "approvals": stamp_text([s.__dict__ for s in stamps_of(p, names)]),
                }
            )
        now = self.container.clock.now()
        writer = ZipWriter()
        yield writer.directory(f"{DOCS}/", now)
        index = page(work, items, proposals, now.strftime("%Y/%m/%d %H:%M"))
        async for chunk in writer.file("index.html", _once(index), len(index), now):
            yield chunk
        async for node in walk(self.records, (Eq("work_id", work_id),)):
            name = f"{DOCS}{node['path']}"
            modified = _when(node)
            if node["kind"] == NodeKind.FOLDER:
                yield writer.directory(name + "/", modified)
                continue
            blob = await self.cas.get(content_scope(node), str(node["sha256"]))
            async for chunk in writer.file(name, self.cas.open(blob), int(blob["size"]), modified):
                yield chunk
        if unfiled:
            yield writer.directory(f"{PROPOSALS}/", now)
            printing = Printing(self.container)
            for p in unfiled:
                pdf = await printing.bundle_pdf(p, work)
                async for chunk in writer.file(
                    f"{PROPOSALS}/{file_name(p)}", _once(pdf), len(pdf), now
                ):
                    yield chunk
        yield writer.finish()


def _when(node: Record) -> datetime | None:
    value = node.get("updated_at") or node.get("created_at")
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
