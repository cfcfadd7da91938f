//! xz (`.xz`, `.tar.xz`): a streaming decoder over any buffered input (every stream of a
//! concatenated file), via `liblzma` (the maintained binding of the reference xz library, the
//! one the zip crate uses for its xz method), with its memory limit set so a hostile header
//! cannot make the decoder allocate more than [`MEMLIMIT`] bytes.

use std::io::{self, BufRead, Read};

use ::liblzma::bufread::XzDecoder;
use ::liblzma::stream::{CONCATENATED, Stream};

use super::zstd::OverLimit;
use super::{Codec, Consumed, Decode, Input};

/// The decoder memory accepted (80 MiB): `xz -9` needs about 65 MiB; a stream asking for more
/// is a `size-limit` skip, not an allocation.
pub const MEMLIMIT: u64 = 80 << 20;

/// xz in the registry of compression formats.
pub(super) struct Xz;

impl Codec for Xz {
    fn name(&self) -> &'static str {
        "xz"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        sniff(head)
    }
    fn decoder<'a>(&self, input: Input<'a>) -> io::Result<Box<dyn Decode + 'a>> {
        Ok(Box::new(Decoder::new(input)?))
    }
}

/// True for an xz stream header (`FD 37 7A 58 5A 00`).
pub(super) fn sniff(head: &[u8]) -> bool {
    head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])
}

/// Decodes the xz streams of `input`.
pub(super) struct Decoder<B: BufRead> {
    inner: XzDecoder<B>,
}

impl<B: BufRead> Decoder<B> {
    pub(super) fn new(input: B) -> io::Result<Decoder<B>> {
        let stream = Stream::new_stream_decoder(MEMLIMIT, CONCATENATED).map_err(io::Error::other)?;
        Ok(Decoder { inner: XzDecoder::new_stream(input, stream) })
    }
}

impl<B: BufRead> Read for Decoder<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let text = e.to_string();
            if text.contains("emory usage limit") || text.contains("MemLimit") {
                io::Error::other(OverLimit(format!("xz: stream needs more than {} MiB to decode", MEMLIMIT >> 20)))
            } else {
                e
            }
        })
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
        let mut e = ::liblzma::write::XzEncoder::new(Vec::new(), 6);
        e.write_all(b"hello xz").unwrap();
        let mut data = e.finish().unwrap();
        assert!(sniff(&data));
        assert!(!sniff(b"7zXZ is not a header without its first byte"));
        // Two concatenated streams decode as one.
        let again = data.clone();
        data.extend_from_slice(&again);
        let mut out = Vec::new();
        Decoder::new(SliceInput::new(&data)).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello xzhello xz");
    }
}
