"""``kura bond sign`` and ``kura bond verify``: the issuer's signing helper and the orderer's
offline check (issue 11 §2). Neither needs the database or the server.

``kura bond sign TBS -o KEYFILE`` signs the to-be-signed file downloaded from the bond's page
with the issuer's key: a PKCS#12 file (``--p12 FILE``, password from ``--password-file`` or
``KURA_BOND_P12_PASSWORD``) or an IC card through its PKCS#11 module (``--pkcs11-module
LIB --token LABEL --key-label LABEL``, PIN from ``--pin-file`` or ``KURA_BOND_PIN``;
``--chain PEM`` adds the intermediates the card does not hold). The signed key file is then
uploaded on the bond's page. The private key never leaves the file or the card.

``kura bond verify KEYFILE --trust TRUST.json`` checks a key file offline against the trust
bundle saved from ``GET /api/v1/bonds/trust`` (``--trust-url URL`` fetches it instead;
``--status FILE`` gives a newer signed status list than the snapshot inside the key file).
Exit 0: valid and current by a fresh status list; 1: invalid; 3: valid but the status is
unknown or older than its ttl; 2: the input cannot be read.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from api.bonds.envelope import EnvelopeError
from api.bonds.offline import Report, sign_tbs, verify_keyfile
from api.bonds.signers import KeySigner, Pkcs11Signer, SignerError, open_token


def _secret(file: Path | None, env: str) -> str | None:
    if file is not None:
        return file.read_text().rstrip("\r\n")
    return os.environ.get(env)


@click.group("bond")
def bond() -> None:
    """ボンド管理: 認証キーの署名と検証（サーバーに接続せずに実行できます）。"""


@bond.command("sign")
@click.argument("tbs", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--p12", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pkcs11-module", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--token", "token_label", default=None)
@click.option("--key-label", default=None)
@click.option("--pin-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--chain", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--alg",
    type=click.Choice(["ES256", "PS256", "RS256", "Ed25519"]),
    default=None,
    help="署名方式（省略時は鍵の種類から: ES256 / PS256 / Ed25519）",
)
def sign(
    tbs: Path,
    output: Path,
    p12: Path | None,
    password_file: Path | None,
    pkcs11_module: Path | None,
    token_label: str | None,
    key_label: str | None,
    pin_file: Path | None,
    chain: Path | None,
    alg: str | None,
) -> None:
    """署名用ファイル TBS に発行機関の鍵で署名し、認証キーのファイルを作ります。"""
    from cryptography import x509

    try:
        document = json.loads(tbs.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"署名用ファイルを読めません: {exc}") from exc
    extra = x509.load_pem_x509_certificates(chain.read_bytes()) if chain else []
    try:
        if p12 is not None:
            password = _secret(password_file, "KURA_BOND_P12_PASSWORD")
            signer = KeySigner.from_pkcs12(
                p12.read_bytes(), password.encode() if password else None, alg or ""
            )
            if extra:
                signer = KeySigner(signer.key, [*signer.chain, *extra], signer.alg)
            text = sign_tbs(document, signer)
        elif pkcs11_module is not None:
            pin = _secret(pin_file, "KURA_BOND_PIN")
            if not token_label or not key_label or not pin:
                raise click.ClickException("--token、--key-label と PIN（--pin-file）が必要です。")
            with open_token(pkcs11_module, token_label, pin) as session:
                text = sign_tbs(document, Pkcs11Signer(session, key_label, extra, alg or ""))
        else:
            raise click.ClickException("--p12 か --pkcs11-module のどちらかを指定してください。")
    except (SignerError, EnvelopeError) as exc:
        raise click.ClickException(str(exc)) from exc
    output.write_text(text, encoding="utf-8")
    click.echo(f"認証キーを作成しました: {output}")
    click.echo("ボンドの画面で「署名済み認証キーの登録」からこのファイルを登録してください。")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)}秒前"
    if seconds < 7200:
        return f"{int(seconds // 60)}分前"
    if seconds < 172800:
        return f"{int(seconds // 3600)}時間前"
    return f"{int(seconds // 86400)}日前"


def render(report: Report) -> str:
    c = report.claims
    lines = [
        f"判定: {'有効' if report.valid else '無効'}",
        f"ボンド: {c.get('bond_id', '—')}  証券番号: {c.get('certificate_no', '—')}  "
        f"版: {c.get('revision', '—')}",
        f"発行機関: {c.get('issuer_name', '—')}  債務者: {c.get('obligor_name', '—')}",
        f"署名した証明書: {report.certificate or '—'}",
        f"認証キーの発行日時: {c.get('issued_at', '—')}",
    ]
    if report.status_issued_at is not None and report.status_age_s is not None:
        state = {
            True: "最新（失効していません）",
            False: "無効（更新または削除済み）",
            None: "不明",
        }
        lines.append(
            f"状態リスト: {state[report.current]}（{report.status_issued_at.isoformat()} 時点、"
            f"{_age(report.status_age_s)}）"
        )
    lines += [f"注意: {w}" for w in report.warnings]
    lines += [f"備考: {n}" for n in report.notes]
    lines += [f"問題: {p}" for p in report.problems]
    return "\n".join(lines)


@bond.command("verify")
@click.argument("keyfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trust", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trust-url", default=None, help="例: https://kura.example/api/v1/bonds/trust")
@click.option("--status", "status_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--at", "at_text", default=None, help="この日時で検証（ISO 8601、既定は現在）")
@click.option("--json", "as_json", is_flag=True)
def verify(
    keyfile: Path,
    trust: Path | None,
    trust_url: str | None,
    status_file: Path | None,
    at_text: str | None,
    as_json: bool,
) -> None:
    """認証キーのファイルをオフラインで検証します（署名、証明書、失効、状態リスト）。"""
    try:
        text = keyfile.read_text(encoding="utf-8")
        if trust is not None:
            bundle = json.loads(trust.read_text(encoding="utf-8"))
        elif trust_url is not None:
            import httpx

            bundle = httpx.get(trust_url, timeout=30).raise_for_status().json()
        else:
            raise click.UsageError("--trust（保存した信頼情報）か --trust-url を指定してください。")
        status = status_file.read_text(encoding="utf-8").strip() if status_file else None
        now = (
            datetime.fromisoformat(at_text.replace("Z", "+00:00")).astimezone(UTC)
            if at_text
            else datetime.now(UTC)
        )
    except click.UsageError:
        raise
    except Exception as exc:  # unreadable input: exit 2
        click.echo(f"読み込めません: {exc}", err=True)
        sys.exit(2)
    report = verify_keyfile(text, bundle, now, status)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "valid": report.valid,
                    "current": report.current,
                    "claims": report.claims,
                    "certificate": report.certificate,
                    "status_issued_at": report.status_issued_at.isoformat()
                    if report.status_issued_at
                    else None,
                    "status_age_seconds": report.status_age_s,
                    "warnings": report.warnings,
                    "notes": report.notes,
                    "problems": report.problems,
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        click.echo(render(report))
    sys.exit(report.exit_code)


def register(cli: click.Group) -> None:
    cli.add_command(bond)
