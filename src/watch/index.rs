//! An index of package names for confusion queries: one name against millions in milliseconds.
//!
//! Symmetric-delete (deletion neighbourhoods): each name is filed under the hash of itself and of
//! every string one deletion away. Two names within one edit (insertion, deletion, substitution or
//! adjacent transposition) share such a key, so a query looks up its own deletion neighbourhood.
//! Long names tolerate two edits: the query expands each one-edit variant of itself (a few
//! hundred strings) and looks up their neighbourhoods, which is still only ~10⁴ bucket reads and
//! keeps the index at one deletion per name. Exact keys for the separator-free form, the homoglyph
//! skeleton and the npm scope-free name find the confusions that are not small edits, and
//! combosquats are generated from the target and looked up exactly. Every hit is verified by
//! [`names::classify`], so hash collisions cost time, never a false report.
//!
//! Layout: the names in one string buffer, and the keys in a bucketed CSR (`offsets` into `ids`),
//! about 4 bytes per key and 13 keys per name: 5 million names take ~400 MB and a few seconds.

use rayon::prelude::*;

use super::names::{self, Confusion, Ecosystem};
use crate::hash;

const TAG_DEL: u64 = 1;
const TAG_BARE: u64 = 2;
const TAG_SKELETON: u64 = 3;
const TAG_SCOPE: u64 = 4;

/// Characters a one-edit variant may insert or substitute (normalised names).
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-._";

/// Names per unit of parallel work when the keys are computed.
const CHUNK: usize = 1 << 16;

/// The buckets are filled in `2^PART_BITS` partitions of consecutive buckets, one at a time per
/// thread, so that the counts, cursors and ids a partition writes stay in cache (a random write
/// over the whole bucket array per key was most of the build).
const PART_BITS: u32 = 10;

/// Strings in one buffer: string `i` is `buf[starts[i]..starts[i + 1]]`. Millions of names
/// without one allocation each. Holds at most 4 GiB of text (the callers bound their input).
pub struct Arena {
    buf: String,
    starts: Vec<u32>,
}

impl Default for Arena {
    fn default() -> Arena {
        Arena { buf: String::new(), starts: vec![0] }
    }
}

impl Arena {
    /// Appends a string; returns its id.
    pub fn push(&mut self, s: &str) -> u32 {
        self.buf.push_str(s);
        self.starts.push(self.buf.len() as u32);
        (self.starts.len() - 2) as u32
    }

    /// The string with this id.
    pub fn get(&self, id: u32) -> &str {
        let i = id as usize;
        &self.buf[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// How many strings.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes used.
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.starts.capacity() * 4
    }
}

/// An empty slot of the builder's table.
const FREE: u64 = u64::MAX;

/// Collects distinct normalised names, then builds a [`NameIndex`].
pub struct NameIndexBuilder {
    names: Arena,
    ecos: Vec<Ecosystem>,
    /// Open addressing over the names so far, for [`NameIndexBuilder::insert`]: each slot holds
    /// the top 32 bits of the name's hash and its id, and the slot is picked by the top bits, so
    /// growing never rehashes a string.
    table: Vec<u64>,
}

impl Default for NameIndexBuilder {
    fn default() -> NameIndexBuilder {
        NameIndexBuilder::new()
    }
}

impl NameIndexBuilder {
    /// An empty builder.
    pub fn new() -> NameIndexBuilder {
        NameIndexBuilder::with_capacity(0)
    }

    /// An empty builder with room for about `names` names (growing the table costs more than
    /// filling it).
    pub fn with_capacity(names: usize) -> NameIndexBuilder {
        let slots = (names.saturating_mul(2) + 1).max(1024).next_power_of_two().min(1 << 32);
        NameIndexBuilder { names: Arena::default(), ecos: Vec::with_capacity(names), table: vec![FREE; slots] }
    }

    /// Adds a name normalised for `eco`, unless it is already there: returns its id and whether
    /// it is new.
    pub fn insert(&mut self, eco: Ecosystem, norm: &str) -> (u32, bool) {
        self.reserve(1);
        self.insert_tagged(eco, norm, key(eco, TAG_DEL, norm.as_bytes()) >> 32)
    }

