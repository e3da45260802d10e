#!/usr/bin/env bash
# .ci/slurm-test.sh: a sharded sweep on a real Slurm, on this machine alone.
#
# Installs Slurm and MUNGE from Debian's own repository (apt-get install as
# root; or, with SLURM_TEST_INSTALL=extract or when installing fails, the
# packages are downloaded with apt-get download and unpacked with dpkg -x
# into the temporary folder, nothing installed), writes a one-node
# slurm.conf on 127.0.0.1, starts munged, slurmctld and slurmd, and then:
#
#   1. runs sweep/testdata/slurm.toml (24 points) in one process: the reference;
#   2. submits it as a held array job of 4 shards (--array=0-3, the index from
#      SLURM_ARRAY_TASK_ID), cancels task 3 before it starts, releases the
#      job, and cancels task 1 while it runs (after its first point), having
#      checked that a second writer of that shard is refused by the lock;
#   3. checks that `sim sweep missing` lists exactly 1,3, resubmits
#      --array=<that list>, and checks that task 1 resumed its shard;
#   4. merges, and compares merged.jsonl and merged.csv with the reference's
#      results.jsonl and results.csv byte for byte.
#
# Every daemon is stopped by its PID and the temporary folder removed on exit.
# Needs root (slurmd runs jobs as their owner), bash, coreutils, Go. Takes
# well under 3 minutes on 2 cores; prints "N passed, 0 failed" on success and
# exits 1 on any failure, or when Slurm cannot run here (saying why).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
START=$SECONDS
DEADLINE=$((START + 170)) # every wait stops here at the latest

passed=0
failed=0
say() { printf 'slurm-test: %s\n' "$*"; }
ok() {
	passed=$((passed + 1))
	say "ok    $*"
}
bad() {
	failed=$((failed + 1))
	say "FAIL  $*"
}
# die: Slurm could not be set up or the test could not go on.
die() {
	say "error: $*"
	exit 1
}

[[ $(id -u) == 0 ]] || die "needs root: slurmd must run as root to start jobs (and apt-get to install Slurm)"
command -v go >/dev/null || die "needs Go to build sim"

TMP=$(mktemp -d /tmp/trainsim-slurm.XXXXXX)
chmod 755 "$TMP" # munged wants every directory above its socket searchable
PIDS=()          # daemons, in start order
JOBS=()          # submitted job IDs

