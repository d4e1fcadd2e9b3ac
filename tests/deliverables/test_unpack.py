"""Safe unpacking, pure: ZIPs and folders crafted here, every hostile case refused."""

from __future__ import annotations

import io
import os
import stat
import unicodedata
import zipfile
from pathlib import Path

import pytest

from api.deliverables.unpack import (
    Limits,
    Plan,
    UnpackError,
    open_zip,
    safe_parts,
    scan_file,
    scan_folder,
    scan_zip,
)
from api.errors import ValidationFailed
from tests.deliverables.zips import Item, lying_sizes, make_zip, symlink_zip, with_mode


def scan(data: bytes, limits: Limits = Limits()) -> Plan:
    zf = open_zip(io.BytesIO(data), limits)
    return scan_zip(zf, limits)


def refused(data: bytes, limits: Limits = Limits()) -> UnpackError:
    with pytest.raises(UnpackError) as info:
        scan(data, limits)
    return info.value


def codes(err: UnpackError) -> set[str]:
    return {f.code for f in err.findings}


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "a/../../evil.txt", "/etc/passwd", "C:\\Windows\\x.dll", "c:evil", "..\\x"],
)
def test_traversal_absolute_and_drive_paths_refused(name: str) -> None:
    err = refused(make_zip([("ok.txt", b"1"), (name, b"x")]))
    assert codes(err) == {"unsafe_path"}
    assert "取り込めません" in err.detail


def test_backslashes_and_dots_normalised() -> None:
    plan = scan(make_zip([("DIR\\SUB\\a.txt", b"a"), ("./b.txt", b"b"), ("E//c.txt", b"c")]))
    assert [e.path for e in plan.entries] == ["DIR/SUB/a.txt", "E/c.txt", "b.txt"]


def test_duplicates_after_normalisation_refused() -> None:
    nfd = unicodedata.normalize("NFD", "ガ.txt")
    err = refused(make_zip([("A/b.txt", b"1"), ("A\\b.txt", b"2"), ("ガ.txt", b"3"), (nfd, b"4")]))
    assert [f.code for f in err.findings] == ["duplicate_name", "duplicate_name"]


def test_file_and_folder_with_one_name_refused() -> None:
    err = refused(make_zip([("A", b"file"), ("A/b.txt", b"x")]))
    assert codes(err) == {"file_folder_clash"}


@pytest.mark.parametrize("mode", [stat.S_IFLNK, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO])
def test_symlinks_and_devices_in_zip_refused(mode: int) -> None:
    err = refused(with_mode("thing", mode))
    assert codes(err) == {"special_file"}
    assert refused(symlink_zip()).findings[0].message == "シンボリックリンクは取り込めません。"


def test_cp932_names_with_flag_clear() -> None:
    raw = "写真/工事写真１.JPG".encode("cp932")
    data = make_zip([(raw, b"jpeg"), ("ＲＥＡＤＭＥ.txt".encode("cp932"), b"t")])
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert all(not i.flag_bits & 0x800 for i in infos)
    plan = scan(data)
    assert [e.path for e in plan.entries] == ["写真/工事写真１.JPG", "ＲＥＡＤＭＥ.txt"]
    assert plan.findings == []


def test_utf8_names_without_flag_and_with_flag() -> None:
    plan = scan(make_zip([("設計図/平面図.pdf".encode(), b"p"), ("報告書.pdf", b"r")]))
    assert [e.path for e in plan.entries] == ["報告書.pdf", "設計図/平面図.pdf"]


def test_undecodable_names_fall_back_to_cp437_with_a_finding() -> None:
    plan = scan(make_zip([(b"\x85\x40\x85\x41abcd.txt", b"x")]))
    assert len(plan.entries) == 1
    assert [f.code for f in plan.findings] == ["name_encoding"]


def test_nul_and_overlong_names_refused() -> None:
    err = refused(make_zip([(b"bad\x00name.txt", b"x"), ("x" * 300, b"y")]))
    assert [f.code for f in err.findings] == ["unsafe_path", "unsafe_path"]
    assert "255" in err.findings[1].message


def test_junk_skipped_with_findings() -> None:
    plan = scan(
        make_zip(
            [
                ("PHOTO/Thumbs.db", b"t"),
                ("desktop.ini", b"d"),
                ("PHOTO/.DS_Store", b"s"),
                ("__MACOSX/PHOTO/._P0000001.JPG", b"m"),
                ("__MACOSX/._INDEX_C.XML", b"m"),
                ("PHOTO/P0000001.JPG", b"jpeg"),
            ]
        )
    )
    assert [e.path for e in plan.entries] == ["PHOTO/P0000001.JPG"]
    assert {f.code for f in plan.findings} == {"junk_skipped"}
    assert {f.rule for f in plan.findings} == {"5"}
    assert any("__MACOSX/（2件）" in f.message for f in plan.findings)


def test_bomb_of_zeros_refused_by_ratio() -> None:
    err = refused(make_zip([("zeros.bin", bytes(20 << 20))]))
    assert codes(err) == {"zip_bomb"}
    # Below the 1 MiB floor a high ratio is fine (small padded files compress well).
    assert len(scan(make_zip([("small.bin", bytes(1 << 19))])).entries) == 1


def test_lying_header_is_not_trusted() -> None:
    plan = scan(lying_sizes(bytes(4 << 20), claimed=4096))  # scan sees a harmless entry
    with pytest.raises(UnpackError, match="壊れています"):
        plan.entries[0].read()


