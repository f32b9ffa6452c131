"""The design's rules, enforced: import direction, no shadowed packages, docs and migrations in step."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as md
import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.app import App, build_registry
from bot.commands import describe_commands
from bot.feature import Feature
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


# ---- the layout's import directions ---------------------------------------------------------------------
# core: bot/ (who and how) minus its wiring and the networks feature; bot/members (roles, profiles,
# privacy) and bot/guide (help, home) are feature packages that are also part of the core.
# engine and time helpers: scheduling/engine and scheduling/time, on top of the core only.
# a feature package (a folder with a feature.py): the core, the engine, the time helpers, itself, and the
# features it declares in `Feature.uses`. Adapters: the core only. Only bot/app.py imports the features.


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


CORE_FEATURES = ("bot.members", "bot.guide")
ENGINE = ("scheduling.engine", "scheduling.time")


def _feature_packages(*, all_of_them: bool = False) -> dict[str, Feature]:
    found: dict[str, Feature] = {}
    for path in sorted(ROOT.glob("*/*/**/feature.py")):
        package = _module(path.parent)
        if path.relative_to(ROOT).parts[0] in ("bot", "scheduling", "content") and (
            all_of_them or not package.startswith(CORE_FEATURES + ENGINE)
        ):
            found[package] = importlib.import_module(f"{package}.feature").FEATURE
    return found


def _ours(name: str) -> str | None:
    return name if name.split(".")[0] in OURS else None


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_every_feature_package_is_listed_once_in_the_app() -> None:
    from bot.app import FEATURES

    packages = _feature_packages(all_of_them=True)
    assert sorted(f.name for f in packages.values()) == sorted(f.name for f in FEATURES)
    assert len({f.name for f in FEATURES}) == len(FEATURES)


def test_imports_follow_the_layout() -> None:
    packages = _feature_packages()
    by_name = {feature.name: package for package, feature in packages.items()}
    engine = ENGINE
    wiring = {"bot.app", "bot.cli", "bot.store.schema", "adapters.runtime"}
    offenders = []
    for path in sorted(p for top in OURS for p in (ROOT / top).rglob("*.py")):
        module = _module(path)
        if module in wiring or "migrations" in module:
            continue
        owner = next((pkg for pkg in sorted(packages, key=len, reverse=True) if _within(module, pkg)), None)
        for name in filter(None, map(_ours, _imports(path))):
            top = name.split(".")[0]
            if name == "bot.app" or name.endswith(".feature") and not name.startswith("bot.feature"):
                if not (owner and _within(name, owner)):
                    offenders.append(f"{module} imports {name}: only bot/app.py wires features")
                continue
            target = next(
                (pkg for pkg in sorted(packages, key=len, reverse=True) if _within(name, pkg)), None
            )
            if module.startswith("adapters."):
                allowed = top in ("bot", "adapters") and target is None
            elif owner is not None:
                uses = {by_name[u] for u in packages[owner].uses}
                allowed = (
                    (target is None and (top == "bot" or name.startswith(engine)))
                    or target == owner
                    or (target is not None and (target in uses or _within(owner, target)))
                )
            elif module.startswith(engine):
                allowed = target is None and (top == "bot" or name.startswith(engine))
            else:  # the core
                allowed = top == "bot" and target is None
            if not allowed:
                offenders.append(f"{module} imports {name}")
    assert offenders == [], "\n".join(offenders)


def test_our_packages_are_the_ones_imported() -> None:
    import adapters
    import bot
    import content
    import scheduling

    for module in (bot, adapters, scheduling, content):
        assert Path(module.__file__ or "").resolve().is_relative_to(ROOT)


def test_no_adapter_module_shadows_its_sdk() -> None:
    names = {p.stem for p in (ROOT / "adapters").rglob("*.py")}
    assert not names & {"slack", "discord", "slack_bolt", "slack_sdk"}
    assert not (ROOT / "slack").exists() and not (ROOT / "discord").exists()


def test_bot_package_init_has_no_side_effects() -> None:
    tree = ast.parse((ROOT / "bot" / "__init__.py").read_text())
    assert all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in tree.body)


def test_readme_command_reference_is_generated_from_the_registry() -> None:
    registry = build_registry(demo=True)  # the reference lists the demo clock's commands too, saying so
    expected = describe_commands(registry, registry.groups)
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- commands:start -->\n(.*?)<!-- commands:end -->", readme, re.S)
    assert match, "README.md lacks the <!-- commands:start --> ... <!-- commands:end --> block"
    assert match.group(1).strip() == expected.strip(), (
        "README's command reference is stale: regenerate it with `.venv/bin/copbot docs commands`"
    )


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
    return any(
        name in text
        for name in (
            "practice_fts",
            "resource_fts",
            "search_vector",
            "ix_practice_search",
            "ix_resource_search",
        )
    )


def test_every_table_is_declared_by_a_feature() -> None:
    from sqlmodel import SQLModel

    from bot.store.schema import TABLE_MODULES

    declared = {module.__name__ for module in TABLE_MODULES}
    tables = {mapper.class_.__module__ for mapper in SQLModel._sa_registry.mappers}  # type: ignore[attr-defined]
    assert tables <= declared, f"tables in modules no feature declares: {sorted(tables - declared)}"
