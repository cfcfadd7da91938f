//! bzip2: a streaming decoder over any buffered input (every stream of a multi-stream file),
//! via the `bzip2` crate's pure-Rust backend, which the zip crate already brings in.

use std::io::{self, BufRead, Read};

use ::bzip2::bufread::MultiBzDecoder;

use super::{Codec, Consumed, Decode, Input};

/// bzip2 in the registry of compression formats.
pub(super) struct Bzip2;

impl Codec for Bzip2 {
    fn name(&self) -> &'static str {
        "bzip2"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        sniff(head)
    }
    fn decoder<'a>(&self, input: Input<'a>) -> io::Result<Box<dyn Decode + 'a>> {
        Ok(Box::new(Decoder::new(input)))
    }
}

/// True for a bzip2 stream header: `BZh`, a block size digit, then a block or end-of-stream
/// magic (so a text file starting with "BZh1" is not taken for one).
pub(super) fn sniff(head: &[u8]) -> bool {
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] || head[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
}

/// Decodes the bzip2 streams of `input`.
pub(super) struct Decoder<B: BufRead> {
    inner: MultiBzDecoder<B>,
}

impl<B: BufRead> Decoder<B> {
    pub(super) fn new(input: B) -> Decoder<B> {
        Decoder { inner: MultiBzDecoder::new(input) }
    }
}

impl<B: BufRead> Read for Decoder<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<B: BufRead + Consumed> Decode for Decoder<B> {
    fn consumed(&self) -> u64 {
        self.inner.get_ref().consumed()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::SliceInput;
    use super::*;

    #[test]
    fn round_trip_and_sniff() {
        let mut e = ::bzip2::write::BzEncoder::new(Vec::new(), ::bzip2::Compression::default());
        e.write_all(b"hello bzip2").unwrap();
        let data = e.finish().unwrap();
        assert!(sniff(&data));
        assert!(!sniff(b"BZh1 is a fine way to start a text file"));
        let mut out = Vec::new();
        Decoder::new(SliceInput::new(&data)).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello bzip2");
    }
}
