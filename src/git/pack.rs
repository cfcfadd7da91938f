//! One git packfile in memory, read front to back without its `.idx` (issue 13): every entry is
//! decoded with gix-pack (deltas resolved, delta cycles and oversized allocations refused), its
//! object id computed, and handed to a callback. Needing no index means a pack streamed out of a
//! tar can be read whether its `.idx` member came before it, after it, or not at all.
//!
//! Hostile packs: a corrupt entry whose compressed length can still be found is reported as an
//! object error and the walk goes on; one whose length cannot be found ends the walk with an
//! error (the objects before it were already handed out). Ref-deltas whose base comes later in
//! the pack are retried once every object is known; a base that is nowhere is an object error.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use gix_hash::ObjectId;
use gix_object::Kind;
use gix_pack::data::{self, entry::Header};

/// Bounds for reading one pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackLimits {
    /// Largest object (or delta chain buffer) decoded; larger ones are object errors.
    pub object_cap: usize,
    /// Decoded bytes allowed for the whole pack (the archive budget).
    pub inflated_budget: u64,
    /// Decoded bytes allowed per packed byte (the ratio limit), past a 1 MiB floor.
    pub max_ratio: u64,
}

impl Default for PackLimits {
    fn default() -> PackLimits {
        PackLimits { object_cap: 64 << 20, inflated_budget: 16 << 30, max_ratio: 1000 }
    }
}

/// Why a walk over a pack ended early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The pack is corrupt or truncated past repair at this point.
    Corrupt(String),
    /// Decoded bytes passed `inflated_budget`.
    Budget,
    /// Decoded bytes passed `max_ratio` times the pack size.
    Ratio,
}

/// What a walk over a pack did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Walked {
    /// Objects handed to the callback.
    pub objects: u64,
    /// Decoded bytes handed to the callback.
    pub bytes: u64,
    /// Entries that could not be decoded: `(pack offset, message)`.
    pub errors: Vec<(u64, String)>,
    /// Objects over `object_cap`, stepped over: `(pack offset, size)`.
    pub oversized: Vec<(u64, u64)>,
    /// Why the walk ended before the last entry, if it did.
    pub stopped: Option<Stop>,
}

/// Bytes always allowed before the ratio limit applies (small packs compress well).
const RATIO_FLOOR: u64 = 1 << 20;
/// At most this many object errors are kept (a pack of garbage must not grow a huge list).
const MAX_ERRORS: usize = 100;

/// True when `bytes` start like a version 2 or 3 pack.
pub fn is_pack(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && bytes.starts_with(b"PACK") && matches!(bytes[4..8], [0, 0, 0, 2 | 3])
}

