"""The design's rules, enforced: import direction, no shadowed packages, docs and migrations in step."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.app import App, build_registry
from bot.commands import describe_commands
from bot.store.schema import metadata

ROOT = Path(__file__).resolve().parent.parent
OURS = {"bot", "adapters", "scheduling", "content"}
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "slack", "discord")
WIRING = {ROOT / "bot" / "app.py", ROOT / "bot" / "cli.py"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_and_features_import_no_platform_sdk_and_no_adapter() -> None:
    offenders = []
    for package in ("bot", "scheduling", "content"):
        for path in (ROOT / package).rglob("*.py"):
            for name in _imports(path):
                top = name.split(".")[0]
                if top in PLATFORM_SDKS or (top == "adapters" and path not in WIRING):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_no_installed_distribution_also_provides_our_top_level_packages() -> None:
    clashes = []
    for dist in md.distributions():
        if (dist.metadata["Name"] or "").lower() == "copbot":
            continue
        tops = set((dist.read_text("top_level.txt") or "").split())
        for f in dist.files or ():
            parts = Path(str(f)).parts
            if len(parts) > 1 and not parts[0].endswith((".dist-info", ".egg-info", ".data")):
                tops.add(parts[0])
            elif len(parts) == 1 and parts[0].endswith(".py"):
                tops.add(parts[0][:-3])
        for top in tops & OURS:
            clashes.append(f"{dist.metadata['Name']} provides {top}")
    assert clashes == []


def test_our_packages_are_the_ones_imported() -> None:
    import adapters
    import bot
    import content
    import scheduling

    for module in (bot, adapters, scheduling, content):
        assert Path(module.__file__ or "").resolve().is_relative_to(ROOT)


def test_no_adapter_module_shadows_its_sdk() -> None:
    names = {p.stem for p in (ROOT / "adapters").glob("*.py")}
    assert not names & {"slack", "discord", "slack_bolt", "slack_sdk"}
    assert not (ROOT / "slack").exists() and not (ROOT / "discord").exists()


def test_bot_package_init_has_no_side_effects() -> None:
    tree = ast.parse((ROOT / "bot" / "__init__.py").read_text())
    assert all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in tree.body)


def test_readme_command_reference_is_generated_from_the_registry() -> None:
    registry = build_registry()
    expected = describe_commands(registry, registry.groups)
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- commands:start -->\n(.*?)<!-- commands:end -->", readme, re.S)
    assert match, "README.md lacks the <!-- commands:start --> ... <!-- commands:end --> block"
    assert match.group(1).strip() == expected.strip(), (
        "README's command reference is stale: regenerate it with `.venv/bin/copbot docs commands`")


async def test_migrations_create_exactly_the_models(freshly_migrated_app: App) -> None:
    def diff(session):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(session.connection(), opts={"compare_type": True})
        changes = compare_metadata(ctx, metadata)
        # FTS5 shadow tables and the PostgreSQL tsvector column belong to search, not to the models.
        changes = [c for c in changes if not _is_search_object(c)]
        if session.get_bind().dialect.name == "sqlite":
            # SQLite cannot reflect a foreign key added by ALTER TABLE ADD COLUMN (migration 0002); the
            # forum tests check that this key really sets practices' forum link to NULL on delete.
            changes = [c for c in changes if "forum_occurrence_id" not in repr(c)]
        return changes

    assert await freshly_migrated_app.store.run(diff) == []


def _is_search_object(change: object) -> bool:
    text = repr(change)
    return any(name in text for name in ("practice_fts", "resource_fts", "search_vector", "ix_practice_search",
                                         "ix_resource_search"))
