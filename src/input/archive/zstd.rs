//! zstd: a streaming decoder over any buffered input, every frame in turn, with the window a
//! frame may ask for capped so a hostile header cannot make it allocate more than
//! 2^[`WINDOW_LOG_MAX`] bytes.

use std::io::{self, BufRead, Read};

use super::{Consumed, Decode};

/// The largest window accepted (64 MiB): above what `zstd -19` uses (8 MiB) and what most
/// `--long` archives use; a frame asking for more is an error, not an allocation.
pub const WINDOW_LOG_MAX: u32 = 26;

/// Decodes the zstd frames of `input`.
pub(super) struct Decoder<B: BufRead> {
    inner: ::zstd::stream::read::Decoder<'static, B>,
}

impl<B: BufRead> Decoder<B> {
    pub(super) fn new(input: B) -> io::Result<Decoder<B>> {
        let mut inner = ::zstd::stream::read::Decoder::with_buffer(input)?;
        inner.window_log_max(WINDOW_LOG_MAX)?;
        Ok(Decoder { inner })
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
    use super::super::SliceInput;
    use super::*;

    #[test]
    fn frames_and_truncation() {
        let mut two = ::zstd::encode_all(&b"hello "[..], 3).unwrap();
        two.extend(::zstd::encode_all(&b"world"[..], 3).unwrap());
        let mut out = Vec::new();
        Decoder::new(SliceInput::new(&two)).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello world");
        let big = ::zstd::encode_all(&vec![b'z'; 100_000][..], 3).unwrap();
        let mut out = Vec::new();
        assert!(Decoder::new(SliceInput::new(&big[..big.len() / 2])).unwrap().read_to_end(&mut out).is_err());
    }
}