/// Decodes every object of the pack in `bytes`, calling `f(id, kind, data)` for each.
pub fn walk(bytes: &[u8], limits: PackLimits, mut f: impl FnMut(&ObjectId, Kind, &[u8])) -> Walked {
    let mut walked = Walked::default();
    let pack = match data::File::from_data(bytes, PathBuf::from("pack"), gix_hash::Kind::Sha1) {
        Ok(p) => p.with_alloc_limit_bytes(Some(limits.object_cap)),
        Err(e) => {
            walked.stopped = Some(Stop::Corrupt(format!("invalid pack header: {}", message(&e))));
            return walked;
        }
    };
    if !is_pack(bytes) {
        walked.stopped = Some(Stop::Corrupt("invalid pack header".into()));
        return walked;
    }
    // Entries may not run into the 20-byte trailer, but a truncated pack has none: the walk is
    // bounded by the data (and the header's object count), the trailer is not checked.
    let end = bytes.len() as u64;
    let ratio_cap = (bytes.len() as u64).saturating_mul(limits.max_ratio).max(RATIO_FLOOR);
    let mut ids: HashMap<ObjectId, u64> = HashMap::new();
    let mut deferred: Vec<u64> = Vec::new();
    let mut inflate = gix_zlib::Inflate::default();
    let mut cache = gix_pack::cache::lru::StaticLinkedList::<64>::new(32 << 20);
    let mut out = Vec::new();
    let mut offset = 12u64;
    let error = |walked: &mut Walked, at: u64, msg: String| {
        if walked.errors.len() < MAX_ERRORS {
            walked.errors.push((at, msg));
        }
    };
    // The budget check after each object: true when the walk must stop.
    let over = |walked: &mut Walked| {
        if walked.bytes > limits.inflated_budget {
            walked.stopped = Some(Stop::Budget);
        } else if walked.bytes > ratio_cap {
            walked.stopped = Some(Stop::Ratio);
        }
        walked.stopped.is_some()
    };
    for _ in 0..pack.num_objects() {
        if offset >= end {
            walked.stopped = Some(Stop::Corrupt(format!("pack truncated: entry at offset {offset} is past its end")));
            return walked;
        }
        let entry = match pack.entry(offset) {
            Ok(e) => e,
            Err(e) => {
                walked.stopped = Some(Stop::Corrupt(format!("entry at offset {offset}: {}", message(&e))));
                return walked;
            }
        };
        if !entry.header.is_delta() && entry.decompressed_size > limits.object_cap as u64 {
            match entry_len(bytes, &entry) {
                Ok(len) => {
                    if walked.oversized.len() < MAX_ERRORS {
                        walked.oversized.push((offset, entry.decompressed_size));
                    }
                    offset = entry.data_offset + len as u64;
                    continue;
                }
                Err(msg) => {
                    walked.stopped = Some(Stop::Corrupt(format!("entry at offset {offset}: {msg}")));
                    return walked;
                }
            }
        }
        if let Header::RefDelta { base_id } = &entry.header
            && !ids.contains_key(base_id)
        {
            // The base may come later in the pack: find this entry's end, and retry at the end.
            match entry_len(bytes, &entry) {
                Ok(len) => {
                    deferred.push(offset);
                    offset = entry.data_offset + len as u64;
                    continue;
                }
                Err(msg) => {
                    walked.stopped = Some(Stop::Corrupt(format!("entry at offset {offset}: {msg}")));
                    return walked;
                }
            }
        }
        let resolve = |id: &gix_hash::oid, _: &mut Vec<u8>| {
            Ok(ids.get(id).and_then(|&at| pack.entry(at).ok()).map(data::decode::entry::ResolvedBase::InPack))
        };
        match pack.decode_entry(entry.clone(), &mut out, &mut inflate, &resolve, &mut cache) {
            Ok(outcome) => {
                let next = entry.data_offset + outcome.compressed_size as u64;
                emit(&mut walked, &mut ids, offset, outcome.kind, &out, &mut f);
                offset = next;
                if over(&mut walked) {
                    return walked;
                }
            }
            Err(e) => {
                error(&mut walked, offset, format!("object at offset {offset}: {}", message(&e)));
                match entry_len(bytes, &entry) {
                    Ok(len) => offset = entry.data_offset + len as u64,
                    Err(msg) => {
                        walked.stopped = Some(Stop::Corrupt(format!("entry at offset {offset}: {msg}")));
                        return walked;
                    }
                }
            }
        }
    }
    // Ref-deltas whose base came later: retry while any resolves (a chain resolves one link per round).
    while !deferred.is_empty() {
        let before = deferred.len();
        let mut still = Vec::new();
        for at in deferred {
            let Ok(entry) = pack.entry(at) else { continue };
            if let Header::RefDelta { base_id } = &entry.header
                && !ids.contains_key(base_id)
            {
                still.push(at);
                continue;
            }
            let resolve = |id: &gix_hash::oid, _: &mut Vec<u8>| {
                Ok(ids.get(id).and_then(|&o| pack.entry(o).ok()).map(data::decode::entry::ResolvedBase::InPack))
            };
            match pack.decode_entry(entry, &mut out, &mut inflate, &resolve, &mut cache) {
                Ok(outcome) => {
                    emit(&mut walked, &mut ids, at, outcome.kind, &out, &mut f);
                    if over(&mut walked) {
                        return walked;
                    }
                }
                Err(e) => error(&mut walked, at, format!("object at offset {at}: {}", message(&e))),
            }
        }
        if still.len() == before {
            for at in still {
                let base = match pack.entry(at).map(|e| e.header) {
                    Ok(Header::RefDelta { base_id }) => base_id.to_string(),
                    _ => String::from("?"),
                };
                error(&mut walked, at, format!("object at offset {at}: delta base {base} is not in the pack"));
            }
            break;
        }
        deferred = still;
    }
    walked
}

