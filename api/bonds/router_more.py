"""``/api/v1/bonds/balances``, ``/bonds/certificates``, ``/works/{id}/contract-security`` and the
published, anonymous ``/bonds/trust`` and ``/bonds/status/{list}``."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile

from api.bonds.certificates import CertificateService, kura_keys, trust_store
from api.bonds.keys import KeyService
from api.bonds.models import CERTIFICATES, KEYS
from api.bonds.schemas import CertificateCreate, CertificateRead
from api.bonds.security import SecurityCheck
from api.bonds.views import BondViews
from api.deps import ContainerDep, SubjectDep
from api.errors import NotFoundError, PayloadTooLarge, ValidationFailed
from api.kit.clock import to_iso
from storage.query import Eq
from storage.query import Query as RecordQuery

router = APIRouter(tags=["bonds"])
public_router = APIRouter(prefix="/bonds", tags=["bonds"])

Day = Annotated[date | None, Query()]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/bonds/balances")
async def balance_summary(
    container: ContainerDep, subject: SubjectDep, on: Day = None
) -> dict[str, Any]:
    """保証債務残高: the total across issuers, per issuer and per bond (seed 002 1) a-c)."""
    return await BondViews(container).summary(subject, on)


@router.get("/bonds/balances/history")
async def balance_history(
    container: ContainerDep,
    subject: SubjectDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    step: Annotated[str, Query(pattern="^(day|month)$")] = "month",
) -> dict[str, Any]:
    """保証債務残高の推移 (seed 002 2) a-c): the total and one series per issuer."""
    series = await BondViews(container).history(subject, start, end, step)
    names = {
        o["id"]: o.get("name", "")
        for o in await container.records.get_many(
            "organizations", [k for k in series.values if k != "total"]
        )
    }
    return {
        "dates": [d.isoformat() for d in series.dates],
        "series": [
            {"key": k, "name": "合計" if k == "total" else names.get(k, ""), "values": v}
            for k, v in series.values.items()
        ],
    }


@router.get(
    "/bonds/balances/export",
    response_class=Response,
)
async def balance_export(
    container: ContainerDep,
    subject: SubjectDep,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    on: Day = None,
) -> Response:
    """The per-bond table and the per-issuer totals as CSV or Excel."""
    data = await BondViews(container).summary(subject, on)
    head = [
        "種類",
        "発行機関",
        "証券番号",
        "債務者",
        "工事名",
        "保証金額",
        "保証期間開始",
        "保証期間終了",
        f"残高（{data['on']}）",
    ]
    rows = [
        [
            r["kind_label"],
            r["issuer_name"],
            r["certificate_no"],
            r["obligor_name"],
            r["work_title"],
            r["amount"],
            r["period_start"],
            r["period_end"],
            r["outstanding"],
        ]
        for r in data["bonds"]
    ]
    totals = [[r["issuer_name"], r["outstanding"]] for r in data["issuers"]]
    if format == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "ボンド毎の残高"
        sheet.append(head)
        for row in rows:
            sheet.append(row)
        other = book.create_sheet("発行機関毎の残高")
        other.append(["発行機関", f"残高（{data['on']}）"])
        for row in totals:
            other.append(row)
        other.append(["合計", data["total"]])
        out = io.BytesIO()
        book.save(out)
        return Response(
            out.getvalue(),
            media_type=XLSX,
            headers={"Content-Disposition": "attachment; filename=bond-balances.xlsx"},
        )
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(head)
    writer.writerows(rows)
    writer.writerow([])
    writer.writerow(["発行機関", f"残高（{data['on']}）"])
    writer.writerows(totals)
    writer.writerow(["合計", data["total"]])
    return Response(
        ("\ufeff" + text.getvalue()).encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=bond-balances.csv"},
    )


@router.get("/works/{work_id}/contract-security")
async def contract_security(
    container: ContainerDep, subject: SubjectDep, work_id: Annotated[str, Path(max_length=64)]
) -> dict[str, Any]:
    """Pass or fail with the reasons (seed 003 共通事項 21, 1(2))."""
    return await SecurityCheck(container).check(subject, work_id)


@router.get("/bonds/parties")
async def parties(container: ContainerDep, subject: SubjectDep) -> list[dict[str, str]]:
    """The organizations a bond can name: contractors (債務者) and orderers (債権者), for the
    issuer's registration form and the orderer's security records. Names only."""
    from api.bonds.permissions import BondResource
    from api.errors import NotAuthenticated

    if subject is None:
        raise NotAuthenticated()
    res = BondResource(org_id=subject.org_id)
    if not (
        container.policy.can(subject, "bonds.create", res)
        or container.policy.can(subject, "bonds.securities.create", res)
    ):
        from api.errors import Forbidden

        raise Forbidden()
    out: list[dict[str, str]] = []
    for kind in ("contractor", "orderer"):
        async for org in container.records.scan("organizations", (Eq("kind", kind),)):
            out.append({"id": org["id"], "kind": kind, "name": str(org.get("name", ""))})
    out.sort(key=lambda o: (o["kind"], o["name"]))
    return out


# certificates -----------------------------------------------------------------------------------
def _cert(record: dict[str, Any]) -> CertificateRead:
    return CertificateRead.model_validate({k: v for k, v in record.items() if k != "private_key"})


@router.get("/bonds/certificates", response_model=list[CertificateRead])
async def list_certificates(container: ContainerDep, subject: SubjectDep) -> list[CertificateRead]:
    return [_cert(r) for r in await CertificateService(container).list(subject)]


@router.post("/bonds/certificates", status_code=201, response_model=CertificateRead)
async def register_certificate(
    container: ContainerDep, subject: SubjectDep, body: CertificateCreate
) -> CertificateRead:
    """An issuer's signing certificate (its key stays on the IC card)."""
    return _cert(await CertificateService(container).register(subject, body.chain_pem))


