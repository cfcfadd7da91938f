//! Which commit introduced a blob (issue 13): commits are ordered parents first (oldest commit
//! time first among those ready together), and each commit's tree is walked skipping every tree
//! and blob already seen, so a blob is attributed to the first commit, path and author date that
//! reach it. Works on any object source: a pack decoded in memory or a repository on disk.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use gix_hash::ObjectId;

/// What the attribution needs from one commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// Its root tree.
    pub tree: ObjectId,
    /// Its parents (a shallow clone's boundary commits list parents that are not there).
    pub parents: Vec<ObjectId>,
    /// Committer time, seconds since the epoch (orders commits that are ready together).
    pub time: i64,
    /// Author date, RFC 3339 with the author's offset (`2024-05-01T09:30:00+02:00`).
    pub author_date: Option<String>,
}

/// Parses the fields [`Commit`] keeps; `None` for bytes that are not a commit.
pub fn parse_commit(data: &[u8]) -> Option<Commit> {
    let c = gix_object::CommitRef::from_bytes(data, gix_hash::Kind::Sha1).ok()?;
    let time = c.committer().ok().and_then(|s| raw_time(s.time)).map_or(0, |(t, _)| t);
    let author_date = c.author().ok().and_then(|s| raw_time(s.time)).map(|(t, off)| rfc3339(t, off));
    Some(Commit { tree: c.tree(), parents: c.parents().collect(), time, author_date })
}

/// The object a tag points at.
pub fn tag_target(data: &[u8]) -> Option<ObjectId> {
    let t = gix_object::TagRef::from_bytes(data, gix_hash::Kind::Sha1).ok()?;
    ObjectId::from_hex(t.target).ok()
}

/// `"1714548600 +0200"` as seconds and offset in minutes.
fn raw_time(s: &str) -> Option<(i64, i32)> {
    let mut parts = s.split_ascii_whitespace();
    let secs: i64 = parts.next()?.parse().ok()?;
    let tz = parts.next().unwrap_or("+0000");
    let (sign, digits) = match tz.as_bytes().first() {
        Some(b'-') => (-1, &tz[1..]),
        Some(b'+') => (1, &tz[1..]),
        _ => (1, tz),
    };
    let n: i32 = digits.parse().ok().filter(|_| digits.len() == 4)?;
    Some((secs, sign * ((n / 100) * 60 + n % 100)))
}

/// Seconds since the epoch at an offset, as RFC 3339 (`2024-05-01T09:30:00+02:00`).
pub fn rfc3339(secs: i64, offset_minutes: i32) -> String {
    let local = secs.saturating_add(i64::from(offset_minutes) * 60);
    let (days, rem) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (year, month, day) = crate::time::civil_from_days(days);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        off / 60,
        off % 60
    )
}

/// The ids of `commits`, parents before children; among commits whose parents are all done,
/// the oldest committer time first (then the id, so the order is stable). Parents that are not
/// in `commits` (a shallow boundary, a range's excluded side) do not hold a commit back.
pub fn order<S: std::hash::BuildHasher>(commits: &HashMap<ObjectId, Commit, S>) -> Vec<ObjectId> {
    let mut waiting: HashMap<&ObjectId, usize> = HashMap::with_capacity(commits.len());
    let mut children: HashMap<&ObjectId, Vec<&ObjectId>> = HashMap::new();
    let mut ready = BinaryHeap::new();
    for (id, c) in commits {
        let mut parents: Vec<&ObjectId> = c.parents.iter().filter(|p| commits.contains_key(*p)).collect();
        parents.sort_unstable();
        parents.dedup();
        for p in &parents {
            children.entry(*p).or_default().push(id);
        }
        if parents.is_empty() {
            ready.push(Reverse((c.time, id)));
        } else {
            waiting.insert(id, parents.len());
        }
    }
    let mut out = Vec::with_capacity(commits.len());
    while let Some(Reverse((_, id))) = ready.pop() {
        out.push(*id);
        for child in children.get(id).into_iter().flatten() {
            if let Some(n) = waiting.get_mut(child) {
                *n -= 1;
                if *n == 0 {
                    waiting.remove(child);
                    ready.push(Reverse((commits[*child].time, *child)));
                }
            }
        }
    }
    out
}