fn emit(
    walked: &mut Walked,
    ids: &mut HashMap<ObjectId, u64>,
    offset: u64,
    kind: Kind,
    data: &[u8],
    f: &mut impl FnMut(&ObjectId, Kind, &[u8]),
) {
    let Ok(id) = gix_object::compute_hash(gix_hash::Kind::Sha1, kind, data) else { return };
    ids.insert(id, offset);
    walked.objects += 1;
    walked.bytes += data.len() as u64;
    f(&id, kind, data);
}

/// The compressed length of an entry's own data (a delta's instructions, not its result), found
/// by inflating it into a sink (no allocation of its size), so the walk can step over an entry
/// it cannot or will not decode. More output than the header declares is corruption.
fn entry_len(bytes: &[u8], entry: &data::Entry) -> Result<usize, String> {
    let start =
        usize::try_from(entry.data_offset).ok().filter(|&s| s < bytes.len()).ok_or("entry past the pack end")?;
    let mut z = flate2::bufread::ZlibDecoder::new(&bytes[start..]);
    let n = std::io::copy(&mut (&mut z).take(entry.decompressed_size.saturating_add(1)), &mut std::io::sink())
        .map_err(|e| format!("cannot inflate entry: {e}"))?;
    if n != entry.decompressed_size {
        return Err(format!("entry inflates to {n} bytes, its header says {}", entry.decompressed_size));
    }
    Ok(z.total_in() as usize)
}

