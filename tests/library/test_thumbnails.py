"""Thumbnails: made on demand, cached on disk, upright."""

from __future__ import annotations

import io

from PIL import Image

from ganstyle_desktop.library import ensure_thumbnail, import_paths, thumbnail_path


def test_thumbnail_is_cached_upright_and_bounded(catalog, tmp_path) -> None:
    im = Image.new("RGB", (120, 60), (250, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 8
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    (tmp_path / "r.jpg").write_bytes(buf.getvalue())
    did = catalog.create_dataset("d")
    record = catalog.get_image(
        import_paths(catalog, did, [tmp_path / "r.jpg"]).imported[0].image_id
    )
    path = ensure_thumbnail(catalog.workspace, record.sha256, 32)
    assert path == thumbnail_path(catalog.workspace, record.sha256, 32)
    assert path.name == f"{record.sha256}_32.jpg" and path.parent.name == "thumbs"
    with Image.open(path) as thumb:
        assert thumb.size == (16, 32)  # upright: the 120x60 original rotated a quarter turn
    mtime = path.stat().st_mtime_ns
    assert ensure_thumbnail(catalog.workspace, record.sha256, 32).stat().st_mtime_ns == mtime
    assert catalog.check().ok  # thumbnails are not objects
