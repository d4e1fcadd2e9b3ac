"""Small 電子納品 packages for the deliverable tests: CP932 XML built from text, tiny JPEGs.

``package()`` returns ``{path: bytes}`` for a clean 工事 (INDEX_C) package that passes both
profiles; tests edit the XML text (``xml_c``/``xml_photo``…) or the dict to make it bad.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image

INDEX_C = """<?xml version="1.0" encoding="Shift_JIS"?>
<!DOCTYPE constdata SYSTEM "INDE_C08.DTD">
<constdata DTD_version="08">
<基礎情報>
<メディア番号>1</メディア番号>
<メディア総枚数>1</メディア総枚数>
<適用要領基準>土木202203-01</適用要領基準>
<打合せ簿フォルダ名>MEET</打合せ簿フォルダ名>
<打合せ簿オリジナルファイルフォルダ名>MEET/ORG</打合せ簿オリジナルファイルフォルダ名>
<写真フォルダ名>PHOTO</写真フォルダ名>
<台帳フォルダ名>REGISTER</台帳フォルダ名>
<その他フォルダ名>OTHRS</その他フォルダ名>
</基礎情報>
<工事件名等>
<発注年度>2026</発注年度>
<工事番号>R8-001</工事番号>
<工事名称>市道中央線道路改良工事</工事名称>
<工事分野>道路</工事分野>
<工事業種>一般土木工事</工事業種>
<住所情報><住所コード>34101</住所コード><住所>広島県広島市中区基町</住所></住所情報>
<工期開始日>2026-04-01</工期開始日>
<工期終了日>2027-03-15</工期終了日>
<工事内容>道路改良 L=120m</工事内容>
</工事件名等>
<場所情報>
<測地系>02</測地系>
<境界座標情報>
<西側境界座標経度>1322700</西側境界座標経度>
<東側境界座標経度>1322830</東側境界座標経度>
<北側境界座標緯度>342430</北側境界座標緯度>
<南側境界座標緯度>342330</南側境界座標緯度>
</境界座標情報>
</場所情報>
<施設情報><施設名称>中央橋</施設名称></施設情報>
<発注者情報>
<発注者-大分類>広島県</発注者-大分類>
<発注者-中分類>土木建築局</発注者-中分類>
<発注者-小分類>西部建設事務所</発注者-小分類>
<発注者コード>02107999</発注者コード>
<工事担当課>道路整備課</工事担当課>
</発注者情報>
<受注者情報><受注者名>株式会社中央建設</受注者名><受注者コード>12345</受注者コード></受注者情報>
</constdata>
"""


def photo_info(serial: int, date: str, title: str, kubun: str = "施工状況写真") -> str:
    ref = (
        "<付加情報><参考図ファイル名>D0000001.JPG</参考図ファイル名>"
        "<参考図タイトル>位置図</参考図タイトル></付加情報>"
        if serial == 1
        else ""
    )
    return f"""<写真情報>
<写真ファイル情報><シリアル番号>{serial}</シリアル番号><写真ファイル名>P{serial:07d}.JPG</写真ファイル名><メディア番号>1</メディア番号></写真ファイル情報>
<撮影工種区分><写真-大分類>工事</写真-大分類><写真区分>{kubun}</写真区分><工種>道路土工</工種><種別>掘削工</種別><写真タイトル>{title}</写真タイトル></撮影工種区分>
{ref}<撮影情報><撮影箇所>No.10+5.0</撮影箇所><撮影年月日>{date}</撮影年月日></撮影情報>
<代表写真>0</代表写真><提出頻度写真>0</提出頻度写真>
</写真情報>
"""


PHOTO_HEAD = """<?xml version="1.0" encoding="Shift_JIS"?>
<!DOCTYPE photodata SYSTEM "PHOTO05.DTD">
<photodata DTD_version="05">
<基礎情報><写真フォルダ名>PHOTO/PIC</写真フォルダ名><参考図フォルダ名>PHOTO/DRA</参考図フォルダ名><適用要領基準>土木202203-01</適用要領基準></基礎情報>
"""
PHOTO = (
    PHOTO_HEAD
    + photo_info(1, "2026-04-06", "着手前 全景", "着手前及び完成写真")
    + photo_info(2, "2026-05-10", "掘削状況")
    + "</photodata>\n"
)

MEET = """<?xml version="1.0" encoding="Shift_JIS"?>
<!DOCTYPE meetdata SYSTEM "MEET05.DTD">
<meetdata DTD_version="05">
<打合せ簿情報><シリアル番号>1</シリアル番号><打合せ簿種類>協議</打合せ簿種類><打合せ簿名称>施工計画の協議</打合せ簿名称><発行日付>2026-04-10</発行日付>
<打合せ簿オリジナルファイル名>MEET0011.PDF</打合せ簿オリジナルファイル名></打合せ簿情報>
</meetdata>
"""

REGISTER = """<?xml version="1.0" encoding="Shift_JIS"?>
<!DOCTYPE registerdata SYSTEM "REGIST06.DTD">
<registerdata DTD_version="06">
<着手前写真ファイル名>PRE-PIC.JPG</着手前写真ファイル名>
<完成写真ファイル名>POST-PIC.JPG</完成写真ファイル名>
</registerdata>
"""

OTHRS = """<?xml version="1.0" encoding="Shift_JIS"?>
<!DOCTYPE othrsdata SYSTEM "OTHRS05.DTD">
<othrsdata DTD_version="05">
<サブフォルダ情報><その他サブフォルダ日本語名>品質証明</その他サブフォルダ日本語名>
<その他資料情報><資料名>品質証明書</資料名>
<オリジナルファイル情報><シリアル番号>1</シリアル番号><オリジナルファイル名>DOC001.PDF</オリジナルファイル名></オリジナルファイル情報>
</その他資料情報></サブフォルダ情報>
</othrsdata>
"""

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def jpeg(date: str = "2026:04:06 10:00:00", size: tuple[int, int] = (8, 8)) -> bytes:
    img = Image.new("RGB", size, (200, 180, 160))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = date
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def sjis(text: str) -> bytes:
    return text.encode("cp932")


def package() -> dict[str, bytes]:
    return {
        "INDEX_C.XML": sjis(INDEX_C),
        "INDE_C08.DTD": b"<!-- dtd -->",
        "PHOTO/PHOTO.XML": sjis(PHOTO),
        "PHOTO/PHOTO05.DTD": b"<!-- dtd -->",
        "PHOTO/PIC/P0000001.JPG": jpeg("2026:04:06 10:00:00"),
        "PHOTO/PIC/P0000002.JPG": jpeg("2026:05:10 09:30:00"),
        "PHOTO/DRA/D0000001.JPG": jpeg(),
        "MEET/MEET.XML": sjis(MEET),
        "MEET/MEET05.DTD": b"<!-- dtd -->",
        "MEET/ORG/MEET0011.PDF": PDF,
        "REGISTER/REGISTER.XML": sjis(REGISTER),
        "REGISTER/REGIST06.DTD": b"<!-- dtd -->",
        "REGISTER/PRE-PIC.JPG": jpeg(),
        "REGISTER/POST-PIC.JPG": jpeg(),
        "OTHRS/OTHRS.XML": sjis(OTHRS),
        "OTHRS/OTHRS05.DTD": b"<!-- dtd -->",
        "OTHRS/ORG001/DOC001.PDF": PDF,
    }


def write_folder(files: dict[str, bytes], root: Path) -> Path:
    for rel, data in files.items():
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(files: dict[str, bytes], path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in files.items():
            zf.writestr(prefix + rel, data)
    return path
