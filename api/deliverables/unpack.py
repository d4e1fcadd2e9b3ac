"""Iterate a ZIP, a folder tree or a single file as *safe entries*: pure, no records.

A scan reads only metadata (the ZIP central directory, ``lstat`` of a folder tree) and either
returns a ``Plan`` (entries + non-blocking findings) or raises ``UnpackError`` naming every
blocking problem, so bad input is refused before a single byte is stored. Entry contents are
then streamed chunk by chunk with running byte counts: header sizes are never trusted.

Rules (issue 3 item 4 and "Bad input"; deliverables-and-bonds.md §2.2 rules 5, 26, 27):
- paths: backslashes become ``/``; absolute paths, drive letters (``C:``) and ``..`` are
  refused; ``.`` and empty parts are dropped; every part is NFC and passes ``clean_name``
  (no NUL/controls/slash, at most 255 characters); duplicates after normalisation and a file
  standing where a folder is needed are refused; folder depth is capped.
- links and devices: ZIP entries whose Unix mode (external attributes) is a symlink, device,
  FIFO or socket are refused; in folders, links are never followed (``lstat``, ``O_NOFOLLOW``).
- names in ZIPs: flag bit 11 → UTF-8; else the Info-ZIP Unicode Path field (0x7075) when its
  CRC matches; else UTF-8 if the bytes are valid UTF-8, then CP932, then CP437 with a finding.
  UTF-8 is tried before CP932 on purpose: a UTF-8 name often also decodes as (garbled) CP932,
  while CP932 Japanese text is practically never valid UTF-8.
- bombs: file count, total uncompressed size, per-entry ratio (beyond ``ratio_floor`` bytes)
  are checked on the declared sizes at scan time and again on the bytes actually produced.
  ZIPs inside the ZIP are stored as files, never expanded, so nesting cannot multiply.
- ``Thumbs.db``, ``desktop.ini``, ``.DS_Store`` and ``__MACOSX/`` are skipped with a finding
  (§2.2 rule 5: auto-removal on the ZIP path).
"""

from __future__ import annotations

import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from api.archive.models import clean_name
from api.errors import ValidationFailed

