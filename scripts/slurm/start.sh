#!/usr/bin/env bash
# Brings up a real single-node Slurm cluster on this machine, for the benchmark peer in bench/.
# Idempotent: what is installed, configured and running already is left as it is.
#   1. installs Debian's munge, slurmctld, slurmd and slurm-client when one is missing (root, apt)
#   2. makes fake GPU device nodes /dev/rp-fake-gpu0.. so GPU requests can be scheduled without
#      GPUs (Slurm only checks that the File= of a generic resource exists)
#   3. writes /etc/slurm/slurm.conf (the node line from `slurmd -C`, select/cons_tres, GPUs as
#      generic resources, a fast scheduler, jobs confined in cgroups, an Epilog), gres.conf and
#      cgroup.conf
#   4. starts munged, (with accounting) mariadbd and slurmdbd, slurmctld and slurmd as background
#      daemons (no systemd here), restarting the Slurm daemons when the configuration changed
#   5. waits until `sinfo` shows the node idle
# scripts/slurm/stop.sh stops the daemons again. Environment:
#   RP_SLURM_FAKE_GPUS   how many fake GPUs the node declares (default 2)
#   RP_SLURM_WAIT_S      how long to wait for the node to become idle (default 60)
#   RP_SLURM_CGROUPS     1 (default): each job in its own cgroups (proctrack/cgroup, task/cgroup,
#                        memory a consumable resource), as on GPU clusters and as rp's container
#                        confinement needs (docs/slurm-runtime.md); 0: processes tracked through
#                        /proc, nothing confined, for machines whose cgroups are not writable
#   RP_SLURM_ACCOUNTING  1: also install and start MariaDB and slurmdbd, so that `sacct` knows
#                        every job; 0 (default): no accounting, `sacct` answers "Slurm accounting
#                        storage is disabled" and ended jobs are known only to squeue, for
#                        MinJobAge (10 s) after their end
set -euo pipefail

fake_gpus=${RP_SLURM_FAKE_GPUS:-2}
wait_s=${RP_SLURM_WAIT_S:-60}
cgroups=${RP_SLURM_CGROUPS:-1}
accounting=${RP_SLURM_ACCOUNTING:-0}
conf_dir=/etc/slurm
run_dir=/run/slurm
log_dir=/var/log/slurm
state_dir=/var/lib/slurm
epilog=$conf_dir/rp-bench-epilog.sh
say() { echo "slurm/start: $*" >&2; }
die() {
  say "$*"
  exit 1
}

[ "$(id -u)" = 0 ] || die "run as root: it installs packages and starts daemons"

# --- 1. packages -------------------------------------------------------------------------------
missing=()
command -v munged >/dev/null 2>&1 || missing+=(munge)
command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
if [ "$accounting" = 1 ]; then
  command -v slurmdbd >/dev/null 2>&1 || missing+=(slurmdbd)
  command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
