#!/usr/bin/env bash
# Build the GANStyle Desktop bundle (PyInstaller one-folder) in a fresh virtual environment.
#
#   packaging/build.sh                    # clean clone of this repository's HEAD, CPU torch
#   packaging/build.sh --from tree        # the current working tree (uncommitted files too)
#   packaging/build.sh --workdir /tmp/gs  # where venv/, src/, work/ and dist/ go (default: mktemp)
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 TORCH_VARIANT=cuda packaging/build.sh
#
# Everything happens under the work directory, never inside the repository. The last line
# printed is one JSON object: bundle path, size on disk, build time and the versions used.
# See packaging/README.md for Windows, macOS and the CUDA variant.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FROM="clone"
REV="HEAD"
WORKDIR=""
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
TORCH_INDEX_URL="${TORCH_INDEX_URL:-}"
TORCH_VARIANT="${TORCH_VARIANT:-cpu}"
PYINSTALLER_SPEC="${PYINSTALLER_SPEC:-pyinstaller>=6.11,<7}"
STRIP_TORCH="${STRIP_TORCH:-1}"

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --from) FROM="$2"; shift 2 ;;
    --rev) REV="$2"; shift 2 ;;
    --workdir) WORKDIR="$2"; shift 2 ;;
    --python) PYTHON="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$FROM" in clone|tree) ;; *) echo "build.sh: --from must be 'clone' or 'tree'" >&2; exit 2 ;; esac
case "$TORCH_VARIANT" in cpu|cuda) ;; *) echo "build.sh: TORCH_VARIANT must be cpu or cuda" >&2; exit 2 ;; esac

if [[ -z "$WORKDIR" ]]; then
  WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/ganstyle-build.XXXXXX")"
