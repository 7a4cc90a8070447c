"""The packaging files stay valid without building a bundle (that is slow: packaging/build.sh).

The spec names entry scripts that exist and drops what it should; the entry points resolve to
callables (the GUI's without importing torch); the icons exist in every size and match their SVG
source; the .desktop entry, the AppStream metadata and the changelog agree with the version.
"""

from __future__ import annotations

import ast
import configparser
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image, ImageChops, ImageStat

import ganstyle_desktop

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "ganstyle.spec"
ICONS = ROOT / "resources" / "icons"
DESKTOP = PACKAGING / "linux" / "io.github.ganstyle.GANStyle.desktop"
METAINFO = PACKAGING / "linux" / "io.github.ganstyle.GANStyle.metainfo.xml"
VERSION = ganstyle_desktop.__version__


def _load_script(path: Path, name: str) -> ModuleType:
    # packaging/ is no package (its name would shadow the `packaging` distribution).
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _spec_literal(tree: ast.Module, name: str) -> object:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"ganstyle.spec defines no literal {name}")


def _spec_namespace(tree: ast.Module, root: Path) -> dict[str, object]:
    """The spec's literal constants and its helper functions, run without PyInstaller."""
    wanted: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            try:
                ast.literal_eval(node.value)
            except ValueError:
                continue
            wanted.append(node)
        elif isinstance(node, ast.FunctionDef) and node.name in (
            "_dest",
            "_unwanted",
            "_tree_datas",
        ):
            wanted.append(node)
    namespace: dict[str, object] = {"os": os, "sys": sys, "Path": Path, "ROOT": root}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(SPEC), "exec"), namespace)
    return namespace


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _entry_points() -> dict[str, str]:
    project = _pyproject()["project"]
    return {**project.get("scripts", {}), **project.get("gui-scripts", {})}


# -- the spec ---------------------------------------------------------------------------------


def test_spec_names_entry_scripts_that_call_the_project_entry_points(spec_tree: ast.Module) -> None:
    scripts = _spec_literal(spec_tree, "ENTRY_SCRIPTS")
    entry_points = _entry_points()
    assert set(scripts) == set(entry_points) == {"ganstyle", "ganstyle-cli"}
    for exe, script in scripts.items():
        path = PACKAGING / script
        assert path.is_file(), f"ganstyle.spec names {script}, which does not exist"
        module, func = entry_points[exe].split(":")
        imports = [
            (node.module, alias.name)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        ]
        assert (module, func) in imports, f"{script} must call {entry_points[exe]}"


def test_spec_ships_resources_and_models_where_paths_looks(spec_tree: ast.Module) -> None:
    source = SPEC.read_text(encoding="utf-8")
    assert '_tree_datas("resources") + _tree_datas("models")' in source
    assert _spec_literal(spec_tree, "APP_ID") == "io.github.ganstyle.GANStyle"


def test_spec_tree_datas_keep_layout_and_leave_out_scripts(
    spec_tree: ast.Module, tmp_path: Path
) -> None:
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    (tmp_path / "resources" / "icons" / "ganstyle-16.png").write_bytes(b"png")
    (tmp_path / "resources" / "make_sample_photo.py").write_text("print()")
    (tmp_path / "resources" / "__pycache__").mkdir()
    (tmp_path / "resources" / "__pycache__" / "x.pyc").write_bytes(b"")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "starter.safetensors").write_bytes(b"st")
    namespace = _spec_namespace(spec_tree, tmp_path)
    tree_datas = namespace["_tree_datas"]
    assert tree_datas("resources") == [
        (str(tmp_path / "resources" / "icons" / "ganstyle-16.png"), str(Path("resources/icons")))
    ]
    assert tree_datas("models") == [(str(tmp_path / "models" / "starter.safetensors"), "models")]
    assert tree_datas("missing") == []


@pytest.mark.parametrize(
    ("dest", "dropped"),
    [
        ("torch/lib/libtorch_cpu.so", False),
        ("torch/lib/libtorchbind_test.so", True),
        ("torch/test/test_api", True),
        ("torch/include/ATen/ATen.h", True),
        ("torch/bin/test_jit", True),
        ("torch/bin/torch_shm_manager", False),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", False),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
        ("PySide6/Qt/plugins/platforms/qwindows.dll", False),
        ("PySide6/Qt/plugins/platforms/libqcocoa.dylib", False),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", True),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", False),
        ("PySide6/Qt/translations/qtbase_de.qm", True),
        ("resources/icons/ganstyle-256.png", False),
        ("models/starter.safetensors", False),
    ],
)
def test_spec_drops_only_what_the_app_never_needs(
    spec_tree: ast.Module, dest: str, dropped: bool
) -> None:
    unwanted = _spec_namespace(spec_tree, ROOT)["_unwanted"]
    assert unwanted((dest, "/src/" + dest, "BINARY")) is dropped


