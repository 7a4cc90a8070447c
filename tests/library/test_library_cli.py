"""``ganstyle-cli library``: create, import, list, export, check, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from ganstyle_desktop.cli import main
from ganstyle_desktop.library import Catalog


def test_library_commands_end_to_end(tmp_path: Path, make_image, capsys) -> None:
    ws = str(tmp_path / "ws")
    make_image("a.jpg", 1)
    make_image("b.png", 2)
    (tmp_path / "in" / "empty.jpg").write_bytes(b"")
    assert main(["library", "--workspace", ws, "create", "ink", "--tradition", "China"]) == 0
    assert (
        main(
            [
                "library",
                "import",
                "--workspace",
                ws,
                str(tmp_path / "in"),
                "--dataset",
                "ink",
                "--json",
            ]
        )
        == 1  # one file failed: the empty one (the others are imported)
    )
    report = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert report["imported"] == 2 and report["failed"] == 1
    assert report["skipped"] == [
        {
            "file": str(tmp_path / "in" / "empty.jpg"),
            "reason": "the file is empty (0 bytes)",
            "kind": "failed",
        }
    ]
    assert main(["library", "list", "--workspace", ws, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["name"], row["tradition"], row["images"]) == ("ink", "China", 2)
    out = tmp_path / "ink.zip"
    assert main(["library", "export", "--workspace", ws, "ink", str(out)]) == 0
    ws2 = str(tmp_path / "ws2")
    assert main(["library", "import", "--workspace", ws2, str(out)]) == 0
    assert main(["library", "list", "--workspace", ws2, "ink"]) == 0
    assert "ink (style, China): 2 images" in capsys.readouterr().out
    assert main(["library", "check", "--workspace", ws2]) == 0

    # damage an interrupted import leaves (an orphan object) is repaired on open and said
    # so; damage that loses rows (a changed object) is found (exit 1) until --repair
    orphan = Path(ws2) / "objects" / "ab" / ("c" * 62)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"x")
    capsys.readouterr()
    assert main(["library", "check", "--workspace", ws2]) == 0
    assert "repaired on open: removed 1 orphan object" in capsys.readouterr().out
    assert not orphan.exists()
    with Catalog.open(ws2) as catalog:
        catalog.image_path(catalog.list_images()[0]).write_bytes(b"bit rot")
    assert main(["library", "check", "--workspace", ws2]) == 1
    assert "1 object(s) whose bytes no longer match" in capsys.readouterr().out
    assert main(["library", "check", "--workspace", ws2, "--repair"]) == 0


def test_clear_errors(tmp_path: Path, make_image, capsys) -> None:
    ws = str(tmp_path / "ws")
    make_image("a.jpg", 1)
    assert main(["library", "list", "--workspace", ws]) == 2
    assert "no catalog here" in capsys.readouterr().err
    assert main(["library", "import", "--workspace", ws, str(tmp_path / "in")]) == 2
    assert "--dataset" in capsys.readouterr().err
    assert (
        main(["library", "import", "--workspace", ws, str(tmp_path / "in"), "--dataset", "nope"])
        == 2
    )
    assert "--create" in capsys.readouterr().err
    assert main(["library", "import", "--workspace", ws, str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert (
        main(
            [
                "library",
                "import",
                "--workspace",
                ws,
                str(tmp_path / "in"),
                "--dataset",
                "new",
                "--create",
            ]
        )
        == 0
    )
    assert main(["library", "export", "--workspace", ws, "absent", str(tmp_path / "x.zip")]) == 2


def test_import_of_a_manifest_makes_one_dataset_per_value(tmp_path: Path, make_image) -> None:
    make_image("styles/ink/a.jpg", 1, folder="data")
    make_image("styles/wave/b.jpg", 2, folder="data")
    make_image("content/c.jpg", 3, folder="data")
    manifest = tmp_path / "data" / "MANIFEST.csv"
    manifest.write_text(
        "path,style_or_content,culture_or_region,title_if_known,artist_if_known,source_repo,"
        "source_path,license_note\n"
        "styles/ink/a.jpg,ink,China,Peaks,Fan Kuan,repo/x,a.jpg,PD\n"
        "styles/wave/b.jpg,wave,Japan,Wave,Hokusai,repo/y,b.jpg,CC BY\n"
        "content/c.jpg,content,photo,,,repo/z,c.jpg,CC0\n"
        "styles/wave/missing.jpg,wave,Japan,,,,,\n",
        encoding="utf-8",
    )
    ws = str(tmp_path / "ws")
    # exit 1: the file the manifest lists but lacks failed (the others are imported)
    assert main(["library", "import", "--workspace", ws, str(manifest)]) == 1
    with Catalog.open(ws) as catalog:
        datasets = {d.name: d for d in catalog.list_datasets()}
        assert {
            n: (d.kind, d.tradition, d.image_count, d.licenses) for n, d in datasets.items()
        } == {
            "ink": ("style", "China", 1, ["PD"]),
            "wave": ("style", "Japan", 1, ["CC BY"]),
            "content": ("content", "photo", 1, ["CC0"]),
        }
        (wave,) = catalog.list_images(datasets["wave"].id)
        assert (wave.title, wave.artist, wave.source) == ("Wave", "Hokusai", "repo/y:b.jpg")