def test_running_ratio_check_stops_a_stream() -> None:
    data = make_zip([("zeros.bin", bytes(8 << 20))])
    zf = open_zip(io.BytesIO(data))
    plan = scan_zip(zf, Limits(max_ratio=10_000))
    stream = scan_zip(zf, Limits(max_ratio=10_000)).entries[0]
    assert len(plan.entries[0].read()) == 8 << 20
    tight = Limits(max_ratio=100)
    from api.deliverables.unpack import _zip_opener

    opener = _zip_opener(zf, zf.infolist()[0], stream.path, tight)
    with pytest.raises(UnpackError, match="ZIP爆弾"):
        b"".join(opener())


def test_caps_on_count_total_and_depth() -> None:
    items: list[Item] = [(f"f{i}.txt", b"abc") for i in range(11)]
    err = refused(make_zip(items), Limits(max_files=10))
    assert "too_many_files" in codes(err)
    err = refused(make_zip(items), Limits(max_total=20))
    assert codes(err) == {"too_large"}
    err = refused(make_zip([("a/b/c/d/e.txt", b"x")]), Limits(max_depth=4))
    assert codes(err) == {"too_deep"}


def test_entry_count_checked_before_parsing_the_directory() -> None:
    data = make_zip([(f"{i}.txt", b"") for i in range(1100)])
    with pytest.raises(UnpackError, match="項目数"):
        open_zip(io.BytesIO(data), Limits(max_files=10))


def test_encrypted_and_broken_zips() -> None:
    data = bytearray(make_zip([("a.txt", b"secret")]))
    data[6] |= 1  # local header flag
    data[data.find(b"PK\x01\x02") + 8] |= 1  # central directory flag
    assert codes(refused(bytes(data))) == {"encrypted"}
    with pytest.raises(UnpackError, match="ZIPファイルとして読めません"):
        open_zip(io.BytesIO(b"not a zip at all" * 10))


def test_streams_in_chunks() -> None:
    payload = os.urandom(3 << 20)
    plan = scan(make_zip([("big.bin", payload)], zipfile.ZIP_STORED))
    chunks = list(plan.entries[0].chunks())
    assert len(chunks) == 3
    assert b"".join(chunks) == payload


def test_single_top_folder_and_package_root() -> None:
    plan = scan(make_zip([("PKG/INDEX_C.XML", b"<x/>"), ("PKG/PHOTO/", b"")]))
    assert plan.top_folder() == "PKG"
    assert plan.package_root() == ("PKG",)
    assert plan.entries[-1].is_dir  # empty folders are kept
    flat = scan(make_zip([("INDEX_D.XML", b"<x/>"), ("REPORT/R.PDF", b"%")]))
    assert flat.top_folder() is None
    assert flat.package_root() == ()


def test_safe_parts_errors_are_validation_errors() -> None:
    with pytest.raises(ValidationFailed):
        safe_parts("")
    assert safe_parts("a\\b/./c") == ("a", "b", "c")


# -- folders ------------------------------------------------------------------------------


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_folder_tree_scanned_with_empty_folders_and_junk(tmp_path: Path) -> None:
    root = tree(tmp_path / "pkg", {"INDEX_C.XML": b"<x/>", "PHOTO/PIC/P1.JPG": b"j"})
    (root / "EMPTY").mkdir()
    (root / "Thumbs.db").write_bytes(b"t")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "x").write_bytes(b"m")
    plan = scan_folder(root)
    assert [(e.path, e.is_dir) for e in plan.entries] == [
        ("EMPTY", True),
        ("INDEX_C.XML", False),
        ("PHOTO", True),
        ("PHOTO/PIC", True),
        ("PHOTO/PIC/P1.JPG", False),
    ]
    assert plan.entries[-1].read() == b"j"
    assert len(plan.findings) == 2


def test_folder_symlinks_never_followed(tmp_path: Path) -> None:
    root = tree(tmp_path / "pkg", {"a.txt": b"a"})
    secret = tree(tmp_path / "outside", {"secret.txt": b"s"})
    os.symlink(secret, root / "linked_dir")
    os.symlink(secret / "secret.txt", root / "linked.txt")
    with pytest.raises(UnpackError) as info:
        scan_folder(root)
    assert [f.path for f in info.value.findings] == ["linked.txt", "linked_dir"]
    assert {f.code for f in info.value.findings} == {"special_file"}


def test_folder_fifo_refused_and_changed_file_detected(tmp_path: Path) -> None:
    root = tree(tmp_path / "pkg", {"a.txt": b"a"})
    os.mkfifo(root / "pipe")
    with pytest.raises(UnpackError, match="名前付きパイプ"):
        scan_folder(root)
    os.unlink(root / "pipe")
    plan = scan_folder(root)
    (root / "a.txt").write_bytes(b"grown")
    with pytest.raises(UnpackError, match="変更されました"):
        plan.entries[0].read()


def test_cp932_file_names_on_disk(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    raw = "打合せ簿.pdf".encode("cp932")
    with open(os.path.join(os.fsencode(root), raw), "wb") as f:
        f.write(b"%PDF")
    plan = scan_folder(root)
    assert [e.path for e in plan.entries] == ["打合せ簿.pdf"]
    assert plan.entries[0].read() == b"%PDF"


def test_single_file(tmp_path: Path) -> None:
    path = tree(tmp_path, {"報告書.pdf": b"%PDF"}) / "報告書.pdf"
    plan = scan_file(path)
    assert plan.kind == "file"
    assert [e.path for e in plan.entries] == ["報告書.pdf"]
