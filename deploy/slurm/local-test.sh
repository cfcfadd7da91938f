#!/usr/bin/env bash
# Runs deploy/slurm/sluice-array.sbatch on a real single-node Slurm cluster started here, on
# loopback, in a temporary directory (munged + slurmctld + slurmd as the current user, nothing
# installed or changed outside that directory), and checks that the merged findings of the N-task
# array equal one `sluice scan` of the same directory.
#
#   deploy/slurm/local-test.sh DIR            # SHARDS=4 by default; SLUICE=path/to/sluice
#   deploy/slurm/local-test.sh                # a generated directory: 300 files and 20 .tgz
#                                             # archives with made-up tokens (as CI runs it)
#
# Exit 0 and "PASSED" when the sets are equal; exit 0 and "SKIPPED: <reason>" when Slurm or
# munge is not installed (the test needs Debian's slurmctld, slurmd, slurm-client and munge);
# exit 1 when the array fails to run on a started cluster, or when the merge differs. A cluster
# that will not start here (a container without the privileges slurmd wants, say) is SKIPPED
# with its logs, unless STRICT=1, which makes it a failure.
set -euo pipefail
DIR=${1:+$(cd "$1" && pwd)}
SHARDS=${SHARDS:-4}
HERE=$(cd "$(dirname "$0")" && pwd)
SLUICE=$(realpath "${SLUICE:-$HERE/../../target/release/sluice}")
TIMEOUT=${TIMEOUT:-900}

