"""Pretrained vs random init on real review sentiment:  python tools/report_text_classification.py

Converts the rotten-tomatoes reviews when needed (``tools/convert_rotten_tomatoes.py``), then trains
``configs/text_classification/sst2_minilm_reviews.py`` (text encoder from the shipped MiniLM
weights) and ``sst2_tiny_reviews.py`` (random init) one after the other with ``tools/train.py
--val-at-start``, and prints one table: held-out accuracy / F1 / MCC at step 0 and after each epoch,
with the wall time of each run. Extra arguments go to both runs (e.g. ``--cfg-options
train_cfg.max_epochs=1``).
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = (('MiniLM init', 'configs/text_classification/sst2_minilm_reviews.py'),
        ('random init', 'configs/text_classification/sst2_tiny_reviews.py'))
VAL = re.compile(r'Epoch\(val\) \[(\d+)\]\[\d+/\d+\]\s+(.*)$')
METRIC = re.compile(r'glue/(\w+): ([-\d.]+)')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default='work_dirs/report_text_classification',
                   help='parent of the two runs\' work dirs')
    p.add_argument('extra', nargs=argparse.REMAINDER, help='arguments for tools/train.py')
    return p.parse_args(argv)


def validations(log):
    """``[(epoch, {metric: value})]`` from a training log, step 0 first."""
    rows = []
    for line in log.splitlines():
        match = VAL.search(line)
        if match:
            rows.append((int(match.group(1)), {k: float(v) for k, v in
                                                METRIC.findall(match.group(2))}))
    return rows


def train(config, work_dir, extra):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
                           '--val-at-start', *extra], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f'{config}: training failed (exit {proc.returncode})')
    return validations(proc.stdout + proc.stderr), seconds


def main(argv=None):
    args = parse_args(argv)
    subprocess.run([sys.executable, 'tools/convert_rotten_tomatoes.py'], cwd=ROOT, check=True)
    print(f'{"run":<12} {"epoch":>5} {"accuracy":>8} {"f1":>6} {"mcc":>6}   time')
    for name, config in RUNS:
        work_dir = os.path.join(args.work_dir, os.path.splitext(os.path.basename(config))[0])
        rows, seconds = train(config, work_dir, args.extra)
        for i, (epoch, m) in enumerate(rows):
            when = f'{seconds / 60:.1f} min' if i == len(rows) - 1 else ''
            print(f'{name if i == 0 else "":<12} {epoch:>5} {m.get("accuracy", float("nan")):>8.3f} '
                  f'{m.get("f1", float("nan")):>6.3f} {m.get("mcc", float("nan")):>6.3f}   {when}',
                  flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
