"""Datasets that stay clean: a folder's manifest gives one dataset per tradition (photos a
content dataset), style and content kinds stay apart, near duplicates stay out of
training, several datasets train (or extend) a multi-style model."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PIL import Image

from ganstyle_desktop.engine.config import TrainConfig
from ganstyle_desktop.library import (
    CatalogError,
    content_datasets,
    import_manifest,
    import_paths,
    style_datasets,
    training_source,
    training_sources,
)
from ganstyle_desktop.library.importer import find_folder_manifest, plan_manifest
from ganstyle_desktop.library.licenses import NON_COMMERCIAL, TESTS_ONLY, restriction_of

ROWS = [
    # path, style_or_content, culture_or_region, license_note
    ("styles/ukiyo/u1.jpg", "ukiyo", "Japan, Edo", "public domain"),
    ("styles/ukiyo/u2.jpg", "ukiyo", "Japan, Edo", "public domain"),
    ("styles/persian/p1.jpg", "persian", "Iran", "CC-BY-NC-SA-ND -> NON-COMMERCIAL"),
    ("styles/persian/p2.jpg", "persian", "Iran", "CC-BY-NC-SA-ND -> NON-COMMERCIAL"),
    ("styles/persian/gone.jpg", "persian", "Iran", "CC-BY-NC-SA-ND -> NON-COMMERCIAL"),
    ("content/c1.jpg", "content", "photo (Kodak test suite)", "unrestricted"),
    ("content/c2.jpg", "content", "photo (cat)", "CC0"),
]


@pytest.fixture
def manifest_folder(tmp_path: Path, image_bytes) -> Path:
    folder = tmp_path / "collection"
    for i, (path, *_rest) in enumerate(ROWS):
        if "gone" in path:
            continue  # listed, not there
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(image_bytes(i * 7, size=(48, 40)))
    with open(folder / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "style_or_content", "culture_or_region", "license_note"])
        writer.writerows(ROWS)
    return folder


def test_a_folder_manifest_is_found_and_planned_one_dataset_per_tradition(
    catalog, manifest_folder
) -> None:
    manifest = find_folder_manifest(manifest_folder)
    assert manifest == manifest_folder / "MANIFEST.csv"
    assert find_folder_manifest(manifest_folder / "styles") is None
    plan = {p.slug: p for p in plan_manifest(catalog, manifest)}
    assert list(plan) == ["ukiyo", "persian", "content"]
    assert (plan["ukiyo"].kind, plan["ukiyo"].files, plan["ukiyo"].missing) == ("style", 2, 0)
    assert (plan["persian"].files, plan["persian"].missing) == (2, 1)
    assert plan["persian"].restriction == NON_COMMERCIAL and plan["ukiyo"].restriction == ""
    assert plan["content"].kind == "content"  # the photos: a content dataset
    assert plan["ukiyo"].tradition == "Japan, Edo"
    assert not any(p.exists for p in plan.values())


def test_importing_a_manifest_can_take_some_datasets_under_new_names(
    catalog, manifest_folder
) -> None:
    report = import_manifest(
        catalog,
        manifest_folder / "MANIFEST.csv",
        only={"ukiyo", "content"},
        names={"content": "Holiday photos"},
    )
    datasets = {d.name: d for d in catalog.list_datasets()}
    assert set(datasets) == {"ukiyo", "Holiday photos"}  # persian was left out
    assert datasets["Holiday photos"].kind == "content" and datasets["ukiyo"].kind == "style"
    assert datasets["ukiyo"].image_count == 2 and datasets["Holiday photos"].image_count == 2
    assert len(report.imported) == 4 and report.skipped == []
    assert [d.name for d in style_datasets(catalog)] == ["ukiyo"]
    assert [d.name for d in content_datasets(catalog)] == ["Holiday photos"]
    # A plan made now says where each would go.
    plan = {p.slug: p for p in plan_manifest(catalog, manifest_folder / "MANIFEST.csv")}
    assert plan["ukiyo"].exists and not plan["persian"].exists


def test_licence_notes_are_read_for_their_restriction() -> None:
    assert restriction_of(["Artwork public domain; CC BY 3.0"]) == ""
    assert restriction_of("content CC-BY-NC-SA-ND unless stated otherwise") == NON_COMMERCIAL
    assert restriction_of(["x", "a non-commercial licence"]) == NON_COMMERCIAL
    assert restriction_of(["TESTS AND BENCHMARKS ONLY - do not ship models"]) == TESTS_ONLY
    assert restriction_of([]) == ""


def test_the_shared_manifest_plans_every_tradition_and_a_content_dataset(
    catalog, shared_data
) -> None:
    plan = {p.slug: p for p in plan_manifest(catalog, shared_data / "MANIFEST.csv")}
    assert plan["content"].kind == "content"
    assert all(p.kind == "style" for slug, p in plan.items() if slug != "content")
    assert plan["persian-miniature"].restriction == NON_COMMERCIAL
    assert plan["indian-mughal-miniature"].restriction == NON_COMMERCIAL
    assert plan["japanese-ukiyo-e-wikiart"].restriction == TESTS_ONLY
    assert plan["japanese-ukiyo-e"].restriction == ""
    assert sum(p.files for p in plan.values()) + sum(p.missing for p in plan.values()) == 1034


# -- near duplicates ------------------------------------------------------------------------


def _with_a_near_duplicate(catalog, make_image) -> int:
    original = make_image("wave.jpg", 7, size=(96, 64))
    make_image("other.jpg", 99, size=(96, 64))
    did = catalog.create_dataset("prints")
    import_paths(catalog, did, [original.parent])
    Image.open(original).resize((80, 53)).save(original.parent / "wave-small.jpg", quality=70)
    report = import_paths(catalog, did, [original.parent / "wave-small.jpg"])
    assert [Path(f.source).name for f in report.near_duplicates] == ["wave-small.jpg"]
    return did


def test_near_duplicates_are_reported_by_file_name(catalog, make_image) -> None:
    original = make_image("wave.jpg", 7, size=(96, 64))
    did = catalog.create_dataset("prints")
    import_paths(catalog, did, [original])
    Image.open(original).resize((80, 53)).save(original.parent / "wave-small.jpg", quality=70)
    report = import_paths(catalog, did, [original.parent / "wave-small.jpg"])
    (flagged,) = report.near_duplicates
    assert flagged.near_duplicate_name == "wave.jpg"
    assert "looks like wave.jpg" in report.to_text() and "#" not in report.to_text()


def test_near_duplicates_are_left_out_of_training(catalog, make_image) -> None:
    did = _with_a_near_duplicate(catalog, make_image)
    source, _pipeline = training_source(catalog, did)
    names = sorted(p["original_name"] for p in source.provenance)
    assert names == ["other.jpg", "wave.jpg"]  # the resized copy is not trained on
    assert len(source.paths) == 2
    sources = training_sources(catalog, [did])
    assert sources.excluded == {"prints": ["wave-small.jpg"]}


# -- several datasets, kinds, extending -----------------------------------------------------------


def _dataset(catalog, make_image, name: str, kind: str = "style", seed: int = 0) -> int:
    did = catalog.create_dataset(name, kind=kind, tradition=name)
    files = [make_image(f"{name}-{i}.jpg", seed + 31 * i, folder=name) for i in range(2)]
    import_paths(catalog, did, files)
    return did


def test_several_style_datasets_make_a_multi_style_run(catalog, make_image) -> None:
    ukiyo = _dataset(catalog, make_image, "Ukiyo-e", seed=1)
    ink = _dataset(catalog, make_image, "Ink wash", seed=2)
    photos = _dataset(catalog, make_image, "Photos", kind="content", seed=3)
    sources = training_sources(catalog, [ukiyo, ink], [photos])
    assert [s.name for s in sources.styles] == ["ukiyo-e", "ink-wash"]
    assert [s.display_name for s in sources.styles] == ["Ukiyo-e", "Ink wash"]
    assert sources.method == "multistyle" and len(sources.content_paths) == 2
    config = sources.apply(TrainConfig(styles=[], content_paths=[], out_dir="run"))
    config.validate()
    assert config.method == "multistyle" and len(config.styles) == 2
    single = training_sources(catalog, [ukiyo], [photos])
    assert single.method == ""  # one tradition: the caller's method stands
    assert single.apply(TrainConfig([], [], "r", method="cut")).method == "cut"


def test_style_and_content_kinds_are_not_mixed_up(catalog, make_image) -> None:
    ukiyo = _dataset(catalog, make_image, "Ukiyo-e", seed=1)
    photos = _dataset(catalog, make_image, "Photos", kind="content", seed=3)
    with pytest.raises(CatalogError, match="Photos.*photos"):
        training_sources(catalog, [photos])
    with pytest.raises(CatalogError, match="Ukiyo-e.*artworks"):
        training_sources(catalog, [ukiyo], [ukiyo])
    with pytest.raises(CatalogError, match="at least one style"):
        training_sources(catalog, [])


def test_two_datasets_of_one_tradition_name_are_refused(catalog, make_image) -> None:
    a = _dataset(catalog, make_image, "Ink wash", seed=1)
    b = _dataset(catalog, make_image, "ink  wash", seed=2)
    with pytest.raises(CatalogError, match="same tradition"):
        training_sources(catalog, [a, b])


def test_a_tradition_is_added_to_a_multi_style_model(catalog, make_image, tmp_path) -> None:
    import torch

    from ganstyle_desktop.engine.modelfile import ModelCard, save_model
    from ganstyle_desktop.engine.multistyle_nets import MultiStyleGenerator
    from ganstyle_desktop.engine.presets import get_preset

    torch.manual_seed(0)
    generator = MultiStyleGenerator(get_preset("tiny").generator, ["ukiyo-e"])
    card = ModelCard(
        name="multi",
        kind="multistyle",
        method="multistyle",
        preset="tiny",
        traditions=[{"slug": "ukiyo-e", "name": "Ukiyo-e"}],
        architecture=generator.architecture(),
    )
    multi = save_model(tmp_path / "multi.safetensors", generator, card)
    ukiyo = _dataset(catalog, make_image, "Ukiyo-e", seed=1)
    ink = _dataset(catalog, make_image, "Ink wash", seed=2)
    sources = training_sources(catalog, [ink], extend_model=multi)
    assert sources.method == "multistyle" and sources.init_model == str(multi.resolve())
    assert sources.known_traditions == ["ukiyo-e"]
    config = sources.apply(TrainConfig([], ["photos"], "run"))
    config.validate()
    assert config.init_model == str(multi.resolve())
    with pytest.raises(CatalogError, match="already knows Ukiyo-e"):
        training_sources(catalog, [ukiyo, ink], extend_model=multi)
    single = tmp_path / "single.safetensors"
    from ganstyle_desktop.engine.nets import ResnetGenerator

    save_model(single, ResnetGenerator(get_preset("tiny").generator), ModelCard(name="one"))
    with pytest.raises(CatalogError, match="single-style"):
        training_sources(catalog, [ink], extend_model=single)


def test_a_kept_near_duplicate_is_trained_on_and_the_decision_undoes(catalog, make_image) -> None:
    did = _with_a_near_duplicate(catalog, make_image)
    ((copy, original),) = catalog.near_duplicate_pairs(did)
    assert (copy.original_name, original.original_name) == ("wave-small.jpg", "wave.jpg")
    old = catalog.set_duplicate_kept([copy.id], True)
    assert old == {copy.id: False} and catalog.get_image(copy.id).duplicate_kept
    source, _ = training_source(catalog, did)
    assert "wave-small.jpg" in {p["original_name"] for p in source.provenance}
    assert training_sources(catalog, [did]).excluded == {}
    catalog.restore_duplicate_kept(old)
    assert not catalog.get_image(copy.id).duplicate_kept
    assert len(training_source(catalog, did)[0].paths) == 2


def test_a_near_duplicate_whose_look_alike_is_trashed_is_trained_on(catalog, make_image) -> None:
    did = _with_a_near_duplicate(catalog, make_image)
    ((copy, original),) = catalog.near_duplicate_pairs(did)
    catalog.delete_images([original.id])
    assert catalog.near_duplicate_pairs(did) == []
    names = {p["original_name"] for p in training_source(catalog, did)[0].provenance}
    assert names == {"wave-small.jpg", "other.jpg"}


def test_the_kept_decision_survives_the_migration_from_version_3(tmp_path: Path) -> None:
    import sqlite3

    from ganstyle_desktop.library import Catalog
    from ganstyle_desktop.library.schema import SCHEMA_VERSION

    ws = tmp_path / "ws"
    with Catalog.open(ws) as catalog:
        did = catalog.create_dataset("d")
        sha = catalog.store.put_bytes(b"not an image, only bytes", durable=True)
        first = catalog.add_image(did, sha, 10, 10, original_name="a.jpg")
        sha2 = catalog.store.put_bytes(b"other bytes", durable=True)
        catalog.add_image(did, sha2, 10, 10, original_name="b.jpg", near_duplicate_of=first)
    # Take it back to version 3 as it shipped: no duplicate_kept column.
    conn = sqlite3.connect(ws / "catalog.sqlite")
    conn.execute("ALTER TABLE images DROP COLUMN duplicate_kept")
    conn.execute("UPDATE schema_version SET version = 3")
    conn.commit()
    conn.close()
    with Catalog.open(ws) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION == 4
        flagged = [i for i in catalog.list_images(did) if i.near_duplicate_of is not None]
        assert [(i.original_name, i.duplicate_kept) for i in flagged] == [("b.jpg", False)]
