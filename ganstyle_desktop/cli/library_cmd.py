"""``ganstyle-cli library``: the dataset catalog from the terminal.

    library create NAME [--kind style|content] [--tradition ...]
    library import SOURCES... [--dataset NAME [--create]] [--manifest FILE]
    library list [DATASET] [--json]
    library export DATASET OUT.zip
    library check [--repair]

Every sub-command takes ``--workspace DIR`` (default: the app's workspace folder).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import zipfile
from pathlib import Path

from ganstyle_desktop import paths
from ganstyle_desktop.engine.atomic import WriteError
from ganstyle_desktop.engine.fileguard import check_regular_file, describe_os_error, printable
from ganstyle_desktop.engine.imageio import DEFAULT_MAX_PIXELS, set_pixel_limit
from ganstyle_desktop.library import (
    Catalog,
    CatalogError,
    ImportOptions,
    ImportReport,
    ManifestError,
    export_dataset,
    import_dataset_archive,
    import_manifest,
    import_paths,
)

from . import CliError
from .progress import ProgressBar


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--workspace",
        type=Path,
        default=argparse.SUPPRESS,
        help="workspace folder (default: the app's workspace in the user data folder)",
    )
    parser = subparsers.add_parser(
        "library",
        parents=[common],
        help="manage style and content datasets (create, import, list, export, check)",
        description="The dataset library: a workspace catalog of artworks by tradition.",
    )
    sub = parser.add_subparsers(dest="library_command", metavar="ACTION")

    p = sub.add_parser("create", parents=[common], help="create an empty dataset")
    p.add_argument("name")
    p.add_argument("--kind", choices=("style", "content"), default="style")
    p.add_argument("--tradition", default="", help="tradition or culture, e.g. 'Japan, Edo'")
    p.add_argument("--region", default="")
    p.add_argument("--era", default="")
    p.add_argument("--description", default="")
    p.set_defaults(run=_create)

    p = sub.add_parser(
        "import",
        parents=[common],
        help="import files, folders, zips or a manifest",
        description="Import images. With --dataset they go into that dataset. Without it, "
        "a manifest (CSV/JSON with a dataset column, like MANIFEST.csv) makes one dataset per "
        "value, and a zip made by `library export` recreates its dataset.",
    )
    p.add_argument("sources", nargs="*", type=Path, help="image files, folders, zip archives")
    p.add_argument("--dataset", help="dataset name (or id) to import into")
    p.add_argument("--create", action="store_true", help="create --dataset if it is missing")
    p.add_argument("--kind", choices=("style", "content"), default="style")
    p.add_argument("--manifest", type=Path, help="CSV or JSON manifest with per-file metadata")
    p.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        help="refuse larger images before decoding (default: $GANSTYLE_MAX_PIXELS or "
        f"{DEFAULT_MAX_PIXELS:,}; training and stylizing apply the same limit)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=_import)

    p = sub.add_parser("list", parents=[common], help="list datasets, or one dataset's images")
    p.add_argument("dataset", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_list)

    p = sub.add_parser("export", parents=[common], help="export a dataset as a zip")
    p.add_argument("dataset")
    p.add_argument("out", type=Path, help="the .zip file to write")
    p.set_defaults(run=_export)

    p = sub.add_parser("check", parents=[common], help="check the store against the catalog")
    p.add_argument("--repair", action="store_true", help="fix what is found")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_check)

    parser.set_defaults(run=lambda args: _no_action(parser))


def _no_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _workspace(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "workspace", None) or paths.default_workspace_dir())


def _open(args: argparse.Namespace, create: bool = False) -> Catalog:
    try:
        return Catalog.open(_workspace(args), create=create)
    except CatalogError as exc:
        raise CliError(str(exc)) from exc


def _create(args: argparse.Namespace) -> int:
    with _open(args, create=True) as catalog:
        try:
            dataset_id = catalog.create_dataset(
                args.name,
                kind=args.kind,
                tradition=args.tradition,
                region=args.region,
                era=args.era,
                description=args.description,
            )
        except CatalogError as exc:
            raise CliError(str(exc)) from exc
        print(f"created dataset {args.name!r} (id {dataset_id}) in {catalog.workspace}")
    return 0


class _Progress:
    def __init__(self) -> None:
        self.bar: ProgressBar | None = None

    def __call__(self, done: int, total: int, name: str) -> None:
        if self.bar is None:
            self.bar = ProgressBar(total, label="importing")
        self.bar.update(done, detail=Path(name).name[:40] if name else "")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _is_dataset_archive(path: Path) -> bool:
    try:
        check_regular_file(path)  # zipfile would block on a FIFO named .zip
        with zipfile.ZipFile(path) as zf:
            return "dataset.json" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _import(args: argparse.Namespace) -> int:
    sources: list[Path] = list(args.sources)
    manifest: Path | None = args.manifest
    for s in sources:
        try:
            os.stat(s)
        except OSError as exc:  # missing, a link loop, no permission: say which
            if exc.errno == errno.ENOENT and not os.path.islink(s):
                raise CliError(f"{printable(s)}: no such file or folder") from exc
            raise CliError(f"{printable(s)}: {describe_os_error(exc)}") from exc
    if manifest is not None and not manifest.is_file():
        raise CliError(f"{manifest}: manifest not found")
    if not sources and manifest is None:
        raise CliError("Name files, folders or zips to import (or --manifest FILE).")
    if args.max_pixels is not None:
        if args.max_pixels < 1:
            raise CliError(f"--max-pixels must be positive, not {args.max_pixels}.")
        set_pixel_limit(args.max_pixels)  # one limit for everything this process reads
    options = ImportOptions()
    progress = _Progress()
    with _open(args, create=True) as catalog:
        try:
            if args.dataset:
                try:
                    dataset = catalog.find_dataset(args.dataset)
                    dataset_id = dataset.id
                except CatalogError:
                    if not args.create:
                        raise CliError(
                            f"no dataset named {args.dataset!r}; add --create to make it"
                        ) from None
                    # Another process may be creating it this very moment: both get it.
                    dataset_id, _ = catalog.ensure_dataset(args.dataset, kind=args.kind)
                report = import_paths(
                    catalog,
                    dataset_id,
                    sources,
                    manifest=manifest,
                    options=options,
                    progress=progress,
                )
            elif manifest is not None or (
                len(sources) == 1 and sources[0].suffix.lower() in (".csv", ".json")
            ):
                report = import_manifest(
                    catalog, manifest or sources[0], options=options, progress=progress
                )
            elif len(sources) == 1 and _is_dataset_archive(sources[0]):
                report = import_dataset_archive(
                    catalog, sources[0], options=options, progress=progress
                )
            else:
                raise CliError(
                    "Say which dataset to import into (--dataset NAME, with --create to make "
                    "it), or give a manifest with a dataset column, or a zip made by "
                    "`library export`."
                )
        except (CatalogError, ManifestError) as exc:
            raise CliError(str(exc)) from exc
        finally:
            progress.close()
    _print_report(report, args.json)
    # Success unless a file failed: files already in the dataset are no failure.
    return 1 if report.failures else 0


def _print_report(report: ImportReport, as_json: bool) -> None:
    if as_json:
        data = {
            "imported": len(report.imported),
            "skipped": [
                {"file": s.source, "reason": s.reason, "kind": s.kind} for s in report.skipped
            ],
            "already_present": len(report.duplicates),
            "failed": len(report.failures),
            "repaired_first": report.tidied,
            "near_duplicates": [
                {"file": f.source, "image_id": f.image_id, "looks_like": f.near_duplicate_of}
                for f in report.near_duplicates
            ],
            "datasets_created": report.datasets_created,
            "cancelled": report.cancelled,
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(report.to_text())


def _list(args: argparse.Namespace) -> int:
    with _open(args) as catalog:
        if args.dataset:
            try:
                dataset = catalog.find_dataset(args.dataset)
            except CatalogError as exc:
                raise CliError(str(exc)) from exc
            images = catalog.list_images(dataset.id)
            if args.json:
                rows = [
                    {
                        **img.fields(),
                        "id": img.id,
                        "sha256": img.sha256,
                        "width": img.width,
                        "height": img.height,
                        "near_duplicate_of": img.near_duplicate_of,
                    }
                    for img in images
                ]
                print(json.dumps(rows, indent=2, ensure_ascii=False))
                return 0
            print(
                f"{dataset.name} ({dataset.kind}, {dataset.tradition or 'no tradition'}): "
                f"{len(images)} images"
            )
            for img in images:
                flag = f"  [looks like #{img.near_duplicate_of}]" if img.near_duplicate_of else ""
                print(
                    f"  #{img.id:<5} {img.width}x{img.height}  {img.title}"
                    f"{' - ' + img.artist if img.artist else ''}{flag}"
                )
            return 0
        datasets = catalog.list_datasets()
        if args.json:
            rows = [
                {
                    "id": d.id,
                    "name": d.name,
                    "kind": d.kind,
                    "tradition": d.tradition,
                    "region": d.region,
                    "era": d.era,
                    "images": d.image_count,
                    "licenses": d.licenses,
                }
                for d in datasets
            ]
            print(json.dumps(rows, indent=2, ensure_ascii=False))
            return 0
        if not datasets:
            print(f"no datasets in {catalog.workspace} (`library create NAME` makes one)")
        for d in datasets:
            print(f"{d.id:>4}  {d.name:<28} {d.kind:<8} {d.image_count:>5} images  {d.tradition}")
    return 0


def _export(args: argparse.Namespace) -> int:
    with _open(args) as catalog:
        try:
            dataset = catalog.find_dataset(args.dataset)
            path = export_dataset(catalog, dataset.id, args.out)
        except (CatalogError, WriteError) as exc:
            raise CliError(str(exc)) from exc
        except OSError as exc:  # reading a stored original
            raise CliError(f"{args.out}: not exported ({describe_os_error(exc)})") from exc
    print(f"exported {dataset.name!r} ({dataset.image_count} images) to {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    with _open(args) as catalog:
        # What an interrupted import leaves (orphans, temp files) is repaired on open.
        tidied = catalog.tidy()
        report = catalog.check(repair=args.repair)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "repaired": report.repaired,
                    "orphans": report.orphans,
                    "missing": report.missing,
                    "mismatched": report.mismatched,
                    "leftovers": report.leftovers,
                    "removed_rows": report.removed_rows,
                    "repaired_on_open": {
                        "orphans": tidied.orphans_removed,
                        "leftovers": tidied.leftovers_removed,
                        "orphans_kept": tidied.orphans_kept,
                    },
                },
                indent=2,
            )
        )
    else:
        if not tidied.nothing_done:
            print(f"repaired on open: {tidied.summary()}")
        print(report.summary())
        for label, items in (
            ("orphan", report.orphans),
            ("missing", report.missing),
            ("hash mismatch", report.mismatched),
            ("leftover", report.leftovers),
        ):
            for item in items:
                print(f"  {label}: {item}")
        if not report.ok and not report.repaired:
            print("run `ganstyle-cli library check --repair` to fix", file=sys.stderr)
    return 0 if report.ok or report.repaired else 1
