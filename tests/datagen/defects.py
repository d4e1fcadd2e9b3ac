"""Named defects a generated package can carry (``--defects a,b``), each documented.

Every defect says what is wrong and where, and what a checker should find: ``validate``
findings use the check names of ``indexer/extract/deliverable/rules.py`` (rule numbers of
deliverables-and-bonds.md §2.2); ``ingest`` flags are what the ingest pipeline records on the
file node (``extract.encrypted``, ``extract.broken``, ``type_mismatch``, an empty-file note).
"""

from __future__ import annotations

DEFECTS: dict[str, str] = {
    "kishu": "機種依存文字: 受注者名に「㈱」、工事内容/業務概要に「①②」 (rule 11, CP932-only "
    "bytes in a file declared Shift_JIS)",
    "hankaku": "半角カナ: 2枚目の写真タイトルに「ｸﾚｰﾝ作業状況」 (rule 11)",
    "missing_field": "必須項目の欠落: 3枚目の写真タイトルが空 (rule 12)",
    "bad_date": "日付の誤り: 4枚目の撮影年月日が存在しない日付「YYYY-02-30」 (rule 14)",
    "photo_outside_period": "工期外の写真: 5枚目の撮影年月日（とEXIF）が工期終了日の20日後 "
    "(rule 14; W in mlit, E in maff)",
    "missing_file": "ファイルの欠落: PHOTO.XMLに記載の最後の写真ファイルを書かない (rule 18)",
    "dup_serial": "シリアル番号の重複: 7枚目の写真のシリアル番号を6枚目と同じにする (rule 19)",
    "bad_name": "命名規則違反: OTHRS/ORG001/打合せメモ.pdf を追加 (rule 7; ZIPではCP932名)",
    "thumbs_db": "不要ファイル: PHOTO/PIC/Thumbs.db を追加 (rule 5)",
    "pic_subfolder": "PICの下のサブフォルダ: PHOTO/PIC/OLD/P0000001.JPG を追加 (rule 6)",
    "network_dtd": "外部DTD: PHOTO.XML の DOCTYPE が http:// のDTDを指す (rule 2, 28)",
    "billion_laughs": "実体展開攻撃: OTHRS.XML の内部サブセットに入れ子の ENTITY 宣言 (rule 28)",
    "exe_as_pdf": "拡張子偽装: 1つ目の文書PDFの中身がWindowsの実行ファイル (ingest: 種類不一致)",
    "encrypted_pdf": "暗号化PDF: 2つ目の文書PDFに閲覧パスワード (rule 24; ingest: encrypted)",
    "broken_pdf": "壊れたPDF: 3つ目の文書PDFを途中で切断 (ingest: broken)",
    "zero_byte": "0バイト: 4つ目の文書PDFが空 (ingest: 空のファイル)",
    # issue 8 section 1 (電子納品 fidelity)
    "missing_element": "DTDの必須要素の欠落: 6枚目の写真情報から提出頻度写真を削除 (rule 10)",
    "no_register": "台帳なし: REGISTERフォルダと台帳フォルダ名を省く（土木202003-01以降は必須） "
    "(rule 3, 12; 工事のみ)",
    "unreferenced": "管理ファイルに記載のないファイル: OTHRS/ORG001/MEMO0001.PDF を追加 (rule 4)",
    "bad_cad_name": "CAD命名規則違反: 図面XMLに記載した S1LC001Z.DXF (rule 8, CH-119)",
    "bad_org_name": "ORGフォルダの命名規則違反: MEET/ORG/MEETING1.PDF を打合せ簿に記載 "
    "(rule 8; 工事のみ)",
    "utf8_xml": "Shift_JIS以外の管理ファイル: PLAN.XML（業務はREPORT.XML）をUTF-8で書き、"
    "「㈱」を含める (rule 11)",
    "fullwidth": "全角英数字: 8枚目の写真の撮影箇所を「Ｎｏ．８」にする (rule 11)",
    "truncated_jpeg": "途中で切れた写真: P0000008.JPG の後半を削る (rule 22; ingest: broken)",
    "drawing_no_location": "境界座標・基準点情報のない平面図: 最初の平面図から両方を省く "
    "(CH-120, rule 12)",
    "blackboard_nohash": "改ざん検知値のない小黒板情報: P0000003.JPG のXMPにhashCodeがない "
    "(rule 25)",
    "virus": "ウイルス: OTHRS/ORG001/SCAN0001.TXT にEICARテスト文字列 (rule 29; "
    "ウイルス対策ソフトを設定したときのみ)",
}
# Defects that exist for one kind of package only; elsewhere the manifest says it was skipped.
KINDS: dict[str, frozenset[str]] = {
    "no_register": frozenset({"construction"}),
    "bad_org_name": frozenset({"construction"}),
}


def applies(name: str, kind: str) -> bool:
    return kind in KINDS.get(name, frozenset({"construction", "service"}))


# How many photos / documents the defects need (the generator raises its minimums to fit).
PHOTOS_NEEDED = 8
DOCUMENTS_NEEDED = 4


def parse(value: str | None) -> tuple[str, ...]:
    """``"kishu,hankaku"`` or ``"all"`` -> validated names, in DEFECTS order."""
    if not value:
        return ()
    names = [n.strip() for n in value.split(",") if n.strip()]
    if names == ["all"]:
        return tuple(DEFECTS)
    unknown = [n for n in names if n not in DEFECTS]
    if unknown:
        raise ValueError(f"unknown defect(s) {unknown}; known: {', '.join(DEFECTS)}")
    return tuple(n for n in DEFECTS if n in names)
