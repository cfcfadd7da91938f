//! The small non-cryptographic hash that shard placement and the watch name index share: FNV-1a
//! (streamable: a prefix's state can be carried on), then a murmur3 finaliser, as FNV's bits are
//! poorly mixed for short keys that differ only at the end. Not for anything an attacker must
//! not collide: both users only lose balance to a collision, never correctness.

/// FNV-1a's starting state.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a state `h` carried on over `bytes`.
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The murmur3 64-bit finaliser: every output bit depends on every input bit.
pub fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}
