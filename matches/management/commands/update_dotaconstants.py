"""Rebuild matches/upstream/data/ from an unpacked `dotaconstants` npm package."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from matches.upstream.dota_constants import build_tables, write_tables


class Command(BaseCommand):
    help = (
        "Rebuild the trimmed hero/item/ability/game-mode/lobby-type/patch tables in "
        "matches/upstream/data/ from an unpacked dotaconstants package (`npm pack dotaconstants "
        "&& tar xzf dotaconstants-*.tgz`, then pass the `package` directory)."
    )

    def add_arguments(self, parser):
        parser.add_argument("package_dir", type=Path, help="the unpacked package (or its build/)")

    def handle(self, *args, package_dir: Path, **options):
        if not package_dir.is_dir():
            raise CommandError(f"{package_dir} is not a directory")
        try:
            tables = build_tables(package_dir)
        except (OSError, KeyError, ValueError) as exc:
            raise CommandError(
                f"{package_dir} is not a usable dotaconstants package: {exc}"
            ) from exc
        for path in write_tables(tables):
            self.stdout.write(f"wrote {path}")
        version = _package_version(package_dir)
        if version:
            self.stdout.write(
                f"dotaconstants {version}: update the version in matches/upstream/data/README.md"
            )


def _package_version(package_dir: Path) -> str:
    manifest = package_dir / "package.json"
    if not manifest.is_file():
        return ""
    return json.loads(manifest.read_text(encoding="utf-8")).get("version", "")
