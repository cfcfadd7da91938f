//! gzip: a decoder over any buffered input that reads every member of a multi-member file
//! (`cat a.gz b.gz`, bgzip) and stops quietly at trailing bytes that are not a gzip member, as
//! `gzip -d` does. Truncation, corrupt deflate data and a bad trailer CRC are read errors.

use std::io::{self, BufRead, Read};

use flate2::bufread::GzDecoder;

use super::{Codec, Consumed, Decode, Input};

/// gzip in the registry of compression formats.
pub(super) struct Gzip;

impl Codec for Gzip {
    fn name(&self) -> &'static str {
        "gzip"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&[0x1f, 0x8b])
    }
    fn decoder<'a>(&self, input: Input<'a>) -> io::Result<Box<dyn Decode + 'a>> {
        Ok(Box::new(Decoder::new(input)))
    }
}

/// Decodes every gzip member of `input` in turn.
pub(super) struct Decoder<B: BufRead> {
    inner: Option<GzDecoder<B>>,
    /// Input consumed when the last member ended (the decoder is gone then).
    consumed_at_end: u64,
}

impl<B: BufRead> Decoder<B> {
    pub(super) fn new(input: B) -> Decoder<B> {
        Decoder { inner: Some(GzDecoder::new(input)), consumed_at_end: 0 }
    }
}

impl<B: BufRead + Consumed> Read for Decoder<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(dec) = self.inner.as_mut() else { return Ok(0) };
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This member ended: another one may follow.
            let next = dec.get_mut().fill_buf()?;
            if next.first() != Some(&0x1f) {
                self.consumed_at_end = dec.get_ref().consumed();
                self.inner = None;
                return Ok(0);
            }
            let input = self.inner.take().expect("checked").into_inner();
            self.inner = Some(GzDecoder::new(input));
        }
    }
}

impl<B: BufRead + Consumed> Decode for Decoder<B> {
    fn consumed(&self) -> u64 {
        self.inner.as_ref().map_or(self.consumed_at_end, |d| d.get_ref().consumed())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::super::SliceInput;
    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode(data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Decoder::new(SliceInput::new(data)).read_to_end(&mut out).map(|_| out)
    }

    #[test]
    fn members_trailing_bytes_and_truncation() {
        let mut two = gz(b"hello ");
        two.extend(gz(b"world"));
        assert_eq!(decode(&two).unwrap(), b"hello world");
        let mut padded = gz(b"abc");
        padded.extend([0u8; 100]);
        assert_eq!(decode(&padded).unwrap(), b"abc");
        let whole = gz(&[b'x'; 10_000]);
        assert!(decode(&whole[..whole.len() - 3]).is_err(), "truncated trailer");
        assert!(decode(&whole[..whole.len() / 2]).is_err(), "truncated deflate data");
        let mut corrupt = gz(b"some text that is long enough to be compressed, some text");
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff; // the length in the trailer
        assert!(decode(&corrupt).is_err(), "bad trailer");
    }
}
