#!/bin/bash
# usage: bash benchmarks/ctrl_c_resume.sh [WORK_FOLDER]   (JEPALAB=path/to/jepalab to use another install)
# Issue 49: Ctrl-C (SIGINT) at six moments of `jepalab train`, then --resume; every run must end on the
# uninterrupted run's weights. Default settings (no train.threads), two-room debug preset, 300 steps,
# checkpoint every 50, run beside whatever else this machine is doing.
set -m  # job control: a background job keeps SIGINT (bash otherwise starts it with SIGINT ignored)
J=${JEPALAB:-jepalab}
W=${1:-runs/ctrl-c}; rm -rf $W; mkdir -p $W; cd $W
$J collect --world two-room --episodes 60 --steps 48 --out data >/dev/null 2>&1
ARGS="--data data --preset debug --set train.steps=300 --set train.checkpoint_every=50"
$J train $ARGS --out straight --quiet >/dev/null 2>&1
ref=$(sha256sum straight/checkpoints/step_0000300/model.safetensors | cut -c1-16)
echo "uninterrupted: $ref"
for delay in 2 3 5 9 13 18; do
  $J train $ARGS --out cut$delay --quiet >/dev/null 2>&1 & pid=$!
  sleep $delay; kill -INT $pid; wait $pid; rc=$?
  at=$(${PYTHON:-python3} -c "import json;print(json.load(open('cut$delay/checkpoints/latest.json'))['step'])" 2>/dev/null)
  $J train $ARGS --out cut$delay --resume --quiet >/dev/null 2>&1
  got=$(sha256sum cut$delay/checkpoints/step_0000300/model.safetensors | cut -c1-16)
  echo "SIGINT after ${delay}s: exit $rc, saved at step $at, resumed -> $got $([ $got = $ref ] && echo same || echo DIFFERENT)"
done
