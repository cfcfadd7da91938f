//! Archive expansion: sniff a unit's magic bytes, and expand archives into child units within
//! [`Limits`], recursively. Each format lives in its own module: bytes or a stream in, child
//! units out. Nothing is written to disk.

use std::io::{Cursor, Read};

use super::{Chain, Content, Limits, Visitor};
use crate::error::Error;

/// Archive and compression formats recognised by magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// gzip (`.gz`, `.tgz`, `.crate`).
    Gzip,
    /// zstd frame.
    Zstd,
    /// POSIX/GNU tar.
    Tar,
    /// zip family (`.zip`, `.whl`, `.jar`, ...).
    Zip,
}

/// Bytes needed to sniff every format (tar's magic sits at offset 257).
pub const SNIFF_LEN: usize = 512;

/// The format of a unit starting with `head`, if it is an archive.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Format::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Format::Zstd)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some(Format::Tar)
    } else {
        None
    }
}

/// Settings shared by every expansion of one scan.
#[derive(Clone, Copy, Debug)]
pub struct Expander {
    /// Expansion limits.
    pub limits: Limits,
    /// False under `--no-archives`: every unit is a leaf.
    pub enabled: bool,
}

impl Expander {
    /// Sniffs `content` and either hands it to `visitor` as a leaf or expands it.
    pub fn process(&self, chain: &Chain, content: Content<'_>, visitor: &mut dyn Visitor) -> Result<(), Error> {
        match content {
            Content::Bytes(bytes) => match sniff(bytes).filter(|_| self.enabled) {
                None => visitor.leaf(chain, Content::Bytes(bytes)),
                Some(format) => self.expand(format, chain, Content::Bytes(bytes), visitor),
            },
            Content::Reader(reader) => {
                let mut head = Vec::with_capacity(SNIFF_LEN);
                reader.take(SNIFF_LEN as u64).read_to_end(&mut head).map_err(|e| Error::io(&e))?;
                let mut joined = Cursor::new(&head[..]).chain(reader);
                match sniff(&head).filter(|_| self.enabled) {
                    None => visitor.leaf(chain, Content::Reader(&mut joined)),
                    Some(format) => self.expand(format, chain, Content::Reader(&mut joined), visitor),
                }
            }
        }
    }

    #[allow(clippy::unused_self)] // until the format modules land
    fn expand(&self, _format: Format, chain: &Chain, content: Content<'_>, visitor: &mut dyn Visitor) -> Result<(), Error> {
        // Formats are expanded by their modules (issue 4); until then an archive is a leaf.
        visitor.leaf(chain, content)
    }
}