fi
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  say "installing ${missing[*]}"
  # Without systemd the packages' postinst scripts must not try to start the services: a
  # policy-rc.d that says "no" (exit 101) does that, and is removed again if we put it there.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt_log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a \
    apt-get install -y -qq "${missing[@]}"; } >"$apt_log" 2>&1; then
    [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
    say "installing ${missing[*]} failed:"
    tail -n 20 "$apt_log" >&2
    exit 1
  fi
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  rm -f "$apt_log"
fi

# --- 2. fake GPUs -------------------------------------------------------------------------------
gpu_files=()
for ((i = 0; i < fake_gpus; i++)); do
  dev=/dev/rp-fake-gpu$i
  gpu_files+=("$dev")
  if [ ! -e "$dev" ]; then
    # A character device with /dev/null's numbers: harmless if a job opens it. Where mknod is not
    # allowed a plain file serves as well (slurmd only stats it).
    mknod -m 666 "$dev" c 1 3 2>/dev/null || touch "$dev"
  fi
done

# --- 3. configuration ---------------------------------------------------------------------------
mkdir -p "$conf_dir" "$run_dir" "$log_dir" "$state_dir/slurmctld" "$state_dir/slurmd"
node_line=$(slurmd -C | head -n 1)
node_name=$(sed -n 's/^NodeName=\([^ ]*\).*/\1/p' <<<"$node_line")
[ -n "$node_name" ] || die "cannot read the node name from 'slurmd -C': $node_line"
gres_line=
[ "$fake_gpus" -gt 0 ] && gres_line="Gres=gpu:$fake_gpus"

# The Epilog runs on the node after every job. Jobs of the benchmark run `docker run --rm` with a
# label naming the Slurm job; a job that is cancelled kills the docker client but not the container,
# so the Epilog removes whatever is left, which is what rp guarantees for its own jobs.
# rp's own Slurm jobs label their containers rp.slurm-job (Docker or Podman): a container under
# the job's cgroup survives scancel, and only the Epilog can remove it (docs/slurm-runtime.md).
# Slurm's attempt to remove the job's cgroups fails while such a container is in them, so the
# Epilog removes what is left of them too.
epilog_text='#!/bin/sh
# Written by scripts/slurm/start.sh: remove the containers a Slurm job left behind.
job=${SLURM_JOB_ID:-none}
ids=$(docker ps -aq --filter "label=rp-bench.slurm-job=$job" 2>/dev/null)
[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1
for engine in docker podman; do
  command -v $engine >/dev/null 2>&1 || continue
  ids=$($engine ps -aq --filter "label=rp.slurm-job=$job" 2>/dev/null)
  [ -z "$ids" ] || $engine rm -f $ids >/dev/null 2>&1
done
for dir in /sys/fs/cgroup/*/slurm*/uid_*/job_"$job" /sys/fs/cgroup/slurm*/uid_*/job_"$job"; do
  [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
done
exit 0
'

# Confinement: proctrack/cgroup gives every job its cgroups (and kills what is in them),
# task/cgroup enforces --cpus-per-task and --mem, which Slurm counts only with CR_Core_Memory; jobs
# without --mem get DefMemPerCPU per core instead of the whole node.
if [ "$cgroups" = 1 ]; then
  cgroup_plugin=cgroup/v1
  [ -f /sys/fs/cgroup/cgroup.controllers ] && cgroup_plugin=cgroup/v2
  confinement="# Every job in its own cgroups, limited to its cores and memory.
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512"
  gather=jobacct_gather/cgroup
else
  confinement="# No cgroups: track processes through /proc, no task confinement.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core"
  gather=jobacct_gather/linux
fi
if [ "$accounting" = 1 ]; then
  accounting_conf="# Accounting in slurmdbd (MariaDB on this machine), for sacct.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=$gather"
else
  accounting_conf="JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none"
fi

conf_text="# Written by scripts/slurm/start.sh (rp benchmark): a single-node cluster on this machine.
ClusterName=rpbench
SlurmctldHost=$node_name(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state_dir/slurmctld
SlurmdSpoolDir=$state_dir/slurmd
SlurmctldPidFile=$run_dir/slurmctld.pid
SlurmdPidFile=$run_dir/slurmd.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
$confinement
$accounting_conf
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=10
# GPUs are generic resources.
GresTypes=gpu
# The fast setting: schedule batch jobs at once and on every event, not in batches every few
# seconds (the defaults are batch_sched_delay=3 and a main loop rate-limited by sched_min_interval).
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
Epilog=$epilog
SlurmdParameters=config_overrides
$node_line $gres_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=bench Nodes=$node_name Default=YES MaxTime=INFINITE State=UP
"

gres_text="# Written by scripts/slurm/start.sh: fake GPUs, device nodes made by the script.
AutoDetect=off
"
for dev in "${gpu_files[@]}"; do
  gres_text+="NodeName=$node_name Name=gpu File=$dev
"
done

changed=
write_if_changed() { # path text mode
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$(printf '%s' "$2")" ]; then
    printf '%s' "$2" >"$1"
    changed=1
  fi
  chmod "$3" "$1"
}
write_if_changed "$conf_dir/slurm.conf" "$conf_text" 644
write_if_changed "$conf_dir/gres.conf" "$gres_text" 644
write_if_changed "$epilog" "$epilog_text" 755
if [ "$cgroups" = 1 ]; then
  write_if_changed "$conf_dir/cgroup.conf" "# Written by scripts/slurm/start.sh.
CgroupPlugin=$cgroup_plugin
CgroupAutomount=no
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
ConstrainDevices=no
" 644
fi
if [ "$accounting" = 1 ]; then
  write_if_changed "$conf_dir/slurmdbd.conf" "# Written by scripts/slurm/start.sh: accounting for sacct.
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=rp-slurm
StorageLoc=slurm_acct_db
PidFile=$run_dir/slurmdbd.pid
LogFile=$log_dir/slurmdbd.log
" 600
fi

# --- 4. daemons ---------------------------------------------------------------------------------
# Whether the daemon of a pid file (slurmd.pid: slurmd) runs: a pid file can outlive its process,
# and on a machine that has run for long its number may belong to another process by now.
alive() { [ -f "$1" ] && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$(basename "$1" .pid)" ]; }

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || {
    mungekey --create >/dev/null 2>&1 || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
  }
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  say "starting munged"
  # In the foreground under setsid rather than daemonizing itself: the daemon's own double fork
  # leaves a zombie here, where PID 1 does not reap orphans (setpriv execs, runuser would fork).
  setsid nohup setpriv --reuid=munge --regid=munge --clear-groups /usr/sbin/munged --foreground >>/var/log/munge/rp-munged.out 2>&1 </dev/null &
  for _ in $(seq 1 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null || die "munged does not answer"
fi

stop_daemon() { # pidfile
  if alive "$1"; then
    local pid
    pid=$(cat "$1")
    kill "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$1"
}

if [ -n "$changed" ]; then
  # A new configuration: restart whatever runs with the old one.
  stop_daemon "$run_dir/slurmd.pid"
  stop_daemon "$run_dir/slurmctld.pid"
  stop_daemon "$run_dir/slurmdbd.pid"
fi
if [ "$accounting" = 1 ]; then
  if ! mariadb -e 'select 1' >/dev/null 2>&1; then
    say "starting mariadbd (log: $log_dir/rp-mariadb.out)"
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld
    setsid nohup mariadbd --user=mysql >>"$log_dir/rp-mariadb.out" 2>&1 </dev/null &
    for _ in $(seq 1 100); do
      mariadb -e 'select 1' >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
  mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'rp-slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';" || die "MariaDB does not answer"
  if ! alive "$run_dir/slurmdbd.pid"; then
    say "starting slurmdbd (log: $log_dir/slurmdbd.log)"
    setsid nohup slurmdbd -D >>"$log_dir/slurmdbd.out" 2>&1 </dev/null &
    for _ in $(seq 1 100); do
      sacctmgr -n list cluster >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
  # slurmctld registers with slurmdbd only as a cluster slurmdbd knows.
  sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx rpbench ||
    sacctmgr -i add cluster rpbench >/dev/null || die "sacctmgr cannot add the cluster"
fi
if ! alive "$run_dir/slurmctld.pid"; then
  say "starting slurmctld (log: $log_dir/slurmctld.log)"
  setsid nohup slurmctld -D >>"$log_dir/slurmctld.out" 2>&1 </dev/null &
fi
if ! alive "$run_dir/slurmd.pid"; then
  say "starting slurmd (log: $log_dir/slurmd.log)"
  setsid nohup slurmd -D >>"$log_dir/slurmd.out" 2>&1 </dev/null &
fi

# --- 5. wait for the node ------------------------------------------------------------------------
deadline=$((SECONDS + wait_s))
state=
while [ $SECONDS -lt $deadline ]; do
  state=$(sinfo -h -N -n "$node_name" -o %t 2>/dev/null | head -n 1 || true)
  case "$state" in
    idle) exit 0 ;;
    # Mixed or allocated: up, and busy with jobs someone submitted.
    mix | alloc) exit 0 ;;
    down* | drain* | drng*) scontrol update NodeName="$node_name" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
say "the node did not become idle within ${wait_s} s (state: ${state:-no answer}); the logs end with:"
tail -n 10 "$log_dir/slurmctld.log" "$log_dir/slurmd.log" >&2 || true
exit 1
