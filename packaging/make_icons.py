"""Render the app icon from its one SVG source into every size the platforms want.

    python packaging/make_icons.py            # writes resources/icons/
    python packaging/make_icons.py --out DIR  # somewhere else

Writes ganstyle-<N>.png for N in SIZES, ganstyle.ico (Windows), ganstyle.icns (macOS) and a
copy of ganstyle.svg (the app's window icon on Linux and the hicolor "scalable" icon). QtSvg
rasterises (the same renderer the app uses), Pillow packs ICO and ICNS. Run it after editing
packaging/icons/ganstyle.svg and commit the results: the build does not regenerate them.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
SVG_SOURCE = HERE / "icons" / "ganstyle.svg"
DEFAULT_OUT = HERE.parent / "resources" / "icons"

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# Pillow's ICNS writer stores these; 1024 is the Retina 512@2x slot.
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)


def png_name(size: int) -> str:
    return f"ganstyle-{size}.png"


def render_svg(svg_path: Path, size: int) -> Image.Image:
    """Rasterise ``svg_path`` to a ``size`` x ``size`` RGBA image with QtSvg."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    # QSvgRenderer needs a Gui application for fonts and painting; reuse one if it exists.
    if QGuiApplication.instance() is None:
        _keep_alive.append(QGuiApplication([sys.argv[0] if sys.argv else "make_icons"]))
    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        raise ValueError(f"{svg_path}: not a valid SVG for QtSvg")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    data = bytes(rgba.constBits())
    return Image.frombuffer(
        "RGBA", (size, size), data, "raw", "RGBA", rgba.bytesPerLine(), 1
    ).copy()


_keep_alive: list[object] = []


def _write_atomic(target: Path, data: bytes) -> None:
    # A half-written icon would be committed or bundled silently; replace in one step.
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; icons are ordinary readable files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def make_icons(svg_path: Path = SVG_SOURCE, out_dir: Path = DEFAULT_OUT) -> list[Path]:
    """Write every icon file into ``out_dir``; return the paths written."""
    rendered = {size: render_svg(svg_path, size) for size in sorted({*SIZES, *ICNS_SIZES})}
    written: list[Path] = []
    for size in SIZES:
        target = out_dir / png_name(size)
        _write_atomic(target, _encode(rendered[size], "PNG", optimize=True))
        written.append(target)

    ico = out_dir / "ganstyle.ico"
    largest_ico = rendered[max(ICO_SIZES)]
    _write_atomic(
        ico,
        _encode(
            largest_ico,
            "ICO",
            sizes=[(s, s) for s in ICO_SIZES],
            append_images=[rendered[s] for s in ICO_SIZES if s != max(ICO_SIZES)],
        ),
    )
    written.append(ico)

    icns = out_dir / "ganstyle.icns"
    largest_icns = rendered[max(ICNS_SIZES)]
    _write_atomic(
        icns,
        _encode(
            largest_icns,
            "ICNS",
            append_images=[rendered[s] for s in ICNS_SIZES if s != max(ICNS_SIZES)],
        ),
    )
    written.append(icns)

    svg_copy = out_dir / "ganstyle.svg"
    _write_atomic(svg_copy, svg_path.read_bytes())
    written.append(svg_copy)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SVG_SOURCE, help="SVG source")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    for path in make_icons(args.svg, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
