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

use std::collections::HashSet;

use super::names::{self, Confusion, Ecosystem};

const TAG_DEL: u64 = 1;
const TAG_BARE: u64 = 2;
const TAG_SKELETON: u64 = 3;
const TAG_SCOPE: u64 = 4;

/// Characters a one-edit variant may insert or substitute (normalised names).
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-._";

/// Collects normalised names, then builds a [`NameIndex`].
#[derive(Default)]
pub struct NameIndexBuilder {
    buf: String,
    starts: Vec<u32>,
    ecos: Vec<Ecosystem>,
}

impl NameIndexBuilder {
    /// An empty builder.
    pub fn new() -> NameIndexBuilder {
        NameIndexBuilder { buf: String::new(), starts: vec![0], ecos: Vec::new() }
    }

    /// Adds one name, already normalised for `eco` (the caller removes duplicates); returns its id.
    pub fn push(&mut self, eco: Ecosystem, norm: &str) -> u32 {
        let id = self.ecos.len() as u32;
        self.buf.push_str(norm);
        self.starts.push(self.buf.len() as u32);
        self.ecos.push(eco);
        id
    }

    /// Builds the index.
    pub fn build(self) -> NameIndex {
        let NameIndexBuilder { buf, starts, ecos } = self;
        let n = ecos.len();
        let estimate: usize = (0..n).map(|i| (starts[i + 1] - starts[i]) as usize + 4).sum();
        let bits = (estimate / 2).max(1024).next_power_of_two().trailing_zeros();
        let mask = (1u64 << bits) - 1;
        let name = |i: usize| &buf[starts[i] as usize..starts[i + 1] as usize];
        let mut offsets = vec![0u32; (1usize << bits) + 1];
        for (i, &eco) in ecos.iter().enumerate() {
            for_each_key(eco, name(i), |h| offsets[(h & mask) as usize + 1] += 1);
        }
        for b in 1..offsets.len() {
            offsets[b] += offsets[b - 1];
        }
        let total = offsets[offsets.len() - 1] as usize;
        let mut ids = vec![0u32; total];
        let mut fill = offsets.clone();
        for (i, &eco) in ecos.iter().enumerate() {
            for_each_key(eco, name(i), |h| {
                let slot = &mut fill[(h & mask) as usize];
                ids[*slot as usize] = i as u32;
                *slot += 1;
            });
        }
        NameIndex { buf, starts, ecos, mask, offsets, ids }
    }
}

/// A built index (see the module docs).
pub struct NameIndex {
    buf: String,
    starts: Vec<u32>,
    ecos: Vec<Ecosystem>,
    mask: u64,
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

/// One name the index found for a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The name's id (as [`NameIndexBuilder::push`] returned it).
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
        let i = id as usize;
        &self.buf[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// The ecosystem of the name with this id.
    pub fn ecosystem(&self, id: u32) -> Ecosystem {
        self.ecos[id as usize]
    }

    /// Approximate heap bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.buf.len() + self.starts.len() * 4 + self.ecos.len() + (self.offsets.len() + self.ids.len()) * 4
    }

    fn bucket(&self, h: u64) -> &[u32] {
        let b = (h & self.mask) as usize;
        &self.ids[self.offsets[b] as usize..self.offsets[b + 1] as usize]
    }

    /// Every indexed name of `eco` that imitates `target` (normalised for `eco`), by id.
    pub fn query(&self, eco: Ecosystem, target: &str) -> Vec<Hit> {
        let mut keys: HashSet<u64> = HashSet::new();
        for_each_deletion(eco, target, |h| {
            keys.insert(h);
        });
        if names::max_distance(target.chars().count()) >= 2 {
            for variant in one_edit_variants(target.as_bytes()) {
                for_each_deletion_bytes(eco, &variant, |h| {
                    keys.insert(h);
                });
            }
        }
        keys.insert(key(eco, TAG_BARE, names::bare(target).as_bytes()));
        keys.insert(key(eco, TAG_SKELETON, names::skeleton(target).as_bytes()));
        if eco == Ecosystem::Npm && names::split_scope(target).is_none() {
            keys.insert(key(eco, TAG_SCOPE, target.as_bytes()));
        }
        for v in names::generated_variants(eco, target) {
            keys.insert(key(eco, TAG_DEL, v.as_bytes()));
            if eco == Ecosystem::Npm {
                keys.insert(key(eco, TAG_SCOPE, v.as_bytes()));
            }
        }
        let mut seen: HashSet<u32> = HashSet::new();
        let mut hits = Vec::new();
        for h in keys {
            for &id in self.bucket(h) {
                if self.ecos[id as usize] != eco || !seen.insert(id) {
                    continue;
                }
                if let Some(confusion) = names::classify(eco, target, self.name(id)) {
                    hits.push(Hit { id, confusion });
                }
            }
        }
        hits.sort_by_key(|h| h.id);
        hits
    }
}

/// FNV-1a over the bytes, seeded by ecosystem and key kind, then a murmur3 finaliser so the low
/// bits that pick the bucket are well mixed.
fn hash_parts(seed: u64, a: &[u8], b: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &byte in a.iter().chain(b) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn seed(eco: Ecosystem, tag: u64) -> u64 {
    (eco as u64) << 8 | tag
}

fn key(eco: Ecosystem, tag: u64, bytes: &[u8]) -> u64 {
    hash_parts(seed(eco, tag), bytes, &[])
}

/// The name and each string one deletion away (a run of equal bytes gives one deletion).
fn for_each_deletion_bytes(eco: Ecosystem, b: &[u8], mut f: impl FnMut(u64)) {
    let s = seed(eco, TAG_DEL);
    f(hash_parts(s, b, &[]));
    for i in 0..b.len() {
        if i > 0 && b[i] == b[i - 1] {
            continue;
        }
        f(hash_parts(s, &b[..i], &b[i + 1..]));
    }
}

fn for_each_deletion(eco: Ecosystem, name: &str, f: impl FnMut(u64)) {
    for_each_deletion_bytes(eco, name.as_bytes(), f);
}

/// Every key a name is filed under.
fn for_each_key(eco: Ecosystem, name: &str, mut f: impl FnMut(u64)) {
    for_each_deletion(eco, name, &mut f);
    let bare = names::bare(name);
    f(key(eco, TAG_BARE, bare.as_bytes()));
    f(key(eco, TAG_SKELETON, names::skeleton(name).as_bytes()));
    if eco == Ecosystem::Npm
        && let Some((_, base)) = names::split_scope(name)
    {
        f(key(eco, TAG_SCOPE, base.as_bytes()));
    }
}

/// Every string one edit (deletion, transposition, substitution, insertion) from `t`.
fn one_edit_variants(t: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(t.len() * ALPHABET.len() * 2 + t.len() * 2);
    for i in 0..t.len() {
        let mut v = t.to_vec();
        v.remove(i);
        out.push(v);
        if i + 1 < t.len() {
            let mut v = t.to_vec();
            v.swap(i, i + 1);
            out.push(v);
        }
        for &c in ALPHABET {
            if c != t[i] {
                let mut v = t.to_vec();
                v[i] = c;
                out.push(v);
            }
        }
    }
    for i in 0..=t.len() {
        for &c in ALPHABET {
            let mut v = Vec::with_capacity(t.len() + 1);
            v.extend_from_slice(&t[..i]);
            v.push(c);
            v.extend_from_slice(&t[i..]);
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::names::Kind;

    fn index(names: &[(Ecosystem, &str)]) -> NameIndex {
        let mut b = NameIndexBuilder::new();
        for (eco, n) in names {
            b.push(*eco, &eco.normalise(n));
        }
        b.build()
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
