//! `--shard K/N` (issue 12): a deterministic share of the inputs, so N machines (a Slurm job
//! array, a Kubernetes Indexed Job) scan a mirror together without talking to each other.
//!
//! Each file has a point on a 64-bit ring: the hash of its path *below the scan root*, so the
//! same mirror mounted at different places shards the same way. Shard `K` owns one range of the
//! ring, and the N ranges tile it: whatever the ranges, every file is in exactly one shard.
//!
//! Where the sizes are known (a walk of the roots before the scan, [`Shard::balanced`]), the shards
//! are balanced by bytes (each file weighing its size plus [`PER_FILE`] for its fixed cost), in
//! two size classes:
//! - large files (each over `1/(16 N)` of the whole; at most `16 N` of them) are dealt out first,
//!   largest first, each to the lightest shard so far (ties: the lower point, the lower shard);
//! - the other files, sorted by their point, fill the ring, cut where their running total
//!   reaches what each shard still needs after its large files.
//!
//! Each shard then holds its share of the bytes to within about one small file. Why not greedy
//! packing of every file: a new file would reshuffle everything after it in the sorted listing
//! (on the mirror, 1% new files moved 1,072 of the 1,676 archives between 4 shards). With ranges a
//! new small file shifts the running total after it by its own size, so each cut moves past at
//! most a file or two: only files next to a cut change shard (and rescan, if the state store is
//! per shard), and only a new large file re-deals the few large ones. Without sizes
//! ([`Shard::parse`] alone) the ring is cut into N equal arcs, which balances file counts.
//! `sluice merge` recombines the shard outputs.
//!
//! Every node must see the same listing: a file added to the mirror while the array runs can
//! move a cut between two nodes' walks, so scan a snapshot (or a mirror not being synced).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind};
use crate::hash;

/// The cost of a file beyond its bytes, in bytes: opening, stat, a record. Keeps a shard of many
/// tiny files from being given all of them.
pub const PER_FILE: u64 = 4096;

/// The large files are those over `1/(LARGE * N)` of the bytes.
const LARGE: u128 = 16;

/// One shard out of `n`, 1-based as on the command line, and its range of the ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1..=n.
    pub k: u32,
    /// The number of shards.
    pub n: u32,
    /// First point of the ring this shard owns.
    from: u128,
    /// One past its last point (`2^64` for the last shard).
    to: u128,
    /// The large files' points and their shards, sorted: these go by this list, not the range.
    dealt: Vec<(u64, u32)>,
}