def _qt_modules_imported_by_package() -> set[str]:
    used: set[str] = set()
    for path in (ROOT / "ganstyle_desktop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "PySide6" and len(parts) > 1 and parts[1].startswith("Qt"):
                    used.add(parts[1])
    return used


def test_every_qt_module_the_package_imports_is_bundled(spec_tree: ast.Module) -> None:
    keep = set(_spec_literal(spec_tree, "QT_MODULES_KEEP"))
    exclude = set(_spec_literal(spec_tree, "QT_MODULES_EXCLUDE"))
    assert not keep & exclude
    used = _qt_modules_imported_by_package()
    assert used, "the package imports no Qt module at all?"
    missing = used - keep
    assert not missing, f"add {sorted(missing)} to QT_MODULES_KEEP in packaging/ganstyle.spec"


# -- entry points -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ganstyle", "ganstyle-cli"])
def test_entry_points_resolve_to_callables(name: str) -> None:
    module_name, func = _entry_points()[name].split(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, func))


def test_importing_the_gui_entry_point_does_not_import_torch() -> None:
    # A fresh interpreter: this test process has probably imported torch already.
    module_name, func = _entry_points()["ganstyle"].split(":")
    code = (
        "import sys, importlib\n"
        f"m = importlib.import_module({module_name!r})\n"
        f"assert callable(m.{func})\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False", "importing the GUI entry point imported torch"


def test_gui_version_flag_reports_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ganstyle_desktop.app", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert VERSION in done.stdout


# -- icons ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def make_icons() -> ModuleType:
    return _load_script(PACKAGING / "make_icons.py", "ganstyle_make_icons")


def test_svg_source_parses_and_is_square() -> None:
    root = ET.parse(PACKAGING / "icons" / "ganstyle.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 512 512"
    # The bundled copy is the same file.
    assert (ICONS / "ganstyle.svg").read_bytes() == (
        PACKAGING / "icons" / "ganstyle.svg"
    ).read_bytes()


def test_png_icons_exist_in_every_size(make_icons: ModuleType) -> None:
    for size in make_icons.SIZES:
        path = ICONS / make_icons.png_name(size)
        assert path.is_file(), f"{path} missing: run python packaging/make_icons.py"
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (size, size)
            assert image.mode == "RGBA"
            alpha = image.getchannel("A")
            assert alpha.getpixel((size // 2, size // 2)) == 255  # the tile is opaque
            assert alpha.getpixel((0, 0)) == 0  # rounded corners are transparent


def test_ico_and_icns_hold_the_platform_sizes(make_icons: ModuleType) -> None:
    with Image.open(ICONS / "ganstyle.ico") as ico:
        assert ico.format == "ICO"
        assert {s for s, _ in ico.info["sizes"]} == set(make_icons.ICO_SIZES)
    with Image.open(ICONS / "ganstyle.icns") as icns:
        assert icns.format == "ICNS"
        assert icns.size == (max(make_icons.ICNS_SIZES),) * 2


def test_committed_icons_match_the_svg_source(qapp: object, make_icons: ModuleType) -> None:
    # `qapp` first: the renderer would otherwise create a QGuiApplication that widget tests
    # later in this process could not use.
    for size in (32, 128):
        rendered = make_icons.render_svg(PACKAGING / "icons" / "ganstyle.svg", size)
        with Image.open(ICONS / make_icons.png_name(size)) as committed:
            diff = ImageChops.difference(rendered, committed.convert("RGBA"))
        worst_channel_mean = max(ImageStat.Stat(diff).mean)
        assert worst_channel_mean < 2.0, (
            f"resources/icons/{make_icons.png_name(size)} is out of date with the SVG: "
            "run python packaging/make_icons.py"
        )


def test_make_icons_writes_every_file(qapp: object, make_icons: ModuleType, tmp_path: Path) -> None:
    written = make_icons.make_icons(PACKAGING / "icons" / "ganstyle.svg", tmp_path)
    names = sorted(p.name for p in written)
    expected = sorted(
        [make_icons.png_name(s) for s in make_icons.SIZES]
        + ["ganstyle.ico", "ganstyle.icns", "ganstyle.svg"]
    )
    assert names == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == expected  # no temp files left behind


def test_make_icons_rejects_an_invalid_svg(
    qapp: object, make_icons: ModuleType, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.svg"
    bad.write_text("<svg><unclosed></svg>")
    with pytest.raises(ValueError, match="bad.svg"):
        make_icons.render_svg(bad, 16)


# -- Linux metadata ---------------------------------------------------------------------------


def test_desktop_entry_has_the_required_keys() -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    entry = parser["Desktop Entry"]
    for key in ("Type", "Name", "Exec", "Icon", "Categories"):
        assert entry.get(key), f"{DESKTOP.name}: {key} is missing"
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] in _entry_points()
    assert entry["Icon"] == DESKTOP.name.removesuffix(".desktop")
    categories = entry["Categories"].split(";")
    assert categories[-1] == "", "Categories must end with ';'"
    assert "Graphics" in categories


def test_metainfo_has_the_required_elements_and_this_release() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == DESKTOP.name.removesuffix(".desktop")
    for tag in ("name", "summary", "metadata_license", "project_license"):
        assert (root.findtext(tag) or "").strip(), f"metainfo: <{tag}> is empty"
    assert root.find("description/p") is not None
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    binaries = {b.text for b in root.findall("provides/binary")}
    assert binaries == set(_entry_points())
    versions = [r.get("version") for r in root.findall("releases/release")]
    assert VERSION in versions, f"add <release version={VERSION!r}> to {METAINFO.name}"


@pytest.mark.parametrize(
    ("tool", "args", "path"),
    [
        ("desktop-file-validate", [], DESKTOP),
        ("appstreamcli", ["validate", "--no-net"], METAINFO),
    ],
)
def test_linux_metadata_passes_the_freedesktop_validators(
    tool: str, args: list[str], path: Path
) -> None:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} not installed (apt-get install desktop-file-utils appstream)")
    done = subprocess.run([exe, *args, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# -- version, changelog, scripts --------------------------------------------------------------


def test_changelog_has_a_section_for_the_current_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{VERSION}]" in text


def test_build_script_is_valid_bash() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    done = subprocess.run([bash, "-n", str(PACKAGING / "build.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert os.access(PACKAGING / "build.sh", os.X_OK)


def test_smoke_test_reads_the_package_version() -> None:
    smoke = _load_script(PACKAGING / "smoke_test.py", "ganstyle_smoke_test")
    assert smoke.package_version() == VERSION


def test_smoke_test_writes_pngs_it_can_measure(tmp_path: Path) -> None:
    smoke = _load_script(PACKAGING / "smoke_test.py", "ganstyle_smoke_test")
    path = tmp_path / "photo.png"
    smoke.write_png(path, 40, 30, seed=3)
    assert smoke.png_size(path) == (40, 30)
    with Image.open(path) as image:
        image.load()
        assert image.size == (40, 30)
        assert len(image.getcolors(maxcolors=100_000) or []) > 10  # structure, not flat
    (tmp_path / "not.png").write_bytes(b"JFIF")
    assert smoke.png_size(tmp_path / "not.png") is None


@pytest.mark.skipif(sys.platform == "win32", reason="fake bundle uses /bin/sh scripts")
def test_smoke_test_runs_executables_with_a_scrubbed_environment(tmp_path: Path) -> None:
    smoke = _load_script(PACKAGING / "smoke_test.py", "ganstyle_smoke_test")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    fake = bundle / "ganstyle"
    fake.write_text('#!/bin/sh\necho "PATH=$PATH"\necho "VIRTUAL_ENV=$VIRTUAL_ENV"\n')
    fake.chmod(0o755)
    runner = smoke.Runner(bundle, tmp_path / "scratch")
    done = runner.run("ganstyle", timeout=30)
    assert done["rc"] == 0, done["output"]
    lines = dict(line.split("=", 1) for line in done["output"].splitlines())
    assert lines["PATH"] == str(runner.empty_bin)
    assert not any(runner.empty_bin.iterdir())
    assert lines["VIRTUAL_ENV"] == ""  # nothing leaks from the caller's environment
    assert set(runner.env) == {"HOME", "TMPDIR", "PATH", "QT_QPA_PLATFORM"}
