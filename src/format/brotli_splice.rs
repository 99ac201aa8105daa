//! Prepared results compressed once more, with brotli, and served inside a `br` stream built per
//! request without compressing anything again — as `gzip_splice` does for DEFLATE. Brotli at its
//! best quality takes seconds on a large body, so this copy is made in the background after
//! finalize (`ops::results::compress_in_background`); until it exists, gzip is sent.
//!
//! The stored form is a *catable* brotli stream (the brotli crate's term: no static-dictionary
//! references, no distance that reaches before its start, and its first two bytes in an
//! uncompressed meta-block, so literal contexts never depend on what precedes it), ended by an
//! empty metadata block and the final empty meta-block (`byte_align`), so everything before its
//! last byte ends on a byte boundary. A reply is then one stream:
//!
//! ```text
//!   window bits | head as uncompressed meta-blocks |   (made here)
//!   the stored stream's first meta-block header, moved to a byte boundary |   (a few bytes)
//!   the stored stream's aligned rest, without its last byte |   (sent as stored)
//!   the tail as an uncompressed meta-block | final empty meta-block   (made here)
//! ```

use bytes::Bytes;

/// Every stream's window: 2^18 bytes. Larger windows gain under 1 % on these bodies and cost the
/// background compression tens of MiB more (measured on the L body: 5.32x at 18, 5.36x at 22).
const LGWIN: u32 = 18;
/// Input per meta-block: 2^16 bytes. Brotli's default at quality 11 (2^18) holds 28 MB of
/// encoder state for the L body against 7 MB here, for 0.1 % more bytes (measured with the
/// crate on 5.8 MB of the L results); the background compression then stays small beside a
/// finalize.
const LGBLOCK: u32 = 16;
/// The window bits of [`LGWIN`] as the stream header writes them (4 bits).
const WINDOW_BITS: (u64, u32) = (((LGWIN as u64 - 17) << 1) | 1, 4);
/// An uncompressed meta-block holds at most this much here (so MLEN fits four nibbles).
const MAX_UNCOMPRESSED_BLOCK: usize = 1 << 16;
/// ISLAST and ISLASTEMPTY, padded: the final empty meta-block on a byte boundary.
const FINAL_BYTE: u8 = 0b11;

/// Compress `bytes` once, for [`Joinable`] (the best quality: this happens once per analysis).
pub fn compress_once(bytes: &[u8]) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: LGWIN as i32,
        lgblock: LGBLOCK as i32,
        catable: true,
        byte_align: true,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(bytes.len() / 4 + 64);
    let mut input = bytes;
    // Reading a slice and writing a vector cannot fail.
    brotli::BrotliCompress(&mut input, &mut out, &params).expect("brotli of a buffer");
    out
}

/// A stored stream ready to be joined: its first meta-block header re-written from a byte
/// boundary, and the aligned rest of the stream up to its final byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joinable {
    pub header: Bytes,
    pub rest: Bytes,
}

/// Bits written least significant first, as brotli reads them.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    bits: u64,
    count: u32,
}

impl BitWriter {
    fn put(&mut self, value: u64, width: u32) {
        for i in 0..width {
            self.bits |= ((value >> i) & 1) << self.count;
            self.count += 1;
            if self.count == 8 {
                self.bytes.push(self.bits as u8);
                self.bits = 0;
                self.count = 0;
            }
        }
    }

    /// Zero bits up to the next byte boundary.
    fn align(&mut self) {
        if self.count > 0 {
            self.bytes.push(self.bits as u8);
            self.bits = 0;
            self.count = 0;
        }
    }
}

/// Reads bits least significant first.
struct BitReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl BitReader<'_> {
    fn get(&mut self, width: u32) -> Option<u64> {
        let mut value = 0;
        for i in 0..width {
            let byte = *self.bytes.get(self.at / 8)?;
            value |= u64::from((byte >> (self.at % 8)) & 1) << i;
            self.at += 1;
        }
        Some(value)
    }
}