/// What a tree walk met.
pub enum Met<'a> {
    /// A blob (or symlink) first reached here: its id and path in the tree.
    Blob(ObjectId, &'a [u8]),
    /// A tree that could not be loaded: its id and path.
    MissingTree(ObjectId, &'a [u8]),
}

/// Walks trees, remembering every tree and blob already seen.
#[derive(Default)]
pub struct Walker {
    trees: HashSet<ObjectId>,
    blobs: HashSet<ObjectId>,
}

impl Walker {
    /// Walks `root`, calling `met` for each blob not seen before and each tree `load` cannot
    /// provide. `load(id, buf)` puts a tree's bytes in `buf` and returns false when it has none.
    pub fn walk(
        &mut self,
        root: ObjectId,
        load: &mut dyn FnMut(&ObjectId, &mut Vec<u8>) -> bool,
        met: &mut dyn FnMut(Met<'_>),
    ) {
        let mut stack: Vec<(ObjectId, Vec<u8>)> = vec![(root, Vec::new())];
        let mut buf = Vec::new();
        while let Some((id, prefix)) = stack.pop() {
            if !self.trees.insert(id) {
                continue;
            }
            buf.clear();
            if !load(&id, &mut buf) {
                met(Met::MissingTree(id, &prefix));
                continue;
            }
            let mut subtrees = Vec::new();
            for entry in gix_object::TreeRefIter::from_bytes(&buf, gix_hash::Kind::Sha1) {
                let Ok(entry) = entry else { break };
                let mut path = prefix.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(entry.filename);
                let oid = entry.oid.to_owned();
                if entry.mode.is_tree() {
                    subtrees.push((oid, path));
                } else if entry.mode.is_blob_or_symlink() && self.blobs.insert(oid) {
                    met(Met::Blob(oid, &path));
                }
            }
            // Popped in name order.
            stack.extend(subtrees.into_iter().rev());
        }
    }

    /// True when `id` was met as a blob.
    pub fn seen_blob(&self, id: &ObjectId) -> bool {
        self.blobs.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let cases = [
            ((0, 0), "1970-01-01T00:00:00+00:00"),
            ((1_714_548_600, 120), "2024-05-01T09:30:00+02:00"),
            ((951_782_400, -330), "2000-02-28T18:30:00-05:30"),
        ];
        for ((secs, off), want) in cases {
            assert_eq!(rfc3339(secs, off), want);
        }
        assert_eq!(raw_time("1714548600 +0200"), Some((1_714_548_600, 120)));
        assert_eq!(raw_time("1714548600 -0130"), Some((1_714_548_600, -90)));
        assert_eq!(raw_time("x"), None);
    }

    #[test]
    fn parents_first_then_oldest() {
        let id = |n: u8| ObjectId::from_bytes_or_panic(&[n; 20]);
        let c = |parents: &[u8], time| Commit {
            tree: id(0),
            parents: parents.iter().map(|&p| id(p)).collect(),
            time,
            author_date: None,
        };
        // 1 <- 2 <- 4, 1 <- 3 <- 4; 3 is older than 2; 5 has a missing (shallow) parent 9.
        let commits: HashMap<ObjectId, Commit> = [
            (id(1), c(&[], 10)),
            (id(2), c(&[1], 30)),
            (id(3), c(&[1], 20)),
            (id(4), c(&[2, 3], 5)),
            (id(5), c(&[9], 1)),
        ]
        .into_iter()
        .collect();
        assert_eq!(order(&commits), vec![id(5), id(1), id(3), id(2), id(4)]);
    }
}