    /// [`NameIndexBuilder::insert`] for each name of `batch`, in order, appending to `out`. The
    /// table slots of the whole batch are read first: a name list's inserts are one cache miss
    /// each, and this way the misses overlap instead of following one another.
    pub fn insert_batch(&mut self, batch: &[(Ecosystem, &str)], out: &mut Vec<(u32, bool)>) {
        self.reserve(batch.len());
        let tags: Vec<u64> = batch.iter().map(|&(eco, norm)| key(eco, TAG_DEL, norm.as_bytes()) >> 32).collect();
        let warm = tags.iter().fold(0u64, |acc, &tag| acc ^ self.table[self.slot_of(tag)]);
        std::hint::black_box(warm);
        for (&(eco, norm), &tag) in batch.iter().zip(&tags) {
            out.push(self.insert_tagged(eco, norm, tag));
        }
    }

    fn reserve(&mut self, more: usize) {
        while (self.ecos.len() + more) * 2 > self.table.len() {
            self.grow();
        }
    }

    fn insert_tagged(&mut self, eco: Ecosystem, norm: &str, tag: u64) -> (u32, bool) {
        let mask = self.table.len() - 1;
        let mut slot = self.slot_of(tag);
        loop {
            let v = self.table[slot];
            if v == FREE {
                let id = self.names.push(norm);
                self.ecos.push(eco);
                self.table[slot] = tag << 32 | u64::from(id);
                return (id, true);
            }
            let id = v as u32;
            if v >> 32 == tag && self.ecos[id as usize] == eco && self.names.get(id) == norm {
                return (id, false);
            }
            slot = (slot + 1) & mask;
        }
    }

    fn slot_of(&self, tag: u64) -> usize {
        (tag >> (32 - self.table.len().trailing_zeros())) as usize
    }

    fn grow(&mut self) {
        let size = self.table.len() * 2;
        let old = std::mem::replace(&mut self.table, vec![FREE; size]);
        let mask = self.table.len() - 1;
        for v in old.into_iter().filter(|&v| v != FREE) {
            let mut slot = self.slot_of(v >> 32);
            while self.table[slot] != FREE {
                slot = (slot + 1) & mask;
            }
            self.table[slot] = v;
        }
    }

    /// Builds the index: the keys of each name are computed in parallel, grouped by partition
    /// of buckets, then each partition is counted and filled on its own (in parallel). Ids in a
    /// bucket are ascending, as a sequential fill would leave them.
    pub fn build(self) -> NameIndex {
        let NameIndexBuilder { names, ecos, table } = self;
        drop(table);
        let n = ecos.len();
        let estimate = names.buf.len() + 4 * n;
        let bits = (estimate / 2).max(1024).next_power_of_two().trailing_zeros();
        let mask = (1u64 << bits) - 1;
        let shift = bits - bits.min(PART_BITS);
        let parts = 1usize << (bits - shift);
        let part_of = |k: u64| (k >> 32 >> shift) as usize;

        // Per chunk of names: its keys as (bucket << 32 | id), split by partition.
        let chunks: Vec<Vec<Vec<u64>>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let ids = c * CHUNK..((c + 1) * CHUNK).min(n);
                let mut keys = Vec::with_capacity(ids.len() * 16);
                let mut scratch = Vec::new();
                for i in ids {
                    for_each_key(ecos[i], names.get(i as u32), &mut scratch, |h| {
                        keys.push((h & mask) << 32 | i as u64);
                    });
                }
                let mut counts = vec![0usize; parts];
                for &k in &keys {
                    counts[part_of(k)] += 1;
                }
                let mut out: Vec<Vec<u64>> = counts.into_iter().map(Vec::with_capacity).collect();
                for k in keys {
                    out[part_of(k)].push(k);
                }
                out
            })
            .collect();
        let mut by_part: Vec<Vec<Vec<u64>>> = (0..parts).map(|_| Vec::with_capacity(chunks.len())).collect();
        for chunk in chunks {
            for (p, keys) in chunk.into_iter().enumerate() {
                by_part[p].push(keys);
            }
        }
        let sizes: Vec<usize> = by_part.iter().map(|v| v.iter().map(Vec::len).sum()).collect();
        let total: usize = sizes.iter().sum();