fi
WORKDIR="$(realpath -m "$WORKDIR")"
case "$WORKDIR/" in
  "$REPO"/*) echo "build.sh: the work directory must be outside the repository ($REPO)" >&2; exit 2 ;;
esac
mkdir -p "$WORKDIR"
SRC="$WORKDIR/src"
VENV="$WORKDIR/venv"
DIST="$WORKDIR/dist"
WORK="$WORKDIR/work"
LOG="$WORKDIR/build.log"
rm -rf "$SRC" "$VENV" "$DIST" "$WORK"
: > "$LOG"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
step() { echo "[build] $*" >&2; }

T0="$(now)"

# 1. Source: a clean clone of the committed tree, or a copy of the working tree (tracked and
#    untracked-but-not-ignored files, so build/, dist/, .venv/ never come along).
if [[ "$FROM" == "clone" ]]; then
  step "cloning $REPO ($REV) into $SRC"
  git clone --quiet --no-hardlinks "$REPO" "$SRC" >>"$LOG" 2>&1
  git -C "$SRC" checkout --quiet "$REV" >>"$LOG" 2>&1
  SOURCE_DESC="clone@$(git -C "$SRC" rev-parse --short HEAD)"
else
  step "copying the working tree of $REPO into $SRC"
  mkdir -p "$SRC"
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard) \
    | (cd "$REPO" && while IFS= read -r -d '' f; do if [[ -e "$f" ]]; then printf '%s\0' "$f"; fi; done) \
    | (cd "$REPO" && tar --null -T - -cf -) | (cd "$SRC" && tar -xf -)
  SOURCE_DESC="tree@$(git -C "$REPO" rev-parse --short HEAD)+uncommitted"
fi

# 2. A fresh virtual environment: torch first (an open range would pull the default CUDA
#    build), then the project with its runtime dependencies, then PyInstaller.
T1="$(now)"
step "creating a virtual environment in $VENV"
"$PYTHON" -m venv "$VENV"
VPY="$VENV/bin/python"
"$VPY" -m pip install --quiet --upgrade pip >>"$LOG" 2>&1
step "installing $TORCH_SPEC ($TORCH_VARIANT)${TORCH_INDEX_URL:+ from $TORCH_INDEX_URL}"
if [[ -n "$TORCH_INDEX_URL" ]]; then
  "$VPY" -m pip install --quiet "$TORCH_SPEC" --index-url "$TORCH_INDEX_URL" >>"$LOG" 2>&1
else
  "$VPY" -m pip install --quiet "$TORCH_SPEC" >>"$LOG" 2>&1
fi
TORCH_CUDA="$("$VPY" -c 'import torch; print(torch.version.cuda or "")')"
if [[ "$TORCH_VARIANT" == "cpu" && -n "$TORCH_CUDA" ]]; then
  echo "build.sh: got a CUDA build of torch (CUDA $TORCH_CUDA) for a CPU bundle;" \
    "set TORCH_INDEX_URL to the CPU wheel index (see packaging/README.md)" >&2
  exit 1
fi
step "installing the project and PyInstaller"
"$VPY" -m pip install --quiet "$SRC" "$PYINSTALLER_SPEC" >>"$LOG" 2>&1
T2="$(now)"

# 3. PyInstaller, run from the source copy so the spec finds resources/ and models/.
step "running PyInstaller (log: $LOG)"
(cd "$SRC" && "$VPY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" packaging/ganstyle.spec) >>"$LOG" 2>&1 || {
  echo "build.sh: PyInstaller failed; last lines of $LOG:" >&2
  tail -n 40 "$LOG" >&2
  exit 1
}
T3="$(now)"

BUNDLE="$DIST/ganstyle"
if [[ "$(uname -s)" == "Darwin" ]]; then
  BUNDLE="$DIST/GANStyle.app"
fi
[[ -d "$BUNDLE" ]] || { echo "build.sh: no bundle at $BUNDLE" >&2; exit 1; }

# 4. Linux: torch's wheels ship their libraries with full symbol tables (.symtab, ~95 MB in
#    libtorch_cpu.so and libtorch_python.so). Dynamic linking needs only .dynsym, so
#    --strip-unneeded is safe here; PyInstaller's own strip=True would also touch Qt and
#    Python extension modules, which we leave alone. STRIP_TORCH=0 skips it.
STRIPPED_BYTES=0
if [[ "$(uname -s)" == "Linux" && "$STRIP_TORCH" == "1" ]] && command -v strip >/dev/null; then
  BEFORE=$(du -sk "$BUNDLE" | cut -f1)
  find "$BUNDLE/_internal/torch/lib" -maxdepth 1 -type f -name '*.so*' -print0 \
    | xargs -0 -r strip --strip-unneeded
  STRIPPED_BYTES=$(( (BEFORE - $(du -sk "$BUNDLE" | cut -f1)) * 1024 ))
  step "stripped symbol tables from torch/lib: $(( STRIPPED_BYTES / 1048576 )) MiB"
fi
T4="$(now)"

SIZE_ON_DISK=$(( $(du -sk "$BUNDLE" | cut -f1) * 1024 ))
FILES=$(find "$BUNDLE" -type f | wc -l | tr -d ' ')
VERSIONS="$("$VPY" - <<'PY'
import json
from importlib.metadata import version
print(json.dumps({n: version(n) for n in ("torch", "pyinstaller", "PySide6-Essentials", "ganstyle-desktop")}))
PY
)"

printf '{"bundle": "%s", "size_on_disk_bytes": %s, "size_on_disk_mib": %s, "files": %s, "stripped_bytes": %s, "build_seconds": %s, "source_seconds": %s, "venv_seconds": %s, "pyinstaller_seconds": %s, "source": "%s", "torch_variant": "%s", "versions": %s, "log": "%s"}\n' \
  "$BUNDLE" "$SIZE_ON_DISK" "$(awk -v b="$SIZE_ON_DISK" 'BEGIN { printf "%.1f", b / 1048576 }')" \
  "$FILES" "$STRIPPED_BYTES" "$(elapsed "$T0" "$T4")" "$(elapsed "$T0" "$T1")" \
  "$(elapsed "$T1" "$T2")" "$(elapsed "$T2" "$T3")" "$SOURCE_DESC" \
  "$TORCH_VARIANT${TORCH_CUDA:+-$TORCH_CUDA}" "$VERSIONS" "$LOG"