impl Shard {
    /// Parses `K/N` (1 <= K <= N): equal arcs of the ring until [`Shard::balanced`] places them.
    pub fn parse(s: &str) -> Result<Shard, Error> {
        let bad = || {
            Error::new(ErrorKind::Config, format!("invalid shard '{s}'"))
                .with_hint("use --shard K/N with 1 <= K <= N, e.g. --shard 1/4")
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        let arc = |i: u32| (u128::from(i) << 64) / u128::from(n);
        Ok(Shard { k, n, from: arc(k - 1), to: arc(k), dealt: Vec::new() })
    }

    /// This shard balanced by bytes over a listing: each file's [`point`] and size in bytes (16
    /// bytes a file, so a listing of millions is small). See the module docs; the result depends
    /// only on the listing's content, not on its order.
    #[must_use]
    pub fn balanced(self, mut points: Vec<(u64, u64)>) -> Shard {
        for p in &mut points {
            p.1 = p.1.saturating_add(PER_FILE);
        }
        points.sort_unstable();
        let n = self.n as usize;
        let total: u128 = points.iter().map(|&(_, w)| u128::from(w)).sum();
        if total == 0 {
            return self;
        }
        let large = |w: u64| u128::from(w) * LARGE * n as u128 > total;
        let mut dealt_order: Vec<(u64, u64)> = points.iter().filter(|p| large(p.1)).copied().collect();
        dealt_order.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut loads = vec![0u128; n];
        let mut dealt = Vec::with_capacity(dealt_order.len());
        for (p, w) in dealt_order {
            let lightest = (0..n).min_by_key(|&i| loads[i]).unwrap_or(0);
            loads[lightest] += u128::from(w);
            dealt.push((p, lightest as u32 + 1));
        }
        dealt.sort_unstable();
        // What each shard still needs (times N, to stay in integers), and the small files.
        let needs: Vec<u128> = loads.iter().map(|&l| total.saturating_sub(l * n as u128)).collect();
        let all_needs: u128 = needs.iter().sum();
        let small: Vec<(u64, u64)> = points.into_iter().filter(|p| !large(p.1)).collect();
        let rest: u128 = small.iter().map(|&(_, w)| u128::from(w)).sum();
        // Cut `i` (1..n): the point of the first small file whose middle lies past the needs of
        // shards 1..=i, as a share of the small files' bytes.
        let cut = |i: usize| -> u128 {
            if i == 0 {
                return 0;
            }
            if i == n || all_needs == 0 {
                return 1 << 64;
            }
            let target = rest.saturating_mul(needs[..i].iter().sum::<u128>());
            let mut before = 0u128;
            for &(p, w) in &small {
                // (before + w/2) / rest >= needs[..i] / all_needs, without fractions
                if (2 * before + u128::from(w)).saturating_mul(all_needs) >= target.saturating_mul(2) {
                    return u128::from(p);
                }
                before += u128::from(w);
            }
            1 << 64
        };
        let k = self.k as usize;
        Shard { k: self.k, n: self.n, from: cut(k - 1), to: cut(k), dealt }
    }

    /// True when the file at `path` (found under one of `roots`) is in this shard.
    pub fn selects(&self, roots: &[PathBuf], path: &Path) -> bool {
        let p = point(roots, path);
        match self.dealt.binary_search_by_key(&p, |d| d.0) {
            Ok(i) => self.dealt[i].1 == self.k,
            Err(_) => self.from <= u128::from(p) && u128::from(p) < self.to,
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// A file's point on the ring: its path below the closest root, hashed.
pub fn point(roots: &[PathBuf], path: &Path) -> u64 {
    let rel = roots
        .iter()
        .filter_map(|r| path.strip_prefix(r).ok())
        .filter(|rel| !rel.as_os_str().is_empty())
        .min_by_key(|rel| rel.as_os_str().len())
        .unwrap_or_else(|| path.file_name().map_or(path, Path::new));
    hash::mix(hash::fnv1a(hash::FNV_OFFSET, rel.as_os_str().as_encoded_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(shards: &[Shard], roots: &[PathBuf], path: &Path) -> Vec<u32> {
        shards.iter().filter(|s| s.selects(roots, path)).map(|s| s.k).collect()
    }

    #[test]
    fn parses() {
        assert_eq!(Shard::parse("1/3").unwrap().to_string(), "1/3");
        for bad in ["0/3", "4/3", "1/0", "a/b", "3", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn partitions_and_balances() {
        let roots = [PathBuf::from("/m")];
        let n = 4;
        let shards: Vec<Shard> = (1..=n).map(|k| Shard::parse(&format!("{k}/{n}")).unwrap()).collect();
        let mut sizes = [0usize; 4];
        for i in 0..4000 {
            let path = PathBuf::from(format!("/m/npm/pkg-{i}-1.0.{}.tgz", i % 7));
            let owner = owners(&shards, &roots, &path);
            assert_eq!(owner.len(), 1, "{path:?}");
            sizes[owner[0] as usize - 1] += 1;
            // Another mount point: the same shard.
            let moved = PathBuf::from(format!("/srv/mirror/npm/pkg-{i}-1.0.{}.tgz", i % 7));
            assert!(shards[owner[0] as usize - 1].selects(&[PathBuf::from("/srv/mirror")], &moved));
        }
        assert!(sizes.iter().all(|&s| (900..1100).contains(&s)), "{sizes:?}");
    }

    /// Sizes from 1 KiB to 64 MiB (a mirror's spread): by bytes, every shard within one large
    /// file of the mean, on any mount point; a new file moves only files next to a cut.
    #[test]
    fn balanced_by_bytes_and_stable() {
        let listing = |root: &str, count: u64| -> Vec<(PathBuf, u64)> {
            (0..count).map(|i| (PathBuf::from(format!("{root}/pypi/p{i}.whl")), 1024 << ((i * 7919) % 17))).collect()
        };
        let n = 4;
        let plan = |root: &str, files: &[(PathBuf, u64)]| -> Vec<Shard> {
            let points: Vec<(u64, u64)> =
                files.iter().map(|(p, size)| (point(&[PathBuf::from(root)], p), *size)).collect();
            (1..=n).map(|k| Shard::parse(&format!("{k}/{n}")).unwrap().balanced(points.clone())).collect()
        };
        // Bytes per shard; each file in exactly one.
        let tally = |shards: &[Shard], files: &[(PathBuf, u64)]| -> [u64; 4] {
            let mut bytes = [0u64; 4];
            for (path, size) in files {
                let owner = owners(shards, &[PathBuf::from("/m")], path);
                assert_eq!(owner.len(), 1, "{path:?}");
                bytes[owner[0] as usize - 1] += size;
            }
            bytes
        };
        let files = listing("/m", 600);
        let shards = plan("/m", &files);
        let bytes = tally(&shards, &files);
        let mean = bytes.iter().sum::<u64>() / 4;
        let largest = files.iter().map(|f| f.1).max().unwrap();
        assert!(bytes.iter().all(|&b| b.abs_diff(mean) <= largest), "{bytes:?} mean {mean}");
        // Elsewhere, listed in another order: the same ranges.
        let mut elsewhere = listing("/srv/x", 600);
        elsewhere.reverse();
        assert_eq!(plan("/srv/x", &elsewhere), shards);
        // One file more: few files change shard.
        let grown = listing("/m", 601);
        let after = plan("/m", &grown);
        let moved = files
            .iter()
            .filter(|(p, _)| owners(&shards, &[PathBuf::from("/m")], p) != owners(&after, &[PathBuf::from("/m")], p))
            .count();
        assert!(moved <= 2 * (n as usize - 1), "{moved} files moved");
        // A few files larger than the rest together: dealt out, the small ones fill around them.
        let mut skewed = listing("/m", 400);
        skewed.extend((0..6).map(|i| (PathBuf::from(format!("/m/big/{i}.whl")), 3 << 30)));
        let bytes = tally(&plan("/m", &skewed), &skewed);
        let mean = bytes.iter().sum::<u64>() / 4;
        assert!(bytes.iter().all(|&b| b.abs_diff(mean) <= 3 << 30), "{bytes:?} mean {mean}");
        // Every shard balanced on an empty listing too.
        assert_eq!(plan("/m", &[]), (1..=n).map(|k| Shard::parse(&format!("{k}/{n}")).unwrap()).collect::<Vec<_>>());
    }
}
