"""`copbot`: run the bot, migrate the database, print the command reference."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.config import ConfigError, Settings, load_settings
from bot.errors import StartError
from bot.permissions import Role


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port: give a whole number from 0 to 65535 (0 picks a free one)"
        )
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="copbot", description="A community-of-practice bot.")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser(
        "run", help="start the bot: Slack and/or Discord when their tokens are set, else the console"
    )
    console = sub.add_parser("console", help="start the local console")
    serve = sub.add_parser(
        "serve",
        help="run the HTTP server (Slack events, health check, calendar feeds), "
        "the scheduler and the configured platforms",
    )
    for p in (run, console):
        p.add_argument("--as", dest="user", default="me", help="console: who you are (default: me)")
        p.add_argument(
            "--role",
            default="admin",
            choices=[r.label for r in Role],
            help="console: your role (default: admin, so you can try everything)",
        )
    for p in (run, console, serve):
        p.add_argument(
            "--demo",
            action="store_true",
            help="a demo clock admins move with `clock next`, `clock set` or `clock advance 1d` "
            "to watch the forum run; it keeps its time across restarts (on every platform)",
        )
    for p in (run, console):
        p.add_argument(
            "--web",
            action="store_true",
            help="console: also serve the web pages at HOST:PORT (sign in with the command me web)",
        )
    for p in (run, console, serve):
        p.add_argument("--host", help="address to listen on for HTTP (overrides HOST; default 127.0.0.1)")
        p.add_argument("--port", type=_port, help="port to listen on for HTTP (overrides PORT; default 8080)")
    slack = sub.add_parser("slack", help="Slack helpers")
    slack_sub = slack.add_subparsers(dest="slack_command", required=True)
    man = slack_sub.add_parser("manifest", help="print a Slack app manifest to paste at api.slack.com/apps")
    man.add_argument(
        "--url",
        default="",
        help="HTTP mode: the public https address of /slack/events "
        "(default: COPBOT_PUBLIC_URL + /slack/events; none = Socket Mode)",
    )
    man.add_argument("--name", default="copbot", help="the app's name in Slack")
    teams = sub.add_parser("teams", help="Microsoft Teams helpers")
    teams_sub = teams.add_subparsers(dest="teams_command", required=True)
    tman = teams_sub.add_parser(
        "manifest",
        help="write the Teams app package (manifest.json and icons) to upload in Teams' admin centre",
    )
    tman.add_argument(
        "--out", default="copbot-teams.zip", help="where to write the zip (default copbot-teams.zip)"
    )
    tman.add_argument("--name", default="copbot", help="the app's name in Teams")
    tman.add_argument(
        "--website", default="", help="https address shown as the app's website (default COPBOT_PUBLIC_URL)"
    )
    tman.add_argument(
        "--privacy-url", default="", help="https address of the privacy statement (default --website)"
    )
    tman.add_argument("--terms-url", default="", help="https address of the terms of use (default --website)")
    tman.add_argument(
        "--app-version",
        default="",
        help="the package's version, higher for each upload that replaces one (default: copbot's version)",
    )
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")
    db_sub.add_parser("current", help="show the applied migration")
    docs = sub.add_parser("docs", help="print generated documentation")
    docs.add_argument("what", choices=["commands"])
    return parser


def _configure_logging(settings: Settings, to_file: bool) -> None:
    handler: logging.Handler
    if to_file:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(settings.data_dir / "copbot.log", encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    if settings.log_level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)


def _safe_url(settings: Settings) -> str:
    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def _clock(settings: Settings, demo: bool) -> Callable[[], datetime]:
    from bot.context import system_clock
    from scheduling.engine.clock import STATE_FILE, DemoClock

    return DemoClock(settings.data_dir / STATE_FILE) if demo else system_clock


async def _run_console(settings: Settings, user: str, role: str, demo: bool, web: bool = False) -> int:
    from adapters.console.adapter import ConsoleAdapter, console_member
    from bot.app import build_app
    from bot.members.files import exports_dir

    app = build_app(settings, clock=_clock(settings, demo))
    try:

        async def switch_role(member, role_name: str) -> str | None:  # type: ignore[no-untyped-def]
            try:
                wanted = Role.parse(role_name)
            except ValueError as exc:
                return str(exc)
            await app.set_local_role(member, wanted, "console --role")
            return None

        await app.set_local_role(console_member(user), Role.parse(role), "console --role")
        console = ConsoleAdapter(
            app.dispatch,
            user=user,
            export_dir=exports_dir(settings.data_dir),
            switch_role=switch_role,
            history_file=settings.data_dir / "console_history",
            timezone=settings.timezone,
            settle=app.scheduler.settle,
        )
        app.add_messenger(console.messenger)
        if not web:
            await app.start()
            try:
                return await console.run()
            finally:
                await app.stop()
        from adapters.runtime import start_platforms

        running = await start_platforms(app, http=True)  # the web pages beside the console
        try:
            print(f"copbot: web pages on http://{settings.host}:{running.port} (sign in: me web)", flush=True)
            return await console.run()
        finally:
            await running.stop()
    finally:
        app.close()


async def _serve(settings: Settings, *, http: bool | None, demo: bool) -> int:
    """Run the configured platforms (and the HTTP server when asked or when Slack needs it) until stopped."""
    import signal

    from adapters.runtime import start_platforms
    from bot.app import build_app

    app = build_app(settings, clock=_clock(settings, demo))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        running = await start_platforms(app, http=http)
        try:
            platforms = (
                ", ".join(running.adapters)
                or "no chat platform (set SLACK_BOT_TOKEN, DISCORD_TOKEN or TEAMS_APP_ID)"
            )
            where = (
                f"; serving on http://{settings.host}:{running.port} (health: /healthz)"
                if running.http
                else ""
            )
            clock = "; demo clock (admins: clock next, clock set, clock advance)" if demo else ""
            print(f"copbot: running on {platforms}{where}{clock}; Ctrl-C stops", flush=True)
            await stop.wait()
            return 0
        finally:
            await running.stop()
    finally:
        app.close()


def _with_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    """Command-line flags override the environment."""
    update = {name: getattr(args, name) for name in ("host", "port") if getattr(args, name, None) is not None}
    return settings.model_copy(update=update) if update else settings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("copbot")
    except PackageNotFoundError:
        return "1.0.0"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]  # `copbot --as ana` means `copbot run --as ana`
    args = _parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = _with_flags(load_settings(), args)
    except ConfigError as exc:
        print(f"copbot: {exc}", file=sys.stderr)
        return 2
    demo = bool(getattr(args, "demo", False))
    try:
        if command == "run" and (
            settings.slack_enabled or settings.discord_enabled or settings.teams_enabled
        ):
            _configure_logging(settings, to_file=False)
            return asyncio.run(_serve(settings, http=None, demo=demo))
        if command in ("run", "console"):
            _configure_logging(settings, to_file=True)
            user = getattr(args, "user", "me")
            role = getattr(args, "role", "admin")
            web = bool(getattr(args, "web", False))
            return asyncio.run(_run_console(settings, user, role, demo, web))
        _configure_logging(settings, to_file=False)
        if command == "serve":
            return asyncio.run(_serve(settings, http=True, demo=demo))
        if command == "slack":
            import json
            from urllib.parse import urlsplit

            from adapters.slack.render import manifest
            from bot.app import build_registry

            url = args.url or (
                settings.public_url.rstrip("/") + "/slack/events" if settings.public_url else ""
            )
            print(
                json.dumps(
                    manifest(
                        build_registry(),
                        app_name=args.name,
                        command=settings.slack_command,
                        socket_mode=not url,
                        request_url=url or None,
                        redirect_url=(
                            url.removesuffix("/slack/events") + "/slack/oauth_redirect"
                            if url and settings.slack_oauth
                            else None
                        ),
                        unfurl_domain=urlsplit(settings.public_url).hostname or None,
                    ),
                    indent=2,
                )
            )
            return 0
        if command == "teams":
            from adapters.teams.manifest import manifest as teams_manifest
            from adapters.teams.manifest import package
            from bot.app import build_registry

            try:
                found = teams_manifest(
                    build_registry(),
                    app_id=settings.teams_app_id,
                    website=args.website or settings.public_url.rstrip("/"),
                    privacy_url=args.privacy_url,
                    terms_url=args.terms_url,
                    name=args.name,
                    version=args.app_version or _version(),
                )
            except ValueError as exc:
                print(f"copbot: teams manifest: {exc}", file=sys.stderr)
                return 2
            Path(args.out).write_bytes(package(found))
            listed = ", ".join(c["title"] for c in found["bots"][0]["commandLists"][0]["commands"])
            print(
                f"wrote {args.out}: upload it in the Teams admin centre (Teams apps > Manage apps > Upload)"
            )
            print(f"suggested commands: {listed}")
            return 0
        if command == "db":
            from bot.store.db import current_revision, make_engine, upgrade

            engine = make_engine(settings.resolved_database_url)
            if args.db_command == "upgrade":
                upgrade(engine)
            print(f"{_safe_url(settings)}: migration {current_revision(engine) or 'none'}")
            return 0
        if command == "docs":
            from bot.app import build_registry
            from bot.commands import describe_commands

            registry = build_registry(demo=True)  # the `clock` group's title says it needs --demo
            sys.stdout.write(describe_commands(registry, registry.groups))
            return 0
    except StartError as exc:
        print(f"copbot: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        print(f"copbot: cannot open the database {_safe_url(settings)}: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