        let mut ids = vec![0u32; total];
        let mut offsets = vec![0u32; (1usize << bits) + 1];
        offsets[1usize << bits] = total as u32;
        let mut id_parts = Vec::with_capacity(parts);
        let mut rest = ids.as_mut_slice();
        let mut starts = Vec::with_capacity(parts);
        let mut start = 0u32;
        for &size in &sizes {
            let (part, tail) = rest.split_at_mut(size);
            id_parts.push(part);
            rest = tail;
            starts.push(start);
            start += size as u32;
        }
        let local = (1u64 << shift) - 1;
        by_part
            .into_par_iter()
            .zip(id_parts)
            .zip(offsets[..1usize << bits].par_chunks_mut(1 << shift))
            .zip(starts)
            .for_each(|(((keys, ids), offs), start)| {
                for &k in keys.iter().flatten() {
                    offs[((k >> 32) & local) as usize] += 1;
                }
                let mut at = 0u32;
                for o in offs.iter_mut() {
                    (*o, at) = (at, at + *o);
                }
                let mut fill = offs.to_vec();
                for k in keys.into_iter().flatten() {
                    let slot = &mut fill[((k >> 32) & local) as usize];
                    ids[*slot as usize] = k as u32;
                    *slot += 1;
                }
                for o in offs.iter_mut() {
                    *o += start;
                }
            });
        NameIndex { names, ecos, mask, offsets, ids }
    }
}

/// A built index (see the module docs).
pub struct NameIndex {
    names: Arena,
    ecos: Vec<Ecosystem>,
    mask: u64,
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

/// One name the index found for a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The name's id (as [`NameIndexBuilder::insert`] returned it).
    pub id: u32,
    /// Why it was reported.
    pub confusion: Confusion,
}

impl NameIndex {
    /// How many names are indexed.
    pub fn len(&self) -> usize {
        self.ecos.len()
    }

    /// True when no name is indexed.
    pub fn is_empty(&self) -> bool {
        self.ecos.is_empty()
    }

    /// The normalised name with this id.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id)
    }

    /// The ecosystem of the name with this id.
    pub fn ecosystem(&self, id: u32) -> Ecosystem {
        self.ecos[id as usize]
    }

    /// The id of this exact name (normalised for `eco`), if indexed.
    pub fn find(&self, eco: Ecosystem, norm: &str) -> Option<u32> {
        let bucket = self.bucket(key(eco, TAG_DEL, norm.as_bytes()));
        bucket.iter().copied().find(|&id| self.ecos[id as usize] == eco && self.name(id) == norm)
    }

    /// Approximate heap bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.names.heap_bytes() + self.ecos.len() + (self.offsets.len() + self.ids.len()) * 4
    }

    fn bucket(&self, h: u64) -> &[u32] {
        let b = (h & self.mask) as usize;
        &self.ids[self.offsets[b] as usize..self.offsets[b + 1] as usize]
    }

    /// Every indexed name of `eco` that imitates `target` (normalised for `eco`), by id.
    pub fn query(&self, eco: Ecosystem, target: &str) -> Vec<Hit> {
        let mut keys: Vec<u64> = Vec::new();
        for_each_deletion(eco, target.as_bytes(), |h| keys.push(h));
        if names::max_distance(target.chars().count()) >= 2 {
            for_each_one_edit_variant(target.as_bytes(), |variant| {
                for_each_deletion(eco, variant, |h| keys.push(h));
            });
        }
        keys.push(key(eco, TAG_BARE, names::bare(target).as_bytes()));
        keys.push(key(eco, TAG_SKELETON, names::skeleton(target).as_bytes()));
        if eco == Ecosystem::Npm && names::split_scope(target).is_none() {
            keys.push(key(eco, TAG_SCOPE, target.as_bytes()));
        }
        for v in names::generated_variants(eco, target) {
            keys.push(key(eco, TAG_DEL, v.as_bytes()));
            if eco == Ecosystem::Npm {
                keys.push(key(eco, TAG_SCOPE, v.as_bytes()));
            }
        }
        // Distinct buckets, then distinct ids: sorting beats hashing at these sizes.
        let mut buckets: Vec<u64> = keys.into_iter().map(|h| h & self.mask).collect();
        buckets.sort_unstable();
        buckets.dedup();
        let mut ids: Vec<u32> = buckets
            .into_iter()
            .flat_map(|b| self.bucket(b))
            .copied()
            .filter(|&id| self.ecos[id as usize] == eco)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| names::classify(eco, target, self.name(id)).map(|confusion| Hit { id, confusion }))
            .collect()
    }
}

