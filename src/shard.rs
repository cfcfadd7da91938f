//! `--shard K/N` (issue 12): a deterministic share of the inputs, so N machines (a Slurm job
//! array, a Kubernetes Indexed Job) scan a mirror together without talking to each other.
//!
//! A file belongs to shard `K` when the FNV-1a hash of its path *below the scan root* is
//! `K - 1` modulo `N`: the same mirror mounted at different places shards the same way, every
//! file is in exactly one shard, and a hash spreads files (and so bytes, on a mirror of many
//! similar archives) evenly. Files added between runs only land in their own shard. `sluice
//! merge` recombines the shard outputs.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind};

/// One shard out of `n`, 1-based as on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1..=n.
    pub k: u32,
    /// The number of shards.
    pub n: u32,
}

impl Shard {
    /// Parses `K/N` (1 <= K <= N).
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
        Ok(Shard { k, n })
    }

    /// True when the file at `path` (found under one of `roots`) is in this shard.
    pub fn selects(&self, roots: &[PathBuf], path: &Path) -> bool {
        let rel = roots
            .iter()
            .filter_map(|r| path.strip_prefix(r).ok())
            .filter(|rel| !rel.as_os_str().is_empty())
            .min_by_key(|rel| rel.as_os_str().len())
            .unwrap_or_else(|| path.file_name().map_or(path, Path::new));
        fnv1a(rel.as_os_str().as_encoded_bytes()) % u64::from(self.n) == u64::from(self.k - 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { k: 1, n: 3 });
        for bad in ["0/3", "4/3", "1/0", "a/b", "3", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn partitions_and_balances() {
        let roots = [PathBuf::from("/m")];
        let n = 4;
        let mut sizes = [0usize; 4];
        for i in 0..4000 {
            let path = PathBuf::from(format!("/m/npm/pkg-{i}-1.0.{}.tgz", i % 7));
            let owners: Vec<u32> = (1..=n).filter(|&k| Shard { k, n }.selects(&roots, &path)).collect();
            assert_eq!(owners.len(), 1, "{path:?}");
            sizes[owners[0] as usize - 1] += 1;
            // Another mount point: the same shard.
            let moved = PathBuf::from(format!("/srv/mirror/npm/pkg-{i}-1.0.{}.tgz", i % 7));
            assert!(Shard { k: owners[0], n }.selects(&[PathBuf::from("/srv/mirror")], &moved));
        }
        assert!(sizes.iter().all(|&s| (900..1100).contains(&s)), "{sizes:?}");
    }
}