Severity = Literal["E", "W", "N"]
CHUNK = 1 << 20
MAX_REPORTED = 50
JUNK_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
JUNK_FOLDERS = frozenset({"__macosx"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_UNICODE_PATH_EXTRA = 0x7075
_SUPPORTED_METHODS = {
    zipfile.ZIP_STORED,
    zipfile.ZIP_DEFLATED,
    zipfile.ZIP_BZIP2,
    zipfile.ZIP_LZMA,
}
_BAD_MODES = {
    stat.S_IFLNK: "シンボリックリンク",
    stat.S_IFCHR: "デバイスファイル",
    stat.S_IFBLK: "デバイスファイル",
    stat.S_IFIFO: "名前付きパイプ",
    stat.S_IFSOCK: "ソケット",
}


@dataclass(frozen=True)
class Finding:
    """One observation about the input. ``E`` blocks the import; ``W``/``N`` are kept in the
    import's report. ``rule`` cites deliverables-and-bonds.md §2.2 where one applies."""

    severity: Severity
    code: str
    message: str
    path: str = ""
    rule: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Limits:
    """Caps against bombs and floods (issue 3 "Bad input": a zip bomb, 100,000 tiny files)."""

    max_files: int = 100_000
    max_total: int = 64 << 30
    max_ratio: int = 100
    ratio_floor: int = 1 << 20
    max_depth: int = 32


class UnpackError(ValidationFailed):
    """The input is refused; ``findings`` lists every blocking problem found."""

    code = "package_rejected"
    title = "パッケージを取り込めません。"

    def __init__(self, detail: str, findings: list[Finding] | None = None) -> None:
        self.findings = findings or [Finding("E", self.code, detail)]
        super().__init__(detail, findings=[f.to_dict() for f in self.findings[:MAX_REPORTED]])


@dataclass(frozen=True)
class Entry:
    """A file or folder to create at ``parts`` below the import target. ``size`` is the
    declared (ZIP) or ``lstat`` size: a hint for planning; ``chunks()`` enforces it."""

    parts: tuple[str, ...]
    is_dir: bool
    size: int
    source: str
    opener: Callable[[], Iterator[bytes]] | None = None

    @property
    def path(self) -> str:
        return "/".join(self.parts)

    def chunks(self) -> Iterator[bytes]:
        """Stream the content (sync; call from a worker thread for big entries)."""
        if self.opener is None:
            return iter(())
        return self.opener()

    def read(self) -> bytes:
        """The whole content, for small entries only (bounded by the same checks)."""
        return b"".join(self.chunks())


@dataclass
class Plan:
    """What a scan found: entries in a stable order and non-blocking findings."""

    kind: Literal["zip", "folder", "file"]
    entries: list[Entry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def files(self) -> list[Entry]:
        return [e for e in self.entries if not e.is_dir]

    @property
    def total_size(self) -> int:
        return sum(e.size for e in self.entries if not e.is_dir)

    def top_folder(self) -> str | None:
        """The single top-level folder holding everything, if there is one."""
        tops = {e.parts[0] for e in self.entries}
        if len(tops) != 1:
            return None
        top = next(iter(tops))
        if any(len(e.parts) == 1 and not e.is_dir for e in self.entries):
            return None
        return top

    def package_root(self) -> tuple[str, ...] | None:
        """The shallowest folder holding ``INDEX_C.XML`` or ``INDEX_D.XML`` (any case)."""
        roots = [
            e.parts[:-1]
            for e in self.entries
            if not e.is_dir and e.parts[-1].upper() in ("INDEX_C.XML", "INDEX_D.XML")
        ]
        return min(roots, key=len) if roots else None


# -- path rules ------------------------------------------------------------------------------


def safe_parts(name: str) -> tuple[str, ...]:
    """``name`` as cleaned path parts, or ``ValidationFailed`` with a Japanese reason."""
    value = name.replace("\\", "/")
    if value.startswith("/"):
        raise ValidationFailed(f"絶対パスは取り込めません: {name[:120]}")
    if _DRIVE.match(value):
        raise ValidationFailed(f"ドライブ名付きのパスは取り込めません: {name[:120]}")
    raw = [p for p in value.split("/") if p not in ("", ".")]
    if ".." in raw:
        raise ValidationFailed(f"上位フォルダを指すパス（..）は取り込めません: {name[:120]}")
    if not raw:
        raise ValidationFailed(f"名前が空です: {name[:120]!r}")
    return tuple(clean_name(unicodedata.normalize("NFC", p)) for p in raw)


def is_junk(parts: tuple[str, ...]) -> bool:
    """OS litter (§2.2 rule 5): ``Thumbs.db``, ``desktop.ini``, ``.DS_Store``, ``__MACOSX/``."""
    return parts[-1].lower() in JUNK_FILES or any(p.lower() in JUNK_FOLDERS for p in parts)


class _Checker:
    """Collects entries and findings while a scan runs; refuses at the end if any E."""

    def __init__(self, kind: Literal["zip", "folder", "file"], limits: Limits) -> None:
        self.plan = Plan(kind)
        self.limits = limits
        self.errors: list[Finding] = []
        self.files: set[tuple[str, ...]] = set()
        self.dirs: set[tuple[str, ...]] = set()
        self.folded: dict[str, str] = {}
        self.total = 0
        self.junk: dict[str, int] = {}

    def error(self, code: str, message: str, path: str = "", rule: str = "") -> None:
        self.errors.append(Finding("E", code, message, path, rule))

    def parts(self, name: str, shown: str) -> tuple[str, ...] | None:
        try:
            return safe_parts(name)
        except ValidationFailed as exc:
            self.error("unsafe_path", exc.detail, shown, "26")
            return None

    def add(self, entry: Entry) -> None:
        if is_junk(entry.parts):
            key = "__MACOSX" if any(p.lower() in JUNK_FOLDERS for p in entry.parts) else entry.path
            self.junk[key] = self.junk.get(key, 0) + 1
            return
        if len(entry.parts) > self.limits.max_depth:
            self.error(
                "too_deep",
                f"フォルダの階層が深すぎます（上限{self.limits.max_depth}階層）。",
                entry.path,
            )
            return
        for depth in range(1, len(entry.parts)):
            self.dirs.add(entry.parts[:depth])
        if entry.is_dir:
            if entry.parts in self.dirs:
                return
            self.dirs.add(entry.parts)
        else:
            if entry.parts in self.files:
                self.error("duplicate_name", "同じ名前のファイルが重複しています。", entry.path)
                return
            self.files.add(entry.parts)
            if len(self.files) > self.limits.max_files:
                raise UnpackError(
                    f"ファイル数が上限（{self.limits.max_files:,}件）を超えています。",
                    [
                        *self.errors,
                        Finding("E", "too_many_files", "ファイル数が上限を超えています。"),
                    ],
                )
            self.total += entry.size
            folded = entry.path.casefold()
            if folded in self.folded and self.folded[folded] != entry.path:
                self.plan.findings.append(
                    Finding(
                        "W",
                        "case_collision",
                        f"大文字と小文字だけが異なる名前があります（{self.folded[folded]}）。",
                        entry.path,
                    )
                )
            self.folded.setdefault(folded, entry.path)
        self.plan.entries.append(entry)

    def finish(self) -> Plan:
        for parts in sorted(self.files & self.dirs):
            self.error(
                "file_folder_clash",
                "同じ名前のファイルとフォルダがあります。",
                "/".join(parts),
            )
        if self.total > self.limits.max_total:
            self.error(
                "too_large",
                f"展開後の合計サイズ（{self.total:,}バイト）が上限"
                f"（{self.limits.max_total:,}バイト）を超えています。",
                rule="27",
            )
        for key, count in sorted(self.junk.items()):
            shown = f"{key}/（{count}件）" if key == "__MACOSX" else key
            self.plan.findings.append(
                Finding("W", "junk_skipped", f"不要なファイルを除外しました: {shown}", key, "5")
            )
        if self.errors:
            first = self.errors[0]
            more = f"（ほか{len(self.errors) - 1}件）" if len(self.errors) > 1 else ""
            where = f" [{first.path}]" if first.path else ""
            raise UnpackError(f"{first.message}{where}{more}", self.errors)
        self.plan.entries.sort(key=lambda e: (e.parts, not e.is_dir))
        return self.plan


# -- ZIP ---------------------------------------------------------------------------------------


def zip_entry_count(fp: BinaryIO) -> int:
    """Entries declared in the end-of-central-directory record (zip64 aware), read before
    ``zipfile`` loads the whole directory into memory. -1 when not found."""
    fp.seek(0, os.SEEK_END)
    size = fp.tell()
    tail_len = min(size, 65536 + 22)
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(tail):
        return -1
    count = int(struct.unpack("<H", tail[pos + 10 : pos + 12])[0])
    if count == 0xFFFF and pos >= 20 and tail[pos - 20 : pos - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[pos - 12 : pos - 4])
        fp.seek(offset)
        record = fp.read(56)
        if record[:4] == b"PK\x06\x06":
            count = int(struct.unpack("<Q", record[32:40])[0])
    return count


def decode_name(info: zipfile.ZipInfo) -> tuple[str, Finding | None]:
    """The entry's name as text (rules in the module docstring)."""
    if info.flag_bits & _UTF8_FLAG:
        return info.orig_filename, None
    raw = info.orig_filename.encode("cp437")  # zipfile decoded with cp437: lossless
    unicode_path = _unicode_path_extra(info.extra, raw)
    if unicode_path is not None:
        return unicode_path, None
    if raw.isascii():
        return raw.decode("ascii"), None
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding), None
        except UnicodeDecodeError:
            continue
    name = raw.decode("cp437")
    return name, Finding(
        "W",
        "name_encoding",
        "ファイル名の文字コードを判別できません（CP437として読みました）。",
        name,
    )


def _unicode_path_extra(extra: bytes, raw: bytes) -> str | None:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        body = extra[pos + 4 : pos + 4 + length]
        if tag == _UNICODE_PATH_EXTRA and len(body) >= 5 and body[0] == 1:
            (crc,) = struct.unpack("<I", body[1:5])
            if crc == zlib.crc32(raw):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        pos += 4 + length
    return None


def scan_zip(zf: zipfile.ZipFile, limits: Limits = Limits()) -> Plan:
    """Check every entry of an open ZIP; entries stream from ``zf`` (keep it open)."""
    check = _Checker("zip", limits)
    for info in zf.infolist():
        name, finding = decode_name(info)
        if finding is not None:
            check.plan.findings.append(finding)
        parts = check.parts(name, name)
        if parts is None:
            continue
        shown = "/".join(parts)
        mode = (info.external_attr >> 16) & 0o170000
        if mode in _BAD_MODES:
            check.error("special_file", f"{_BAD_MODES[mode]}は取り込めません。", shown, "26")
            continue
        if info.is_dir():
            check.add(Entry(parts, True, 0, name))
            continue
        if info.flag_bits & _ENCRYPTED_FLAG:
            check.error("encrypted", "パスワード付きのZIPは取り込めません。", shown)
            continue
        if info.compress_type not in _SUPPORTED_METHODS:
            check.error("compression", "対応していない圧縮方式です。", shown)
            continue
        if _too_compressed(info.file_size, info.compress_size, limits):
            check.error("zip_bomb", _bomb_message(limits), shown, "27")
            continue
        opener = _zip_opener(zf, info, shown, limits)
        check.add(Entry(parts, False, info.file_size, name, opener))
    return check.finish()


def _too_compressed(produced: int, compressed: int, limits: Limits) -> bool:
    return produced > limits.ratio_floor and produced > limits.max_ratio * max(compressed, 1)


def _bomb_message(limits: Limits) -> str:
    return f"圧縮率が異常に高いファイルです（上限{limits.max_ratio}倍）。ZIP爆弾の疑いがあります。"


def _zip_opener(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str, limits: Limits
) -> Callable[[], Iterator[bytes]]:
    def stream() -> Iterator[bytes]:
        produced = 0
        try:
            with zf.open(info) as member:
                while True:
                    chunk = member.read(CHUNK)
                    if not chunk:
                        break
                    produced += len(chunk)
                    if produced > info.file_size:
                        raise UnpackError(f"宣言より大きなデータが展開されました: {shown}")
                    if _too_compressed(produced, info.compress_size, limits):
                        raise UnpackError(f"{_bomb_message(limits)} [{shown}]")
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise UnpackError(f"ZIPファイルが壊れています: {shown}（{exc}）") from exc
        if produced != info.file_size:
            raise UnpackError(f"ZIPファイルが壊れています（サイズ不一致）: {shown}")

    return stream


def open_zip(fp: BinaryIO, limits: Limits = Limits()) -> zipfile.ZipFile:
    """Open a ZIP after checking its declared entry count (the directory is then parsed)."""
    count = zip_entry_count(fp)
    # Folders and junk count too; leave room for them but refuse directory floods early.
    if count > limits.max_files * 2 + 1000:
        raise UnpackError(
            f"ZIP内の項目数（{count:,}件）が上限（{limits.max_files:,}件）を超えています。"
        )
    fp.seek(0)
    try:
        return zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnpackError(f"ZIPファイルとして読めません（{exc}）。") from exc


# -- folders and single files -------------------------------------------------------------------


def _fs_name(name: str) -> tuple[str, Finding | None]:
    """A directory entry name: undecodable bytes (surrogate escapes) are tried as CP932."""
    try:
        name.encode("utf-8")
        return name, None
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    try:
        return raw.decode("cp932"), None
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
        return text, Finding("W", "name_encoding", "ファイル名の文字コードを判別できません。", text)


def _file_opener(path: Path, size: int, shown: str) -> Callable[[], Iterator[bytes]]:
    def stream() -> Iterator[bytes]:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise UnpackError(f"ファイルを開けません: {shown}（{exc.strerror}）") from exc
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise UnpackError(f"通常のファイルではありません: {shown}")
            produced = 0
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                produced += len(chunk)
                if produced > size:
                    break
                yield chunk
        if produced != size:
            raise UnpackError(f"読み込み中にファイルが変更されました: {shown}")

    return stream


def scan_folder(root: Path, limits: Limits = Limits()) -> Plan:
    """Check a folder tree without following any link; entries stream from the disk."""
    check = _Checker("folder", limits)
    if not root.is_dir():
        raise UnpackError(f"フォルダが見つかりません: {root}")
    _walk(check, root, ())
    return check.finish()


def _walk(check: _Checker, folder: Path, prefix: tuple[str, ...]) -> None:
    try:
        with os.scandir(folder) as it:
            items = sorted(it, key=lambda d: d.name)
    except OSError as exc:
        check.error("unreadable", f"フォルダを読めません（{exc.strerror}）。", "/".join(prefix))
        return
    for item in items:
        name, finding = _fs_name(item.name)
        if finding is not None:
            check.plan.findings.append(finding)
        shown = "/".join([*prefix, name])
        parts = check.parts(shown, shown)
        if parts is None:
            continue
        st = item.stat(follow_symlinks=False)
        fmt = stat.S_IFMT(st.st_mode)
        if fmt in _BAD_MODES:
            check.error("special_file", f"{_BAD_MODES[fmt]}は取り込めません。", shown, "26")
        elif fmt == stat.S_IFDIR:
            if len(parts) > check.limits.max_depth:
                check.error("too_deep", "フォルダの階層が深すぎます。", shown)
                continue
            check.add(Entry(parts, True, 0, shown))
            if not is_junk(parts):
                _walk(check, Path(item.path), parts)
        elif fmt == stat.S_IFREG:
            opener = _file_opener(Path(item.path), st.st_size, shown)
            check.add(Entry(parts, False, st.st_size, shown, opener))
        else:
            check.error("special_file", "特殊なファイルは取り込めません。", shown, "26")


def scan_file(path: Path, limits: Limits = Limits()) -> Plan:
    """One plain file as a one-entry plan (``kura import report.pdf``)."""
    check = _Checker("file", limits)
    st = path.lstat()
    if not stat.S_ISREG(st.st_mode):
        raise UnpackError(f"通常のファイルではありません: {path}")
    parts = check.parts(path.name, path.name)
    if parts is not None:
        check.add(
            Entry(parts, False, st.st_size, path.name, _file_opener(path, st.st_size, path.name))
        )
    return check.finish()


def describe(plan: Plan) -> dict[str, Any]:
    """Counts for logs and reports."""
    return {
        "kind": plan.kind,
        "files": len(plan.files),
        "folders": sum(1 for e in plan.entries if e.is_dir),
        "bytes": plan.total_size,
        "findings": len(plan.findings),
    }
