"""Settings of the hand-over: per orderer organization (seed 000: the municipality chooses the
archive or the collaboration system only; the contract sets when the collaboration copy is
erased) and per work (what the 電子納品 package says about the work, seed 001 §4).

``handover_settings`` (id: the organization): ``uses_archive`` (the works are moved into the
archive after inspection; false: 「情報共有システムのみの利用」), ``erasure_days`` (days after
the transfer, or after completion without the archive, until the collaboration copy is
erased: the contract's period, 別表3 12(1) 契約書に記載された期日) and ``reminder_days``
(the supervisor is reminded that many days before, §3-6).

``delivery_configs`` (id: the work): the 要領 (適用要領基準, which also fixes the check profile:
MLIT or 農水), 境界座標, 工事内容, 施設名称, the 発注者 classification and 工事担当課, the
受注者コード and the 台帳 photos. Unset fields default from the work (``defaults``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.container import Container
from indexer.extract.deliverable.profiles import edition
from storage.query import Record

SETTINGS = "handover_settings"
CONFIGS = "delivery_configs"
DEFAULT_ERASURE_DAYS = 30
DEFAULT_REMINDER_DAYS = 14

# 要領 a work may follow (deliverables-and-bonds.md §1.1 [V] for 土木202203-01 / INDE_C08;
# §1.10 and profiles.py for the 農林水産省 ones). The code fixes the profile (MLIT / 農水).
STANDARDS: dict[str, tuple[tuple[str, str], ...]] = {
    "construction": (
        ("土木202203-01", "国土交通省 工事完成図書の電子納品等要領（令和4年3月）"),
        ("土木202303-01", "国土交通省 工事完成図書の電子納品等要領（令和5年3月）"),
        ("農業土木202303-01", "農林水産省 工事完成図書の電子納品要領（案）"),
    ),
    "service": (
        ("土木202203-01", "国土交通省 土木設計業務等の電子納品要領（令和4年3月）"),
        ("土木202303-01", "国土交通省 土木設計業務等の電子納品要領（令和5年3月）"),
        ("農業土木202303-01", "農林水産省 設計業務等の電子納品要領（案）"),
    ),
}
CONFIG_FIELDS = (
    "standard",
    "datum",
    "bounds",
    "content",
    "facilities",
    "orderer_major",
    "orderer_middle",
    "orderer_minor",
    "section",
    "contractor_code",
    "register_pre",
    "register_post",
)


@dataclass(frozen=True)
class OrgSettings:
    org_id: str
    uses_archive: bool = True
    erasure_days: int = DEFAULT_ERASURE_DAYS
    reminder_days: int = DEFAULT_REMINDER_DAYS
    stored: bool = False
    version: int | None = None


async def org_settings(container: Container, org_id: str | None) -> OrgSettings:
    record = await container.records.get(SETTINGS, org_id) if org_id else None
    if record is None:
        return OrgSettings(org_id or "")
    return OrgSettings(
        org_id=str(org_id),
        uses_archive=bool(record.get("uses_archive", True)),
        erasure_days=int(record.get("erasure_days", DEFAULT_ERASURE_DAYS)),
        reminder_days=int(record.get("reminder_days", DEFAULT_REMINDER_DAYS)),
        stored=True,
        version=int(record["version"]),
    )


def dms(value: float, longitude: bool) -> str:
    """Decimal degrees as ``dddmmss`` (longitude, 7 digits) or ``ddmmss`` (latitude, 6), the
    境界座標 format (§1.4 [V])."""
    total = round(abs(value) * 3600)
    deg, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return (
        f"{deg:03d}{minutes:02d}{seconds:02d}"
        if longitude
        else f"{deg:02d}{minutes:02d}{seconds:02d}"
    )


def bounds_around(lat: float, lon: float, margin: float = 0.002) -> dict[str, str]:
    """A small rectangle around the work's point (about 200 m each way)."""
    return {
        "west": dms(lon - margin, True),
        "east": dms(lon + margin, True),
        "north": dms(lat + margin, False),
        "south": dms(lat - margin, False),
    }


async def defaults(container: Container, work: Record) -> dict[str, Any]:
    """What the package says when nobody chose otherwise: from the work and its orderer."""
    records = container.records
    org = await records.get("organizations", str(work.get("orderer_org_id") or "")) or {}
    office = (
        await records.get("offices", str(work.get("office_id") or ""))
        if work.get("office_id")
        else None
    )
    location = work.get("location") or {}
    lat, lon = location.get("lat"), location.get("lon")
    kind = str(work.get("kind") or "construction")
    return {
        "standard": STANDARDS[kind][0][0],
        "datum": "02",  # 測地系: JGD2011 ([M] codes 00/01/02)
        "bounds": bounds_around(float(lat), float(lon))
        if lat is not None and lon is not None
        else None,
        "content": "",
        "facilities": [],
        "orderer_major": str(org.get("name") or ""),
        "orderer_middle": "",
        "orderer_minor": str((office or {}).get("name") or ""),
        "section": "",
        "contractor_code": "",
        "register_pre": None,
        "register_post": None,
    }


async def work_config(container: Container, work: Record) -> dict[str, Any]:
    """The work's delivery settings: the stored ones over the defaults, with the profile the
    要領 implies and whether each field was chosen (``chosen``)."""
    base = await defaults(container, work)
    stored = await container.records.get(CONFIGS, str(work["id"])) or {}
    chosen = sorted(k for k in CONFIG_FIELDS if stored.get(k) is not None)
    config = {**base, **{k: stored[k] for k in chosen}}
    kind = "C" if work.get("kind") != "service" else "D"
    config["profile"] = edition(kind, config["standard"]).severity
    config["chosen"] = chosen
    config["version"] = stored.get("version")
    return config
