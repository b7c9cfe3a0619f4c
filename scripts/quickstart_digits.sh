#!/usr/bin/env bash
# The digits job (`make quickstart-digits`): train the image-classification slice (DualVisionEncoder + UniversalLayers +
# ClassificationHead) on scikit-learn's real handwritten digits, then re-evaluate the saved
# checkpoint with tools/test.py. About 2-3 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
CONFIG=configs/image_classification/digits_tiny.py
WORK=work_dirs/quickstart_digits
rm -rf "$WORK"
echo "[quickstart] composition of $CONFIG:"
.venv/bin/mplug-registry check "$CONFIG"
echo "[quickstart] training (a log line every 10 iterations, validation every 3 epochs) -> $WORK"
$PY tools/train.py "$CONFIG" --work-dir "$WORK"
CKPT="$(cat "$WORK/last_checkpoint")"   # written by MMEngine after each save
echo "[quickstart] re-evaluating $CKPT on the held-out split with tools/test.py"
$PY tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK/test" 2>&1 | tail -n 1
.venv/bin/mplug-registry graph "$CONFIG" -o "$WORK/model.png" >/dev/null
echo "[quickstart] done: checkpoint $CKPT, model picture $WORK/model.png"