@router.post("/bonds/certificates/custody", status_code=201, response_model=CertificateRead)
async def register_custody(
    container: ContainerDep,
    subject: SubjectDep,
    file: Annotated[UploadFile, File()],
    password: Annotated[str, Form(max_length=200)] = "",
) -> CertificateRead:
    """Opt-in: Kura keeps this PKCS#12's key encrypted and signs the issuer's keys with it;
    every key so signed is marked ``custody: kura``."""
    data = await file.read(256 * 1024 + 1)
    if len(data) > 256 * 1024:
        raise PayloadTooLarge()
    return _cert(await CertificateService(container).register_custody(subject, data, password))


@router.delete("/bonds/certificates/{cert_id}", response_model=CertificateRead)
async def retire_certificate(
    container: ContainerDep, subject: SubjectDep, cert_id: Annotated[str, Path(max_length=64)]
) -> CertificateRead:
    """Keys it signed stop verifying (checked at every use)."""
    return _cert(await CertificateService(container).retire(subject, cert_id))


# published, without signing in ----------------------------------------------------------
@public_router.get("/trust")
async def trust(container: ContainerDep) -> dict[str, Any]:
    """What an orderer needs to verify keys offline (``kura bond verify --trust``): the trust
    anchors, the CRLs Kura checks with, Kura's status key, every issuer's registered
    certificates and the status lists."""
    store = trust_store(container)
    keys = kura_keys(container)
    issuers: dict[str, dict[str, Any]] = {}
    async for cert in container.records.scan(CERTIFICATES):
        entry = issuers.setdefault(
            cert["issuer_org_id"], {"org_id": cert["issuer_org_id"], "certificates": []}
        )
        entry["certificates"].append(
            {
                "id": cert["id"],
                "state": cert["state"],
                "custody": cert["custody"],
                "subject": cert["subject"],
                "not_after": cert["not_after"],
                "chain": cert["chain"],
            }
        )
    for org in await container.records.get_many("organizations", list(issuers)):
        issuers[org["id"]]["name"] = org.get("name", "")
    lists = ["1"]
    while (
        await container.records.find(
            KEYS, RecordQuery(where=(Eq("status_list", str(len(lists) + 1)),), limit=1)
        )
    ).items:
        lists.append(str(len(lists) + 1))
    crls = []
    for crl in store._current_crls():
        crls.append(crl.public_bytes(serialization.Encoding.PEM).decode())
    return {
        "type": "kura-bond-trust",
        "issued_at": to_iso(container.clock.now()),
        "anchors": [a.public_bytes(serialization.Encoding.PEM).decode() for a in store.anchors],
        "crls": crls,
        "status_key": keys.status_jwk(),
        "status_lists": {n: f"/api/v1/bonds/status/{n}" for n in lists},
        "issuers": list(issuers.values()),
    }


@public_router.get("/status/{list_no}", response_class=Response)
async def status_list(
    container: ContainerDep, list_no: Annotated[str, Path(pattern=r"^[0-9]{1,6}$")]
) -> Response:
    """The signed status list (``statuslist+jwt``), fresh for ``ttl`` seconds."""
    exists = await container.records.find(
        KEYS, RecordQuery(where=(Eq("status_list", list_no),), limit=1)
    )
    if not exists.items and list_no != "1":
        raise NotFoundError()
    token = await KeyService(container).status_token(list_no)
    ttl = container.settings.bonds.status_ttl_s
    return Response(
        token,
        media_type="application/statuslist+jwt",
        headers={"Cache-Control": f"public, max-age={min(ttl, 60)}"},
    )


_ = ValidationFailed