cleanup() {
	local rc=$? pid i
	set +e
	if ((rc != 0)) && [[ -d $TMP/log ]]; then
		for f in "$TMP"/log/*.log "$TMP"/out/*.out; do
			[[ -f $f ]] || continue
			say "--- last lines of $f"
			tail -n 15 "$f"
		done
	fi
	if ((${#JOBS[@]})) && command -v scancel >/dev/null; then
		local ids
		ids=$(
			IFS=,
			echo "${JOBS[*]}"
		)
		scancel "${JOBS[@]}" 2>/dev/null
		for _ in $(seq 50); do
			squeue -h -j "$ids" 2>/dev/null | grep -q . || break
			sleep 0.2
		done
	fi
	# Stop the daemons by PID, newest first; SIGKILL what is left after 10 s.
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[i]}
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every 0.2 s until it succeeds;
# false after SECONDS (or at the script's deadline).
wait_for() {
	local limit=$((SECONDS + $1)) what=$2
	shift 2
	((limit < DEADLINE)) || limit=$DEADLINE
	until "$@"; do
		if ((SECONDS >= limit)); then
			say "gave up waiting for $what"
			return 1
		fi
		sleep 0.2
	done
}

# ---- Slurm and MUNGE from Debian ------------------------------------------

PKGS=(slurmctld slurmd slurm-client munge)
MODE=${SLURM_TEST_INSTALL:-auto} # auto | apt | extract
SLURMCTLD=slurmctld
SLURMD=slurmd
SLURMD_ARGS=()
PLUGINDIR=
MUNGED=munged
MUNGEKEY=mungekey

have_system_slurm() {
	local c
	for c in slurmctld slurmd slurmstepd sbatch squeue sinfo scancel scontrol munged; do
		command -v "$c" >/dev/null || return 1
	done
}

apt_lists() { # package lists, fetched once if there are none
	apt-cache show slurmctld >/dev/null 2>&1 && return
	say "apt-get update"
	timeout 120 apt-get update -qq >"$TMP/apt-update.log" 2>&1 || {
		tail -n 5 "$TMP/apt-update.log"
		return 1
	}
}

apt_install() {
	apt_lists || return 1
	say "apt-get install ${PKGS[*]}"
	DEBIAN_FRONTEND=noninteractive timeout 150 apt-get install -y -qq --no-install-recommends "${PKGS[@]}" \
		>"$TMP/apt-install.log" 2>&1 || {
		tail -n 5 "$TMP/apt-install.log"
		return 1
	}
	have_system_slurm
}

# extract: download the packages and those of their dependencies that are
# not installed, unpack them under $TMP/root, and run from there.
extract() {
	local root=$TMP/root deps p
	apt_lists || die "apt-get update failed: no Debian package lists"
	mkdir -p "$TMP/debs" "$root"
	deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances "${PKGS[@]}" | grep -v '^ ' | grep -v '^<' | sort -u)
	local want=()
	for p in $deps; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || want+=("$p")
	done
	say "apt-get download ${#want[@]} packages: ${want[*]}"
	(cd "$TMP/debs" && timeout 150 apt-get download -qq "${want[@]}") >"$TMP/apt-download.log" 2>&1 || {
		tail -n 5 "$TMP/apt-download.log"
		die "apt-get download failed"
	}
	for p in "$TMP"/debs/*.deb; do dpkg -x "$p" "$root"; done
	PLUGINDIR=$(dirname "$(find "$root/usr/lib" -name auth_munge.so | head -n 1)")
	[[ -f $PLUGINDIR/auth_munge.so ]] || die "the unpacked packages hold no Slurm plugins"
	local libs
	libs=$(find "$root/usr/lib" "$root/lib" -name '*.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
	export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export PATH=$root/usr/bin:$root/usr/sbin:$PATH
	SLURMCTLD=$root/usr/sbin/slurmctld-wlm
	SLURMD=$root/usr/sbin/slurmd-wlm
	SLURMD_ARGS=(-d "$root/usr/sbin/slurmstepd-wlm") # the default is /usr/sbin/slurmstepd
	MUNGED=$root/usr/sbin/munged
	MUNGEKEY=$root/usr/sbin/mungekey
	[[ -x $MUNGEKEY ]] || MUNGEKEY=$root/usr/bin/mungekey
}

case $MODE in
auto)
	if have_system_slurm; then
		say "using the installed Slurm"
	elif command -v apt-get >/dev/null && apt_install; then
		:
	else
		say "installing failed: unpacking the packages instead"
		extract
	fi
	;;
apt) have_system_slurm || apt_install || die "apt-get install ${PKGS[*]} failed" ;;
extract) extract ;;
*) die "SLURM_TEST_INSTALL=$MODE: want auto, apt or extract" ;;
esac
say "$("$SLURMCTLD" -V) ($((SECONDS - START)) s)"

# ---- a one-node cluster on 127.0.0.1 --------------------------------------

NODE=$(hostname -s)
getent hosts "$NODE" >/dev/null || die "the hostname $NODE does not resolve (add it to /etc/hosts)"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p=$1
	while ! port_free "$p" || ! port_free $((p + 1)); do p=$((p + 2)); done
	echo "$p"
}
PORT=$(pick_port 16817)
CPUS=$(nproc)
mkdir -p "$TMP"/{munge,state,spool,log,out}
chmod 700 "$TMP/state" "$TMP/spool"
MUNGE_SOCKET=$TMP/munge/munge.sock

if "$MUNGEKEY" --help >/dev/null 2>&1; then
	"$MUNGEKEY" --create --keyfile="$TMP/munge/munge.key"
else
	head -c 1024 /dev/urandom >"$TMP/munge/munge.key"
fi
chmod 600 "$TMP/munge/munge.key"
"$MUNGED" --foreground --key-file="$TMP/munge/munge.key" --socket="$MUNGE_SOCKET" \
	--pid-file="$TMP/munge/munged.pid" --log-file="$TMP/log/munged.log" --seed-file="$TMP/munge/munged.seed" \
	>>"$TMP/log/munged.log" 2>&1 &
PIDS+=($!)
wait_for 15 munged test -S "$MUNGE_SOCKET" || die "munged did not start"

: >"$TMP/plugstack.conf"
export SLURM_CONF=$TMP/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=trainsim-ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
${PLUGINDIR:+PluginDir=$PLUGINDIR}
PlugStackConfig=$TMP/plugstack.conf
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/log/slurmctld.log
SlurmdLogFile=$TMP/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
KillWait=2
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=ci Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
"$SLURMCTLD" -D -f "$SLURM_CONF" >>"$TMP/log/slurmctld.out" 2>&1 &
PIDS+=($!)
"$SLURMD" -D -f "$SLURM_CONF" -N "$NODE" "${SLURMD_ARGS[@]}" >>"$TMP/log/slurmd.out" 2>&1 &
PIDS+=($!)
node_idle() { [[ $(sinfo -h -n "$NODE" -o %t 2>/dev/null) == idle ]]; }
if wait_for 30 "the node to be idle" node_idle; then
	ok "slurmctld and slurmd up on $NODE (127.0.0.1:$PORT), the node idle ($((SECONDS - START)) s)"
else
	sinfo 2>&1 || true
	die "the node did not come up idle"
fi

# ---- the sweep -----------------------------------------------------------

SIM=$TMP/sim
go build -o "$SIM" ./cmd/sim
SWEEP=$REPO/sweep/testdata/slurm.toml
OUT=$TMP/sweep
REF=$TMP/reference
SHARDS=4
VICTIM=1   # cancelled while it runs; its shard is the slowest (see the sweep file)
PENDING=3  # cancelled before it starts
"$SIM" sweep "$SWEEP" --out "$REF" >"$TMP/reference.out"
POINTS=$(grep -c '' "$REF/results.jsonl")
say "reference: $POINTS points in one process ($((SECONDS - START)) s)"

cat >"$TMP/shard.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=sim-sweep
#SBATCH --cpus-per-task=1
#SBATCH --output=$TMP/out/%A_%a.out
exec "$SIM" sweep "$SWEEP" --out "$OUT" --shards $SHARDS --workers 1
EOF

lines() { if [[ -f $1 ]]; then tr -cd '\n' <"$1" | wc -c; else echo 0; fi; }
job_gone() { ! squeue -h -j "$1" 2>/dev/null | grep -q .; }
task_state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }
task_exit() { scontrol -o show job "$1" 2>/dev/null | grep -o ' ExitCode=[0-9:]*' | head -n 1 | cut -d= -f2; }

JOB=$(sbatch --parsable --hold --array=0-$((SHARDS - 1)) "$TMP/shard.sbatch")
JOB=${JOB%%;*}
JOBS+=("$JOB")
scancel "${JOB}_$PENDING"
scontrol release "$JOB"
say "array job $JOB: 4 shards; task $PENDING cancelled before it started"

VICTIM_FILE=$OUT/results-shard-$VICTIM-of-$SHARDS.jsonl
has_a_line() { (($(lines "$VICTIM_FILE") >= 1)); }
wait_for 60 "task $VICTIM's first point" has_a_line || die "task $VICTIM wrote nothing"
# While task 1 runs, a second writer of its shard is refused, naming it.
rc=0
"$SIM" sweep "$SWEEP" --out "$OUT" --shards $SHARDS --shard-index $VICTIM --workers 1 >"$TMP/second.out" 2>"$TMP/second.err" || rc=$?
if ((rc == 2)) && grep -q "is being written by another sim sweep: locked by pid [0-9]* on $NODE since .*, Slurm job ${JOB}_$VICTIM" "$TMP/second.err"; then
	ok "a second writer of shard $VICTIM is refused while task ${JOB}_$VICTIM runs: $(cut -c1-160 "$TMP/second.err")"
else
	bad "a second writer of shard $VICTIM: exit $rc, want 2 and the lock holder named: $(cat "$TMP/second.err")"
fi
scancel "${JOB}_$VICTIM"
wait_for 60 "array job $JOB" job_gone "$JOB" || die "array job $JOB did not finish"
n=$(lines "$VICTIM_FILE")
state=$(task_state "${JOB}_$VICTIM")
if [[ $state == CANCELLED ]] && ((n >= 1 && n < POINTS / SHARDS)); then
	ok "task ${JOB}_$VICTIM cancelled while running, after $n of $((POINTS / SHARDS)) points"
else
	bad "task ${JOB}_$VICTIM: state $state, $n points written; want CANCELLED in the middle of its shard (if it finished first, this machine is faster than the test assumes: raise training.steps in $SWEEP: each point must take a good part of a second)"
fi
for t in 0 2; do
	if [[ $(task_state "${JOB}_$t") == COMPLETED && $(task_exit "${JOB}_$t") == 0:0 ]]; then
		ok "task ${JOB}_$t completed, exit 0"
	else
		bad "task ${JOB}_$t: state $(task_state "${JOB}_$t"), exit $(task_exit "${JOB}_$t")"
	fi
done
[[ ! -e $OUT/results-shard-$PENDING-of-$SHARDS.jsonl ]] || bad "cancelled pending task $PENDING left a results file"

rc=0
MISSING=$("$SIM" sweep missing "$OUT" 2>"$TMP/missing.err") || rc=$?
if ((rc == 0)) && [[ $MISSING == "$VICTIM,$PENDING" ]]; then
	ok "sim sweep missing: $MISSING ($(cat "$TMP/missing.err"))"
else
	bad "sim sweep missing: exit $rc, printed '$MISSING', want '$VICTIM,$PENDING'"
fi
[[ -n $MISSING ]] || die "nothing to resubmit"

JOB2=$(sbatch --parsable --array="$MISSING" "$TMP/shard.sbatch")
JOB2=${JOB2%%;*}
JOBS+=("$JOB2")
say "resubmitted: sbatch --array=$MISSING: job $JOB2"
wait_for 60 "array job $JOB2" job_gone "$JOB2" || die "array job $JOB2 did not finish"
for t in ${MISSING//,/ }; do
	if [[ $(task_state "${JOB2}_$t") == COMPLETED && $(task_exit "${JOB2}_$t") == 0:0 ]]; then
		ok "resubmitted task ${JOB2}_$t completed, exit 0"
	else
		bad "resubmitted task ${JOB2}_$t: state $(task_state "${JOB2}_$t"), exit $(task_exit "${JOB2}_$t")"
	fi
done
if grep -Eq "^skipped +[1-9][0-9]* \(already in" "$TMP/out/${JOB2}_$VICTIM.out"; then
	ok "task ${JOB2}_$VICTIM resumed its shard: $(grep -E '^(evaluated|skipped)' "$TMP/out/${JOB2}_$VICTIM.out" | tr -s ' ' | paste -sd' ' | cut -c1-60)"
else
	bad "task ${JOB2}_$VICTIM did not resume: $(cat "$TMP/out/${JOB2}_$VICTIM.out")"
fi

rc=0
LEFT=$("$SIM" sweep missing "$OUT" 2>"$TMP/missing.err") || rc=$?
if ((rc == 0)) && [[ -z $LEFT && ! -s $TMP/missing.err ]]; then
	ok "sim sweep missing: nothing left"
else
	bad "sim sweep missing after the resubmission: exit $rc, '$LEFT' $(cat "$TMP/missing.err")"
fi

rc=0
"$SIM" sweep merge "$OUT" >"$TMP/merge.out" 2>&1 || rc=$?
if ((rc == 0)) && grep -q "^merged      $POINTS of $POINTS points" "$TMP/merge.out" && grep -q "^missing     none" "$TMP/merge.out"; then
	ok "sim sweep merge: $(head -n 1 "$TMP/merge.out" | cut -c13-60)…"
else
	bad "sim sweep merge: exit $rc: $(cat "$TMP/merge.out")"
fi
# merged.jsonl: every point in point order, copied from the shards' lines;
# merged.csv: the keep best over the whole grid; the reference's results.jsonl
# and results.csv hold the same, written by one process.
for f in jsonl csv; do
	if (($(lines "$REF/results.$f") > 1)) && cmp "$OUT/merged.$f" "$REF/results.$f"; then
		ok "merged.$f = one process's results.$f, byte for byte ($(lines "$REF/results.$f") lines)"
	else
		bad "merged.$f differs from one process's results.$f"
	fi
done

say "$((SECONDS - START)) s in all"
echo "$passed passed, $failed failed"
((failed == 0))
