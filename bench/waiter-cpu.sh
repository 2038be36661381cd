#!/bin/bash
# What N waiting `rp run` processes cost the machine while the ledger is written by others:
# a private queue with one core, a blocker holding it, N foreground `rp run` waiting behind it,
# then WRITES ledger transactions that change no job (one every 100 ms). Prints the CPU time the
# waiters used, per write. TREE is an rp checkout with dist/ built (compare two commits).
#
#   bash bench/waiter-cpu.sh TREE N WRITES      e.g. bash bench/waiter-cpu.sh "$PWD" 30 50
#
# Not a test; a by-hand probe for the sweeps work (see bench/README.md). Needs Docker and the
# base image (scripts/setup.sh).
set -e
TREE=$1; N=$2; WRITES=$3
W=$(mktemp -d /tmp/rp-waiter-cpu-XXXX); export RP_HOME=$W/home
cd $W && node $TREE/bin/run.js host init >/dev/null 2>&1
python3 - <<PY
import json; p='$RP_HOME/config.json'; c=json.load(open(p)); c['capacity']['cpus']=1; json.dump(c,open(p,'w'))
PY
mkdir p && cd p && node $TREE/bin/run.js init --base rp-base:bookworm --cpu 1 --mem 0.5 >/dev/null 2>&1
printf '#!/bin/bash\nsleep 600\n' > block.sh; printf '#!/bin/bash\ntrue\n' > t.sh; chmod +x *.sh
node $TREE/bin/run.js build >/dev/null 2>&1
node $TREE/bin/run.js run --script=block.sh >/dev/null 2>&1 &
sleep 4
for i in $(seq $N); do node $TREE/bin/run.js run --script=t.sh >/dev/null 2>&1 & done
for i in $(seq 120); do q=$(node $TREE/bin/run.js queue --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["queue"]))'); [ "$q" -ge "$N" ] && break; sleep 1; done
sleep 8
PIDS=$(pgrep -f "$TREE/bin/run.js run --script=t.sh" | tr '\n' ' ')
ticks() { local t=0; for p in $PIDS; do s=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); t=$((t+s)); done; echo $t; }
T0=$(ticks); S0=$(date +%s.%N)
cd $TREE && node --import tsx -e "
const { openLedger } = await import('./src/ledger/store.ts');
const { systemClock } = await import('./src/host/clock.ts');
const store = await openLedger({ rpHome: process.env.RP_HOME, clock: systemClock, recover: async () => [] });
for (let i = 0; i < $WRITES; i++) { await store.transact((s) => ({ state: { ...s, nextSeq: s.nextSeq + 1 }, result: undefined })); await new Promise(r => setTimeout(r, 100)); }
"
T1=$(ticks); S1=$(date +%s.%N)
echo "$TREE: $N waiters, $WRITES writes over $(python3 -c "print(round($S1-$S0,1))") s: waiters used $((T1-T0)) ticks ($(python3 -c "print(round(($T1-$T0)*10/$WRITES,1))") ms CPU per write)"
pkill -f "$TREE/bin/run.js run" || true; sleep 3
docker ps -aq --filter label=rp.home=$RP_HOME | xargs -r docker rm -f >/dev/null
rm -rf "$W"