/// A gix error as one lowercase line (its chain of causes joined).
pub fn message(e: &impl std::fmt::Display) -> String {
    let s = e.to_string();
    let line =
        s.lines().map(|l| l.trim().trim_end_matches('.')).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(": ");
    let mut chars = line.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect::<String>().trim_end_matches('.').to_string(),
        None => "unknown error".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A pack entry: (type, extra header bytes, data before compression).
    fn entry(kind: u8, extra: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut size = data.len() as u64;
        let mut b = (kind << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            out.push(b | 0x80);
            b = (size & 0x7f) as u8;
            size >>= 7;
        }
        out.push(b);
        out.extend_from_slice(extra);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        out.extend(z.finish().unwrap());
        out
    }

    fn ofs(distance: u64) -> Vec<u8> {
        let mut n = distance;
        let mut bytes = vec![(n & 0x7f) as u8];
        n >>= 7;
        while n > 0 {
            n -= 1;
            bytes.insert(0, 0x80 | (n & 0x7f) as u8);
            n >>= 7;
        }
        bytes
    }

    fn varint(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    /// A delta that ignores its base (of `base_len` bytes) and inserts `result`.
    fn delta(base_len: usize, result: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        varint(base_len, &mut d);
        varint(result.len(), &mut d);
        for chunk in result.chunks(127) {
            d.push(chunk.len() as u8);
            d.extend_from_slice(chunk);
        }
        d
    }

    /// A pack of `entries` (placed in order; returns the pack and each entry's offset).
    fn pack(entries: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
        let mut p = b"PACK\0\0\0\x02".to_vec();
        p.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        let mut offsets = Vec::new();
        for e in entries {
            offsets.push(p.len() as u64);
            p.extend_from_slice(e);
        }
        p.extend_from_slice(&[0; 20]);
        (p, offsets)
    }

    fn blob_id(data: &[u8]) -> ObjectId {
        gix_object::compute_hash(gix_hash::Kind::Sha1, Kind::Blob, data).unwrap()
    }

    fn collect(bytes: &[u8], limits: PackLimits) -> (Vec<(ObjectId, Vec<u8>)>, Walked) {
        let mut got = Vec::new();
        let w = walk(bytes, limits, |id, kind, data| {
            assert_eq!(kind, Kind::Blob);
            assert_eq!(*id, blob_id(data));
            got.push((*id, data.to_vec()));
        });
        (got, w)
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"PACK",
            b"PACK\0\0\0\x02\0\0\0\x05",
            b"PACK\0\0\0\x09\0\0\0\x01xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ] {
            let w = walk(bytes, PackLimits::default(), |_, _, _| panic!("no object in garbage"));
            assert!(matches!(w.stopped, Some(Stop::Corrupt(_))), "{bytes:?}: {w:?}");
        }
    }

    #[test]
    fn deep_delta_chains_resolve() {
        let base = b"base content".to_vec();
        let mut entries = vec![entry(3, &[], &base)];
        let mut prev = base.clone();
        let (mut sizes, mut want) = (vec![], vec![base.clone()]);
        for i in 0..500 {
            let next = format!("version {i}").into_bytes();
            sizes.push(entries.last().unwrap().len() as u64);
            entries.push(entry(6, &ofs(sizes[i]), &delta(prev.len(), &next)));
            want.push(next.clone());
            prev = next;
        }
        let (bytes, _) = pack(&entries);
        let (got, w) = collect(&bytes, PackLimits::default());
        assert_eq!(w.errors, vec![]);
        assert_eq!(w.stopped, None);
        assert_eq!(got.into_iter().map(|(_, d)| d).collect::<Vec<_>>(), want);
    }

    #[test]
    fn bad_deltas_are_object_errors_and_the_walk_goes_on() {
        let first = entry(3, &[], b"first");
        // An ofs-delta that points at itself (distance 0), one before the pack start, a
        // ref-delta to an object that is nowhere, and a ref-delta whose base comes later.
        let later = b"later base".to_vec();
        let entries = vec![
            first.clone(),
            entry(6, &ofs(0), &delta(5, b"x")),
            entry(6, &ofs(1 << 20), &delta(5, b"y")),
            entry(7, &[7; 20], &delta(5, b"z")),
            entry(7, blob_id(&later).as_bytes(), &delta(later.len(), b"resolved late")),
            entry(3, &[], &later),
            entry(3, &[], b"last"),
        ];
        let (bytes, _) = pack(&entries);
        let (got, w) = collect(&bytes, PackLimits::default());
        let datas: Vec<&[u8]> = got.iter().map(|(_, d)| &d[..]).collect();
        assert_eq!(datas, vec![&b"first"[..], b"later base", b"last", b"resolved late"], "{w:?}");
        assert_eq!(w.errors.len(), 3, "{w:?}");
        assert!(w.errors.iter().any(|(_, m)| m.contains("not in the pack")), "{w:?}");
        assert_eq!(w.stopped, None);
    }

    #[test]
    fn oversized_objects_are_stepped_over() {
        let big = vec![b'a'; 4096];
        let (bytes, offsets) = pack(&[entry(3, &[], &big), entry(3, &[], b"small")]);
        let limits = PackLimits { object_cap: 1024, ..PackLimits::default() };
        let (got, w) = collect(&bytes, limits);
        assert_eq!(got.len(), 1);
        assert_eq!(w.oversized, vec![(offsets[0], 4096)]);
    }

    #[test]
    fn truncated_and_over_budget_packs_stop_with_what_was_read() {
        let mut x = 1u32;
        let noise: Vec<u8> = (0..3000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 24) as u8
            })
            .collect();
        let (bytes, offsets) = pack(&[entry(3, &[], b"one"), entry(3, &[], &noise), entry(3, &[], b"three")]);
        let cut = &bytes[..offsets[1] as usize + 100];
        let (got, w) = collect(cut, PackLimits::default());
        assert_eq!(got.len(), 1);
        assert!(matches!(w.stopped, Some(Stop::Corrupt(_))), "{w:?}");
        let (got, w) = collect(&bytes, PackLimits { inflated_budget: 100, ..PackLimits::default() });
        assert_eq!((got.len(), w.stopped), (2, Some(Stop::Budget)));
        assert!(offsets[2] > offsets[1] + 1000, "the noise does not compress");
        let zeros = vec![0; 3 << 20];
        let (bytes, _) = pack(&[entry(3, &[], &zeros), entry(3, &[], b"after")]);
        let (got, w) = collect(&bytes, PackLimits { max_ratio: 2, ..PackLimits::default() });
        assert_eq!((got.len(), w.stopped), (1, Some(Stop::Ratio)));
    }

    #[test]
    fn messages_are_lowercase_lines() {
        assert_eq!(message(&"Pack entry is truncated.\n  Caused by x"), "pack entry is truncated: Caused by x");
        assert_eq!(message(&""), "unknown error");
    }
}