/// FNV-1a state at the start of a key of this kind.
fn fnv_start(seed: u64) -> u64 {
    hash::FNV_OFFSET ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn seed(eco: Ecosystem, tag: u64) -> u64 {
    (eco as u64) << 8 | tag
}

/// A key: FNV-1a over the bytes, seeded by ecosystem and key kind, then mixed.
fn key(eco: Ecosystem, tag: u64, bytes: &[u8]) -> u64 {
    hash::mix(hash::fnv1a(fnv_start(seed(eco, tag)), bytes))
}

/// The name and each string one deletion away (a run of equal bytes gives one deletion), as
/// `TAG_DEL` keys. The FNV state of each prefix is carried along, so a deletion hashes only
/// the bytes after it.
fn for_each_deletion(eco: Ecosystem, b: &[u8], mut f: impl FnMut(u64)) {
    let start = fnv_start(seed(eco, TAG_DEL));
    f(hash::mix(hash::fnv1a(start, b)));
    let mut prefix = start;
    for i in 0..b.len() {
        if i == 0 || b[i] != b[i - 1] {
            f(hash::mix(hash::fnv1a(prefix, &b[i + 1..])));
        }
        prefix = hash::fnv1a(prefix, &b[i..=i]);
    }
}

/// Every key a name is filed under; `scratch` is reused between names.
fn for_each_key(eco: Ecosystem, name: &str, scratch: &mut Vec<u8>, mut f: impl FnMut(u64)) {
    for_each_deletion(eco, name.as_bytes(), &mut f);
    names::bare_into(name, scratch);
    f(key(eco, TAG_BARE, scratch));
    names::skeleton_into(name, scratch);
    f(key(eco, TAG_SKELETON, scratch));
    if eco == Ecosystem::Npm
        && let Some((_, base)) = names::split_scope(name)
    {
        f(key(eco, TAG_SCOPE, base.as_bytes()));
    }
}

/// Every string one edit (deletion, transposition, substitution, insertion) from `t`, each
/// passed to `f` in one reused buffer.
fn for_each_one_edit_variant(t: &[u8], mut f: impl FnMut(&[u8])) {
    let mut v = Vec::with_capacity(t.len() + 1);
    for i in 0..t.len() {
        v.clear();
        v.extend_from_slice(&t[..i]);
        v.extend_from_slice(&t[i + 1..]);
        f(&v);
        v.clear();
        v.extend_from_slice(t);
        if i + 1 < t.len() {
            v.swap(i, i + 1);
            f(&v);
            v.swap(i, i + 1);
        }
        for &c in ALPHABET.iter().filter(|&&c| c != t[i]) {
            v[i] = c;
            f(&v);
        }
    }
    for i in 0..=t.len() {
        v.clear();
        v.extend_from_slice(&t[..i]);
        v.push(0);
        v.extend_from_slice(&t[i..]);
        for &c in ALPHABET {
            v[i] = c;
            f(&v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::names::Kind;

    fn index(names: &[(Ecosystem, &str)]) -> NameIndex {
        let mut b = NameIndexBuilder::new();
        for (eco, n) in names {
            b.insert(*eco, &eco.normalise(n));
        }
        b.build()
    }

    /// The parallel, partitioned build files every name under every one of its keys, once,
    /// with ascending ids per bucket (two keys of one name can share a bucket); batched and single inserts give the same ids, duplicates
    /// included; `find` finds each name.
    #[test]
    fn build_files_every_key_once() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        let list: Vec<(Ecosystem, String)> = (0..30_000)
            .map(|_| {
                let eco = Ecosystem::ALL[next(3) as usize];
                let len = 2 + next(8);
                let name: String = (0..len).map(|_| b"abcdefghij-1@/"[next(14) as usize] as char).collect();
                (eco, eco.normalise(&name))
            })
            .collect();
        let mut single = NameIndexBuilder::new();
        let ids: Vec<(u32, bool)> = list.iter().map(|(eco, n)| single.insert(*eco, n)).collect();
        assert!(ids.iter().any(|&(_, new)| !new), "the list has duplicates");
        let mut batched = NameIndexBuilder::with_capacity(5);
        let mut got = Vec::new();
        for chunk in list.chunks(37) {
            let chunk: Vec<(Ecosystem, &str)> = chunk.iter().map(|(e, n)| (*e, n.as_str())).collect();
            batched.insert_batch(&chunk, &mut got);
        }
        assert_eq!(got, ids);
        let idx = single.build();
        let mut scratch = Vec::new();
        let mut keys = 0;
        for id in 0..idx.len() as u32 {
            for_each_key(idx.ecosystem(id), idx.name(id), &mut scratch, |h| {
                keys += 1;
                assert!(idx.bucket(h).contains(&id), "{}", idx.name(id));
            });
            assert_eq!(idx.find(idx.ecosystem(id), idx.name(id)), Some(id));
        }
        assert_eq!(idx.ids.len(), keys);
        assert!(idx.offsets.windows(2).all(|w| w[0] <= w[1]));
        for b in 0..idx.offsets.len() - 1 {
            assert!(idx.bucket(b as u64).windows(2).all(|w| w[0] <= w[1]), "bucket {b}");
        }
        assert_eq!(idx.find(Ecosystem::Npm, "not-in-the-list-at-all"), None);
    }

    /// The index finds exactly what a linear scan with `classify` finds.
    #[test]
    fn equals_linear_scan() {
        use Ecosystem::{Crates, Npm, Pypi};
        let list = [
            (Npm, "lodash"),
            (Npm, "lodahs"),
            (Npm, "1odash"),
            (Npm, "lodash-js"),
            (Npm, "lo-dash"),
            (Npm, "lodash2"),
            (Npm, "@lodash/lodash"),
            (Npm, "lodestar"),
            (Npm, "dash"),
            (Npm, "lodasj"),
            (Npm, "lodashh"),
            (Pypi, "lodahs"),
            (Pypi, "requests"),
            (Pypi, "reqeusts"),
            (Pypi, "python-requests"),
            (Crates, "serde"),
            (Crates, "sedre"),
            (Npm, "opentelemetry-exporter"),
            (Npm, "opentelemetry-exportre"),
            (Npm, "opentelemetry-exprter"),
            (Npm, "opentelemetry-exprtr"),
            (Npm, "opentelemtry-exprtr"),
            (Npm, "@babel/core"),
            (Npm, "babel-core"),
            (Npm, "@evil/core"),
        ];
        let idx = index(&list);
        for (eco, target) in list {
            let target = eco.normalise(target);
            let got: Vec<u32> = idx.query(eco, &target).into_iter().map(|h| h.id).collect();
            let want: Vec<u32> = (0..idx.len() as u32)
                .filter(|&id| idx.ecosystem(id) == eco && names::classify(eco, &target, idx.name(id)).is_some())
                .collect();
            assert_eq!(got, want, "{eco} {target}");
        }
        let lodash: Vec<Kind> = idx.query(Npm, "lodash").into_iter().map(|h| h.confusion.kind).collect();
        assert!(lodash.contains(&Kind::Scope) && lodash.contains(&Kind::Combosquat), "{lodash:?}");
    }
}
