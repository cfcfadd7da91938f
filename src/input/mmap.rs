//! The only `unsafe` in the crate: map a file read-only, or read it when mapping fails.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, Read};

use memmap2::Mmap;

/// A file's bytes, mapped or read.
pub enum Bytes {
    /// Mapped read-only.
    Mapped(Mmap),
    /// Read into memory.
    Read(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Read(v) => v,
        }
    }
}

/// Maps `file` (of `len` bytes), falling back to reading it when mapping fails.
pub fn map_or_read(file: &mut File, len: u64) -> io::Result<Bytes> {
    // SAFETY: the map is read-only and private to this scan. If another process truncates the
    // file while it is mapped, reads past the new end raise SIGBUS; a scanner of untrusted trees
    // accepts that risk as ripgrep does, and only maps files above a size threshold.
    match unsafe { Mmap::map(&*file) } {
        Ok(m) => Ok(Bytes::Mapped(m)),
        Err(_) => {
            let mut v = Vec::with_capacity(len as usize);
            file.read_to_end(&mut v)?;
            Ok(Bytes::Read(v))
        }
    }
}
