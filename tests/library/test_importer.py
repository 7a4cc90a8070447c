"""The importer: folders, manifests, duplicates, every kind of bad input, archives, cancel."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstyle_desktop.engine.control import JobControl
from ganstyle_desktop.library import Catalog, ImportOptions, import_paths


def _png_with_header_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR claims ``width`` x ``height`` (a decompression bomb)."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (9, 99, 199)).save(buf, "PNG")
    data = buf.getvalue()
    ihdr_start = 8 + 8  # signature, then length + type of the IHDR chunk
    ihdr = bytearray(data[ihdr_start : ihdr_start + 13])
    ihdr[0:8] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)) & 0xFFFFFFFF)
    return data[:ihdr_start] + bytes(ihdr) + crc + data[ihdr_start + 17 :]


def _exif_rotated_jpeg(orientation: int = 6) -> bytes:
    im = Image.new("RGB", (40, 20), (200, 30, 30))
    im.paste((30, 30, 200), (0, 0, 10, 20))  # a blue band on the left to tell rotations apart
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, quality=95)
    return buf.getvalue()


def test_imports_a_folder_recursively_with_metadata_defaults(
    image_bytes, catalog, make_image
) -> None:
    make_image("a.jpg", 1)
    make_image("sub/deeper/b.png", 2)
    (make_image("c.jpg", 3).parent / "notes.txt").write_text("ignored in folders")
    did = catalog.create_dataset("d")
    seen = []
    report = import_paths(
        catalog, did, [make_image("a.jpg", 1).parent], progress=lambda *a: seen.append(a)
    )
    assert report.summary() == "3 imported, 0 skipped"
    assert seen[0] == (0, 3, "") and seen[-1][:2] == (3, 3)
    images = catalog.list_images(did)
    assert sorted(i.title for i in images) == ["a", "b", "c"]
    png = next(i for i in images if i.original_name == "b.png")
    assert (png.format, png.width, png.height) == ("PNG", 48, 32)
    assert catalog.image_path(png).read_bytes() == image_bytes(2, fmt="PNG")


def test_exact_duplicates_are_skipped_and_near_duplicates_flagged(catalog, make_image) -> None:
    original = make_image("wave.jpg", 7, size=(96, 64))
    did = catalog.create_dataset("d")
    first = import_paths(catalog, did, [original])
    copy = original.parent / "copy" / "wave-copy.jpg"
    copy.parent.mkdir()
    copy.write_bytes(original.read_bytes())
    # the same picture resized and re-encoded: different bytes, same look
    Image.open(original).resize((80, 53)).save(original.parent / "wave-small.jpg", quality=70)
    make_image("other.jpg", 99, size=(96, 64))
    report = import_paths(
        catalog, did, [copy, original.parent / "wave-small.jpg", original.parent / "other.jpg"]
    )
    assert "exact duplicate of image #" in report.skipped_reason("wave-copy.jpg")
    near = report.near_duplicates
    assert [Path(f.source).name for f in near] == ["wave-small.jpg"]
    assert near[0].near_duplicate_of == first.imported[0].image_id
    other = catalog.get_image(report.imported[-1].image_id)
    assert other.near_duplicate_of is None
    # the same bytes may live in another dataset: it is one object in the store
    d2 = catalog.create_dataset("d2")
    assert len(import_paths(catalog, d2, [copy]).imported) == 1
    assert len(list(catalog.store.iter_objects())) == 3


def test_every_bad_input_gets_its_reason_and_every_good_file_is_imported(
    image_bytes, catalog: Catalog, tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    good = image_bytes(5, size=(64, 48))
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (folder / "truncated.png").write_bytes(image_bytes(6, size=(64, 48), fmt="PNG")[:120])
    (folder / "text.jpg").write_text("this is not a picture, it only has a .jpg name")
    (folder / "bomb.png").write_bytes(_png_with_header_size(15_000, 15_000))
    (folder / "huge-bomb.png").write_bytes(_png_with_header_size(40_000, 40_000))
    (folder / "dangling.jpg").symlink_to(folder / "does-not-exist.jpg")
    (folder / "readme.doc").write_bytes(b"x")
    Image.new("CMYK", (32, 24), (10, 200, 30, 0)).save(folder / "cmyk.jpg")
    Image.fromarray(np.arange(32 * 24, dtype=np.uint16).reshape(24, 32) * 80).save(
        folder / "sixteen.png"
    )
    pal = Image.new("P", (32, 24), 1)
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pal.save(folder / "palette.png", transparency=0)
    (folder / "rotated.jpg").write_bytes(_exif_rotated_jpeg(6))
    frames = [Image.new("RGB", (24, 24), (i * 80, 0, 0)) for i in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=50)
    for name, seed in (
        ("浮世絵.jpg", 11),
        ("山水画.jpg", 12),
        ("منمنمة.jpg", 13),
        ("🎨 палитра.jpg", 14),
    ):
        (folder / name).write_bytes(image_bytes(seed, size=(64, 48)))
    long_dir = folder / ("長い名前のフォルダ" * 8) / ("x" * 200) / ("y" * 200)
    long_dir.mkdir(parents=True)
    long_name = "とても長いファイル名" * 8 + ".jpg"
    (long_dir / long_name).write_bytes(image_bytes(15, size=(64, 48)))
    assert len(str(long_dir / long_name)) > 400
    unreadable = folder / "locked.jpg"
    unreadable.write_bytes(good)
    unreadable.chmod(0)
    can_lock = os.geteuid() != 0  # root reads anything

    did = catalog.create_dataset("bad inputs")
    report = import_paths(catalog, did, [folder])
    unreadable.chmod(0o644)

    reasons = {Path(s.source).name: s.reason for s in report.skipped}
    assert reasons.pop("zero.jpg") == "the file is empty (0 bytes)"
    assert "truncated" in reasons.pop("truncated.jpg")
    assert "truncated" in reasons.pop("truncated.png")
    assert "not an image" in reasons.pop("text.jpg")
    assert "decompression bomb" in reasons.pop("bomb.png")
    assert "15000x15000" in report.skipped_reason("/bomb.png")
    assert "decompression bomb" in reasons.pop("huge-bomb.png")  # over Pillow's own hard limit
    assert "a broken symbolic link" in reasons.pop("dangling.jpg")
    assert "not an image file type (.doc)" == reasons.pop("readme.doc")
    if can_lock:
        assert reasons.pop("locked.jpg") == "no permission to read it"
    assert reasons == {}, f"unexpected skips: {reasons}"

    imported = {Path(f.source).name: f for f in report.imported}
    expected = {
        "cmyk.jpg",
        "sixteen.png",
        "palette.png",
        "rotated.jpg",
        "animated.gif",
        "浮世絵.jpg",
        "山水画.jpg",
        "منمنمة.jpg",
        "🎨 палитра.jpg",
        long_name,
    }
    if not can_lock:
        expected.add("locked.jpg")
    assert set(imported) == expected
    assert "CMYK" in imported["cmyk.jpg"].notes[0]
    assert "bit depth" in imported["sixteen.png"].notes[0]
    assert "palette with transparency" in imported["palette.png"].notes[0]
    assert "animated (3 frames)" in imported["animated.gif"].notes[0]
    assert "orientation 6" in imported["rotated.jpg"].notes[0]
    names = {i.original_name for i in catalog.list_images(did)}
    assert {"浮世絵.jpg", "منمنمة.jpg", "🎨 палитра.jpg", long_name} <= names
    for record in catalog.list_images(did):  # every imported file reads back as RGB
        assert catalog.read_image(record).mode == "RGB"


def test_exif_rotated_original_is_kept_and_served_upright(catalog, tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    raw = _exif_rotated_jpeg(6)
    path.write_bytes(raw)
    did = catalog.create_dataset("d")
    image_id = import_paths(catalog, did, [path]).imported[0].image_id
    record = catalog.get_image(image_id)
    assert catalog.image_path(record).read_bytes() == raw  # untouched bytes
    assert (record.orientation, record.width, record.height) == (6, 20, 40)
    upright = catalog.read_image(record)
    assert upright.size == (20, 40)
    top = np.asarray(upright)[2, 10]
    assert top[2] > 150 and top[0] < 100  # the blue band, rotated to the top


def test_pixel_limit_is_configurable(catalog, make_image) -> None:
    path = make_image("big.jpg", 1, size=(64, 64))
    did = catalog.create_dataset("d")
    report = import_paths(catalog, did, [path], options=ImportOptions(max_pixels=1000))
    assert "over the limit of 1,000" in report.skipped[0].reason
    assert len(import_paths(catalog, did, [path]).imported) == 1


def test_manifest_csv_and_json_supply_metadata(catalog, make_image, tmp_path: Path) -> None:
    make_image("one.jpg", 1, folder="m")
    make_image("sub/two.jpg", 2, folder="m")
    (tmp_path / "m" / "manifest.csv").write_text(
        "path,title,artist,year,license,tags\n"
        'one.jpg,First,Ando Hiroshige,1833,Public domain,"rain, bridge"\n',
        encoding="utf-8",
    )
    (tmp_path / "meta.json").write_text(
        json.dumps({"images": [{"file": "m/sub/two.jpg", "title": "二", "license": "CC0"}]}),
        encoding="utf-8",
    )
    did = catalog.create_dataset("d")
    import_paths(
        catalog, did, [tmp_path / "m" / "one.jpg"], manifest=tmp_path / "m" / "manifest.csv"
    )
    import_paths(catalog, did, [tmp_path / "m"], manifest=tmp_path / "meta.json")
    by_name = {i.original_name: i for i in catalog.list_images(did)}
    assert by_name["one.jpg"].fields() == {
        "title": "First",
        "artist": "Ando Hiroshige",
        "year": "1833",
        "source": "",
        "license": "Public domain",
        "tags": ["bridge", "rain"],
    }
    assert (by_name["two.jpg"].title, by_name["two.jpg"].license) == ("二", "CC0")


def test_zip_archives_import_with_guards(image_bytes, catalog, tmp_path: Path) -> None:
    archive = tmp_path / "drop.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("art/ok.jpg", image_bytes(1))
        zf.writestr("art/名前.png", image_bytes(2, fmt="PNG"))
        zf.writestr("../escape.jpg", image_bytes(3))
        zf.writestr("/etc/abs.jpg", image_bytes(4))
        zf.writestr("bomb.jpg", b"\0" * (8 << 20), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("manifest.csv", "path,title\nart/ok.jpg,From the zip\n")
        zf.writestr("__MACOSX/art/._ok.jpg", b"resource fork")
    did = catalog.create_dataset("d")
    report = import_paths(catalog, did, [archive])
    assert len(report.imported) == 2
    reasons = {s.source: s.reason for s in report.skipped}
    assert "path traversal" in reasons["drop.zip:../escape.jpg"]
    assert "path traversal" in reasons["drop.zip:/etc/abs.jpg"]
    assert "zip bomb" in reasons["drop.zip:bomb.jpg"]
    assert len(reasons) == 3
    titles = {i.original_name: i.title for i in catalog.list_images(did)}
    assert titles == {"ok.jpg": "From the zip", "名前.png": "名前"}
    assert not (tmp_path / "escape.jpg").exists()


def test_a_corrupt_zip_is_one_reason(catalog, tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    did = catalog.create_dataset("d")
    report = import_paths(catalog, did, [tmp_path / "broken.zip"])
    assert "not a readable zip archive" in report.skipped[0].reason


def test_cancel_stops_between_files_and_keeps_what_was_done(catalog, make_image) -> None:
    for i in range(6):
        make_image(f"{i}.jpg", i)
    control = JobControl()

    def progress(done: int, total: int, name: str) -> None:
        if done == 2:
            control.cancel()

    did = catalog.create_dataset("d")
    folder = make_image("0.jpg", 0).parent
    report = import_paths(catalog, did, [folder], progress=progress, control=control)
    assert report.cancelled and len(report.imported) == 2
    assert catalog.get_dataset(did).image_count == 2
    assert catalog.check().ok


def test_missing_source_is_reported_not_raised(catalog, tmp_path: Path) -> None:
    did = catalog.create_dataset("d")
    report = import_paths(catalog, did, [tmp_path / "nope"])
    assert report.skipped[0].reason == "no such file or folder"


@pytest.mark.parametrize("bad", ["../x.jpg", "C:\\x.jpg"])
def test_unsafe_member_names(bad: str) -> None:
    from ganstyle_desktop.library.sources import _unsafe_member_name

    assert _unsafe_member_name(bad)
    assert _unsafe_member_name("fine/name.jpg") == ""