impl Joinable {
    /// Split a stream made by [`compress_once`]; `None` for anything else (then gzip is sent).
    pub fn of(stream: &Bytes) -> Option<Joinable> {
        if stream.last() != Some(&FINAL_BYTE) {
            return None;
        }
        let mut reader = BitReader {
            bytes: stream,
            at: 0,
        };
        if reader.get(WINDOW_BITS.1)? != WINDOW_BITS.0 {
            return None;
        }
        // The first meta-block: not last, the first one or two bytes uncompressed (how a
        // catable stream starts: the bytes that later literals take their context from).
        let start = reader.at;
        let is_last = reader.get(1)?;
        let nibbles = reader.get(2)?;
        if is_last != 0 || nibbles == 3 {
            return None;
        }
        let length = reader.get(4 * (nibbles as u32 + 4))? + 1;
        if length > 2 || reader.get(1)? != 1 {
            return None;
        }
        let header_bits = reader.at - start;
        let aligned = reader.at.div_ceil(8);
        if aligned >= stream.len() {
            return None;
        }
        let mut again = BitReader {
            bytes: stream,
            at: start,
        };
        let mut header = BitWriter::default();
        header.put(again.get(header_bits as u32)?, header_bits as u32);
        header.align();
        Some(Joinable {
            header: Bytes::from(header.bytes),
            rest: stream.slice(aligned..stream.len() - 1),
        })
    }
}

/// `bytes` as uncompressed meta-blocks.
fn put_uncompressed(writer: &mut BitWriter, bytes: &[u8]) {
    for block in bytes.chunks(MAX_UNCOMPRESSED_BLOCK) {
        writer.put(0, 1); // ISLAST
        writer.put(0, 2); // MNIBBLES: four nibbles
        writer.put(block.len() as u64 - 1, 16);
        writer.put(1, 1); // ISUNCOMPRESSED
        writer.align();
        writer.bytes.extend_from_slice(block);
    }
}

/// One `br` stream of `head`, the stored results, and `tail`, as three parts sent one after
/// another (the stored bytes are not copied).
pub fn splice(head: &[u8], results: &Joinable, tail: &[u8]) -> [Bytes; 3] {
    let mut start = BitWriter::default();
    start.put(WINDOW_BITS.0, WINDOW_BITS.1);
    put_uncompressed(&mut start, head);
    start.align();
    start.bytes.extend_from_slice(&results.header);
    let mut end = BitWriter::default();
    put_uncompressed(&mut end, tail);
    end.bytes.push(FINAL_BYTE);
    [
        Bytes::from(start.bytes),
        results.rest.clone(),
        Bytes::from(end.bytes),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(parts: &[Bytes]) -> Vec<u8> {
        let stream: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut stream.as_slice(), &mut out).expect("a valid br stream");
        out
    }

    fn joined(head: &[u8], results: &[u8], tail: &[u8]) -> Vec<u8> {
        let stored = Bytes::from(compress_once(results));
        let joinable = Joinable::of(&stored).expect("joinable");
        decode(&splice(head, &joinable, tail))
    }

    #[test]
    fn a_spliced_stream_decodes_to_head_results_tail() {
        let results = br#"{"hits":[{"id":"a","align":[[0,1],[4,7],[9,0]]}],"read_count":3}"#;
        let head = br#"{"id":"x","files":[],"results":"#;
        let got = joined(head, results, b"}");
        assert_eq!(got, [&head[..], &results[..], b"}"].concat());
    }

    #[test]
    fn results_that_repeat_their_head_still_decode() {
        // Matches into the head would be wrong: the stored stream never reaches before itself.
        let head = b"[[0,224],[4,1048],[6,1429],".repeat(50);
        let results = b"[[0,224],[4,1048],[6,1429],".repeat(5000);
        let got = joined(&head, &results, b"]}");
        assert_eq!(got, [&head[..], &results[..], b"]}"].concat());
    }

    #[test]
    fn large_heads_take_several_blocks_and_tiny_results_work() {
        let head = vec![b'h'; MAX_UNCOMPRESSED_BLOCK * 2 + 3];
        for results in [&b"1"[..], b"12", b"null", b"{}"] {
            let got = joined(&head, results, b"}");
            assert_eq!(got, [&head[..], results, b"}"].concat());
        }
    }

    #[test]
    fn other_streams_are_not_joinable() {
        assert_eq!(Joinable::of(&Bytes::new()), None);
        assert_eq!(
            Joinable::of(&Bytes::from_static(&[0x0b, 0x02, 0x80, 3])),
            None
        );
        // A plain (not catable) stream of the same window.
        let mut plain = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            lgwin: 18,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut &b"some json text"[..], &mut plain, &params).unwrap();
        assert_eq!(Joinable::of(&Bytes::from(plain)), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_head_and_results_round_trip(
            head in proptest::collection::vec(any::<u8>(), 0..3000),
            results in proptest::collection::vec(prop_oneof![Just(b'['), Just(b','), Just(b'1'), Just(b'7'), any::<u8>()], 1..20000),
            tail in proptest::collection::vec(any::<u8>(), 0..5),
        ) {
            prop_assert_eq!(joined(&head, &results, &tail), [&head[..], &results[..], &tail[..]].concat());
        }
    }
}
