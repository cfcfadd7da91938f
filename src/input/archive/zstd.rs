//! zstd: a streaming decoder over any buffered input, every frame in turn, with the window a
//! frame may ask for capped so a hostile header cannot make it allocate more than
//! 2^[`WINDOW_LOG_MAX`] bytes.

use std::io::{self, BufRead, Read};

use super::{Codec, Consumed, Decode, Input};

/// The largest window accepted (64 MiB): above what `zstd -19` uses (8 MiB) and what most
/// `--long` archives use; a frame asking for more is an error, not an allocation.
pub const WINDOW_LOG_MAX: u32 = 26;

/// zstd in the registry of compression formats.
pub(super) struct Zstd;

impl Codec for Zstd {
    fn name(&self) -> &'static str {
        "zstd"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
    }
    fn decoder<'a>(&self, input: Input<'a>) -> io::Result<Box<dyn Decode + 'a>> {
        Ok(Box::new(Decoder::new(input)?))
    }
}

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

impl<B: BufRead> Decoder<B> {
    pub(super) fn input(&self) -> &B {
        self.inner.get_ref()
    }
}

impl<B: BufRead> Read for Decoder<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            // zstd's own words for a window over `window_log_max`: a budget, not corruption.
            if e.to_string().contains("too much memory") {
                let message =
                    format!("zstd: frame needs a window over the {} MiB bound", (1u64 << WINDOW_LOG_MAX) >> 20);
                io::Error::other(OverLimit(message))
            } else {
                e
            }
        })
    }
}

/// A decoder error that is a memory bound being hit (reported as `size-limit`, not an error).
#[derive(Debug)]
pub(super) struct OverLimit(pub(super) String);

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OverLimit {}

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
    fn frames_truncation_and_window_bound() {
        let mut two = ::zstd::encode_all(&b"hello "[..], 3).unwrap();
        two.extend(::zstd::encode_all(&b"world"[..], 3).unwrap());
        let mut out = Vec::new();
        Decoder::new(SliceInput::new(&two)).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello world");
        let mut wide = ::zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        wide.window_log(WINDOW_LOG_MAX + 1).unwrap();
        wide.include_contentsize(false).unwrap();
        wide.write_all(&vec![b'w'; 1000]).unwrap();
        let wide = wide.finish().unwrap();
        let err = Decoder::new(SliceInput::new(&wide)).unwrap().read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(err.get_ref(), Some(e) if e.is::<OverLimit>()), "{err}");
        let big = ::zstd::encode_all(&vec![b'z'; 100_000][..], 3).unwrap();
        let mut out = Vec::new();
        assert!(Decoder::new(SliceInput::new(&big[..big.len() / 2])).unwrap().read_to_end(&mut out).is_err());
    }
}
