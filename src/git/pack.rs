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
    let end = bytes.len().saturating_sub(20) as u64;
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
        if let Header::RefDelta { base_id } = &entry.header
            && !ids.contains_key(base_id)
        {
            // The base may come later in the pack: find this entry's end, and retry at the end.
            match entry_len(&pack, &entry, &mut inflate, limits.object_cap) {
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
                match entry_len(&pack, &entry, &mut inflate, limits.object_cap) {
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
/// by inflating it, so the walk can step over an entry it cannot decode.
fn entry_len(
    pack: &data::File<&[u8]>,
    entry: &data::Entry,
    inflate: &mut gix_zlib::Inflate,
    cap: usize,
) -> Result<usize, String> {
    let size = usize::try_from(entry.decompressed_size).map_err(|_| "entry size too large".to_string())?;
    if size > cap {
        return Err(format!("entry of {size} bytes is over the object limit"));
    }
    let mut buf = vec![0; size];
    pack.decompress_entry(entry, inflate, &mut buf).map_err(|e| message(&e))
}

/// A gix error as one lowercase line (its chain of causes joined).
pub fn message(e: &impl std::fmt::Display) -> String {
    let s = e.to_string();
    let line = s.lines().map(|l| l.trim().trim_end_matches('.')).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(": ");
    let mut chars = line.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect::<String>().trim_end_matches('.').to_string(),
        None => "unknown error".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"PACK", b"PACK\0\0\0\x02\0\0\0\x05", b"PACK\0\0\0\x09\0\0\0\x01xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]
        {
            let w = walk(bytes, PackLimits::default(), |_, _, _| panic!("no object in garbage"));
            assert!(matches!(w.stopped, Some(Stop::Corrupt(_))), "{bytes:?}: {w:?}");
        }
    }

    #[test]
    fn messages_are_lowercase_lines() {
        assert_eq!(message(&"Pack entry is truncated.\n  Caused by x"), "pack entry is truncated: Caused by x");
        assert_eq!(message(&""), "unknown error");
    }
}
