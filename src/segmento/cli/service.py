"""Service stage: the REST API and dashboard, the HTML report, API keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from segmento.cli.common import open_reader, ConfigOption, DbOption, console, day, open_workspace

app = typer.Typer()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    as_of: Annotated[
        Optional[str], typer.Option("--as-of", help="Pin the service's today (YYYY-MM-DD) for replayed or demo data.")
    ] = None,
    read_model: Annotated[bool, typer.Option(help="Answer customer 360s from the in-memory read model.")] = True,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs) and the web dashboard (/dashboard/)."""
    import uvicorn

    from segmento.service.app import create_app

    pinned = day(as_of, "--as-of") if as_of else None
    with open_workspace(db, config) as ws:
        console.print(f"Segmento on http://{host}:{port}  API docs: /docs  dashboard: /dashboard/?key=<a read key>  "
                      "(create keys with `segmento keys create`)", highlight=False)
        uvicorn.run(create_app(ws, as_of=pinned, read_model=read_model), host=host, port=port,
                    access_log=access_log, log_level="warning")


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """A self-contained HTML report: segment mix, transitions, trajectories, portraits, audiences, alerts."""
    from segmento.report import build_report

    with open_workspace(db, config) as ws, console.status("building the report"):
        path = build_report(ws, out)
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, opens without a network)")


keys_app = typer.Typer(help="API keys of the REST API and dashboard (stored hashed).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key, e.g. call-centre.")],
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="read, write or admin (repeatable).")] = ["read"],  # noqa: B006
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    from segmento.service import keys as api_keys

    with open_workspace(db, config) as ws:
        secret, record = api_keys.create_key(ws.con, name, scope)
    console.print(f"key {record.key_id} ({', '.join(sorted(record.scopes))}) for {name}; keep it now, it is not shown again:")
    print(secret)


@keys_app.command("list")
def keys_list(db: DbOption = None, config: ConfigOption = None) -> None:
    """Every key with its scopes and whether it is revoked (never the secret)."""
    from segmento.service import keys as api_keys

    with open_reader(db, config) as source:
        found = api_keys.list_keys(source)
    out = Table("key id", "name", "scopes", "created", "revoked", title=f"{len(found)} API keys")
    for k in found:
        out.add_row(k.key_id, k.name, ", ".join(sorted(k.scopes)), str(k.created_at), str(k.revoked_at or ""))
    console.print(out)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id shown by `segmento keys list`.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a key: every request with it is refused from now on."""
    from segmento.service import keys as api_keys

    with open_workspace(db, config) as ws:
        record = api_keys.revoke_key(ws.con, key_id)
    console.print(f"revoked {record.key_id} ({record.name})")