for tool in munged slurmctld slurmd sbatch scontrol sinfo python3; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: $tool not installed (apt-get install slurmctld slurmd slurm-client munge)"; exit 0; }
done
[ -x "$SLUICE" ] || { echo "FAILED: no sluice binary at $SLUICE (cargo build --release, or set SLUICE)"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-slurm.XXXXXX")
chmod 755 "$TMP"
mkdir -p "$TMP/state" "$TMP/spool" "$TMP/out" "$TMP/munge"
stop() {
  # Only the daemons this script started, by the pid files it gave them.
  for pidfile in "$TMP/slurmd.pid" "$TMP/slurmctld.pid" "$TMP/munge/munged.pid"; do
    [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  [ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 1' TERM INT
logs() {
  for log in "$TMP"/*.log "$TMP"/munge/*.log; do [ -f "$log" ] && { echo "--- $log"; tail -n 20 "$log"; }; done
}
fail() {
  echo "FAILED: $*"
  logs
  exit 1
}
# The environment, not sluice: skip (with the logs) unless STRICT=1.
cannot_start() {
  [ -n "${STRICT:-}" ] && fail "$*"
  echo "SKIPPED: $* (the cluster could not start in this environment; STRICT=1 makes this a failure)"
  logs
  exit 0
}

if [ -z "$DIR" ]; then
  DIR="$TMP/fixture"
  # Made-up GitHub-style tokens (valid CRC32 tail, random body) in plain files and in archives.
  python3 - "$DIR" <<'EOF'
import io, os, random, sys, tarfile, zlib
root, rnd = sys.argv[1], random.Random(12)
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def token():
    body = "".join(rnd.choice(A) for _ in range(30))
    n, tail = zlib.crc32(body.encode()), ""
    for _ in range(6):
        tail, n = A[n % 62] + tail, n // 62
    return "ghp_" + body + tail
def text(i):
    lines = [f"// module {i}"] + [f"const x{j} = {rnd.random()};" for j in range(rnd.randint(5, 400))]
    if i % 3 == 0:
        lines.insert(rnd.randrange(len(lines)), f'const token = "{token()}";')
    return "\n".join(lines) + "\n"
for i in range(300):
    d = os.path.join(root, "src", f"d{i % 17}")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f"f{i}.js"), "w").write(text(i))
os.makedirs(os.path.join(root, "npm"), exist_ok=True)
for a in range(20):
    with tarfile.open(os.path.join(root, "npm", f"pkg{a}-1.0.{a}.tgz"), "w:gz") as t:
        for i in range(rnd.randint(1, 30)):
            data = text(1000 + a * 100 + i).encode()
            info = tarfile.TarInfo(f"package/lib/m{i}.js"); info.size = len(data)
            t.addfile(info, io.BytesIO(data))
EOF
fi

# munge: a fresh key and a private socket, so a system munged (if any) is neither used nor touched.
dd if=/dev/urandom of="$TMP/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$TMP/munge"
chmod 400 "$TMP/munge/munge.key"
SOCK="$TMP/munge/munge.sock"
munged --force --socket="$SOCK" --key-file="$TMP/munge/munge.key" --pid-file="$TMP/munge/munged.pid" \
  --log-file="$TMP/munge/munged.log" --seed-file="$TMP/munge/munged.seed" || cannot_start "munged would not start"

# Ports from the pid, so two runs on one machine do not collide.
PORT=$((20000 + ($$ % 20000) * 2))
NODE=sluicenode
CPUS=$(nproc)
USER_NAME=$(id -un)
cat > "$TMP/slurm.conf" <<EOF
ClusterName=sluicetest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=$USER_NAME
SlurmdUser=$USER_NAME
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
NodeName=$NODE NodeHostname=$(hostname) NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$TMP/slurm.conf"

started=$(date +%s)
slurmctld -f "$SLURM_CONF" || cannot_start "slurmctld would not start"
slurmd -f "$SLURM_CONF" -N "$NODE" || cannot_start "slurmd would not start"
for _ in $(seq 60); do
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 1
done
[ "$state" = idle ] || cannot_start "node not idle after 60 s (state '$state')"
echo "cluster up in $(($(date +%s) - started)) s: $NODE, $CPUS CPUs, ports $PORT-$((PORT + 1))"

# The array as documented in sluice-array.sbatch; one CPU a task so that tasks run side by side.
t0=$(date +%s.%N)
MIRROR="$DIR" OUT="$TMP/out" SLUICE="$SLUICE" timeout "$TIMEOUT" sbatch --wait --quiet \
  --array=1-"$SHARDS" --cpus-per-task=1 --mem-per-cpu=0 --output="$TMP/task-%a.log" \
  --export=ALL "$HERE/sluice-array.sbatch" || fail "the job array failed (sbatch --wait: $?)"
t1=$(date +%s.%N)
"$SLUICE" merge "$TMP"/out/shard-*.jsonl --output "$TMP/merged.jsonl" || [ $? -eq 1 ] || fail "sluice merge failed"
t2=$(date +%s.%N)
"$SLUICE" scan "$DIR" --threads "$CPUS" --format jsonl --no-progress --output "$TMP/single.jsonl" || [ $? -le 2 ] \
  || fail "the single scan failed"
t3=$(date +%s.%N)

python3 - "$TMP" "$SHARDS" "$t0" "$t1" "$t2" "$t3" "$CPUS" <<'EOF'
import glob, json, sys
tmp, shards = sys.argv[1], int(sys.argv[2])
t0, t1, t2, t3 = map(float, sys.argv[3:7])
def records(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out
def findings(recs):
    return {(r.get("rule"), r.get("path"), json.dumps(r.get("chain")), r.get("line"), r.get("column"), r.get("fingerprint"))
            for r in recs if r.get("kind") == "finding"}
merged, single = records(f"{tmp}/merged.jsonl"), records(f"{tmp}/single.jsonl")
m, s = findings(merged), findings(single)
per_shard = []
for k in range(1, shards + 1):
    summary = [r for r in records(f"{tmp}/out/shard-{k}.jsonl") if r.get("kind") == "summary"]
    if not summary:
        print(f"FAILED: shard {k} has no summary (did not finish)"); sys.exit(1)
    per_shard.append((summary[0].get("files", 0), summary[0].get("bytes", 0), summary[0].get("elapsed_ms", 0)))
fs = {r.get("fingerprint") for r in merged if r.get("kind") == "finding"}
fs1 = {r.get("fingerprint") for r in single if r.get("kind") == "finding"}
files1 = next((r.get("files") for r in single if r.get("kind") == "summary"), None)
print(f"array of {shards} (1 CPU each): {t1 - t0:.1f} s; merge {t2 - t1:.1f} s; single scan ({sys.argv[7]} threads) {t3 - t2:.1f} s")
for k, (files, b, ms) in enumerate(per_shard, 1):
    print(f"  shard {k}: {files} files, {b / 2**20:.1f} MiB scanned, {ms / 1000:.1f} s")
print(f"files: {sum(p[0] for p in per_shard)} in shards, {files1} in the single scan")
print(f"findings: {len(m)} merged, {len(s)} single; fingerprints: {len(fs)} merged, {len(fs1)} single")
if m != s or fs != fs1 or sum(p[0] for p in per_shard) != files1:
    for x in sorted(m - s)[:5]: print("  only merged:", x)
    for x in sorted(s - m)[:5]: print("  only single:", x)
    print("FAILED: the merged shards differ from one scan"); sys.exit(1)
print("PASSED: merged shards equal one scan")
EOF
