"""``kura keys``: the data keys per scope (issue 12 §1-2).

    kura keys list                   every scope with its state (active / destroyed when, by whom)
    kura keys erase SCOPE --by NAME  destroy the scope's keys (irreversible), delete its records,
                                     search documents and objects (resumes an interrupted one)
    kura keys rotate-kek [--rewrap]  a new key-encryption key (keyring file or HSM) wraps from now
                                     on; --rewrap wraps every existing data key with it too

Exit 0 on success, 1 when refused (legal hold, not confirmed), 2 on error.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from api.cli._run import with_container
from api.config import Settings
from api.container import Container, build_kek
from api.errors import KuraError
from api.keys.erasure import Erased, erase
from api.keys.kek import KekError


def register(cli: click.Group) -> None:
    """Add ``keys``."""

    @cli.group("keys")
    def keys_group() -> None:
        """スコープごとのデータ鍵（暗号化・消去）"""

    @keys_group.command("list")
    def list_cmd() -> None:
        """List every scope and whether its key is active or destroyed."""

        async def work(c: Container) -> list[dict[str, object]]:
            return await c.keys.scopes()

        try:
            rows = with_container(work)
        except Exception as exc:
            click.echo(f"keys list failed: {exc}", err=True)
            sys.exit(2)
        for row in rows:
            if row.get("destroyed_at"):
                click.echo(f"{row['id']}\tdestroyed {row['destroyed_at']} by {row['destroyed_by']}")
            else:
                click.echo(f"{row['id']}\tactive since {row['created_at']}")

    @keys_group.command("erase")
    @click.argument("scope")
    @click.option("--by", "by", required=True, help="消去を行う運用者の名前（監査記録に残る）")
    @click.option("--reason", default="", help="消去の理由（契約条項など）")
    @click.option("--yes", is_flag=True, help="確認なしで実行する")
    @click.option(
        "--certificate",
        type=click.Path(dir_okay=False, path_type=Path),
        help="データ消去証明書（PDF）の出力先",
    )
    def erase_cmd(scope: str, by: str, reason: str, yes: bool, certificate: Path | None) -> None:
        """Destroy SCOPE's data keys (nothing of it can be decrypted afterwards, in any copy),
        then delete its records, search documents and objects (``api.keys.erasure``; run again
        to finish an interrupted erasure). SCOPE: wc-<work id>, wa-<work id> or o-<org id>."""
        if not yes and not click.confirm(
            f"{scope} の暗号鍵を破棄します。元に戻せません。続けますか？", default=False
        ):
            sys.exit(1)

        async def work(c: Container) -> tuple[Erased, bytes | None]:
            done = await erase(c, scope, f"operator:{by}", reason)
            # the scope's records out of the backup generations here, without a worker (its
            # job, sent as well, then finds nothing left to do)
            from api.backup.erased import for_erasure

            await for_erasure(c, scope)
            if certificate is None:
                return done, None
            from api.keys.certificate import certificate_data
            from api.pdf import DOCUMENT

            data = certificate_data(c.settings, done, c.clock.now().date())
            return done, await c.pdf.render(DOCUMENT, data)

        try:
            done, pdf = with_container(work)
            if certificate is not None and pdf is not None:
                certificate.write_bytes(pdf)
        except KuraError as exc:
            click.echo(f"refused: {exc.title}", err=True)
            sys.exit(1)
        except (ValueError, KekError, OSError) as exc:
            click.echo(f"keys erase failed: {exc}", err=True)
            sys.exit(2)
        d = done.destroyed
        state = "was already destroyed" if d.already else "destroyed"
        click.echo(
            f"{scope}: keys {', '.join(d.key_ids) or '-'} {state} at {d.destroyed_at}; "
            f"records deleted: {sum(done.records.values())}, index entries removed: {done.index}, "
            f"objects deleted: {done.objects}, uploads discarded: {done.uploads}"
        )

    @keys_group.command("rotate-kek")
    @click.option(
        "--rewrap",
        is_flag=True,
        help="既存のデータ鍵をすべて新しい鍵暗号化鍵で包み直す（古い鍵暗号化鍵を廃止できる）",
    )
    def rotate_cmd(rewrap: bool) -> None:
        """Make a new key-encryption key current (the first one on an HSM that has none):
        new data keys are wrapped with it, older KEKs keep unwrapping. ``--rewrap`` also
        wraps every existing data key with it, after which the older KEKs may be retired."""
        settings = Settings()

        async def rotate() -> str:
            kek = build_kek(settings)
            try:
                return await kek.rotate()
            finally:
                await kek.close()

        try:
            kek_id = asyncio.run(rotate())
            count = None
            if rewrap:

                async def work(c: Container) -> int:
                    return await c.keys.rewrap()

                count = with_container(work, settings)
        except (OSError, KekError) as exc:
            click.echo(f"rotate-kek failed: {exc}", err=True)
            sys.exit(2)
        where = build_kek(settings).where()
        click.echo(f"{where}: current key {kek_id}")
        if count is not None:
            click.echo(f"data keys re-wrapped with {kek_id}: {count}")
