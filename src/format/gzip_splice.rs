//! Prepared results compressed once, at finalize, and served inside a gzip stream built per
//! request without compressing anything again (issue 13: bytes on the wire).
//!
//! The stored form is a raw DEFLATE stream ended by a sync flush (so it stops on a byte boundary
//! and has no final block), with the CRC-32 and length of what it holds. A reply is then one gzip
//! member: the gzip header, the body's head as *stored* (uncompressed) DEFLATE blocks, the stored
//! stream as is, the tail as the final stored block, and the trailer, whose CRC-32 is combined
//! from the three parts' checksums.

use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress};

/// Results compressed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deflated {
    /// Raw DEFLATE, ended by a sync flush, never final.
    pub deflate: Vec<u8>,
    pub crc32: u32,
    pub length: u64,
}

/// Results ready to send: plain, or compressed (only when a compressed form was asked for).
/// Cheap to clone, so the same bytes can be kept (`App::results_cache`) and sent again.
#[derive(Clone)]
pub enum Encoded {
    Plain(Bytes),
    /// Raw DEFLATE (sync-flushed, never final) with the CRC-32 and length of what it holds.
    Deflated {
        deflate: Bytes,
        crc32: u32,
        length: u64,
    },
    /// The brotli copy, ready to be joined (`format::brotli_splice`).
    Brotli(super::brotli_splice::Joinable),
}

impl From<Deflated> for Encoded {
    fn from(d: Deflated) -> Encoded {
        Encoded::Deflated {
            deflate: Bytes::from(d.deflate),
            crc32: d.crc32,
            length: d.length,
        }
    }
}

impl crate::cache::Weighed for Encoded {
    fn weight(&self) -> usize {
        match self {
            Encoded::Plain(bytes) => bytes.len(),
            Encoded::Deflated { deflate, .. } => deflate.len(),
            Encoded::Brotli(joinable) => joinable.header.len() + joinable.rest.len(),
        }
    }
}

/// Compress `bytes` for [`Deflated`] (default level: this happens once per analysis).
pub fn deflate_once(bytes: &[u8]) -> Deflated {
    let mut compress = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(bytes.len() / 6 + 64);
    let mut input = bytes;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(4096));
        }
        let before = compress.total_in();
        compress
            .compress_vec(input, &mut out, FlushCompress::Sync)
            // Only a misuse of the stream can fail, and this is its only use.
            .expect("deflate of a buffer");
        input = &input[(compress.total_in() - before) as usize..];
        // The flush is complete once it left output space unused with every byte consumed.
        if input.is_empty() && out.len() < out.capacity() {
            break;
        }
    }
    Deflated {
        deflate: out,
        crc32: crc32fast::hash(bytes),
        length: bytes.len() as u64,
    }
}

/// The gzip member of `head`, the stored `body`, and `tail`, as three parts (the stored bytes are
/// not copied).
pub fn splice(
    head: &[u8],
    body: Bytes,
    body_crc: u32,
    body_length: u64,
    tail: &[u8],
) -> [Bytes; 3] {
    const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut first =
        Vec::with_capacity(GZIP_HEADER.len() + head.len() + 5 * (head.len() / 65_535 + 1));
    first.extend_from_slice(&GZIP_HEADER);
    stored_blocks(head, false, &mut first);

    let mut crc = crc32fast::Hasher::new();
    crc.update(head);
    crc.combine(&crc32fast::Hasher::new_with_initial_len(
        body_crc,
        body_length,
    ));
    let mut tail_crc = crc32fast::Hasher::new();
    tail_crc.update(tail);
    crc.combine(&tail_crc);
    let length = head.len() as u64 + body_length + tail.len() as u64;

    let mut last = Vec::with_capacity(tail.len() + 13);
    stored_blocks(tail, true, &mut last);
    last.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952).
    last.extend_from_slice(&(length as u32).to_le_bytes());
    [Bytes::from(first), body, Bytes::from(last)]
}

/// `data` as stored DEFLATE blocks of at most 65,535 bytes, starting on a byte boundary; the last
/// one final when `last` (an empty `data` still gives one block).
fn stored_blocks(data: &[u8], last: bool, out: &mut Vec<u8>) {
    let mut chunks: Vec<&[u8]> = data.chunks(65_535).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let count = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        // BFINAL in bit 0, BTYPE 00 (stored) in bits 1–2, then padding to the byte boundary.
        out.push(u8::from(last && i + 1 == count));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(parts: &[Bytes; 3]) -> Vec<u8> {
        let joined: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        let mut out = Vec::new();
        // One member only: a decoder that stops after the first member must see everything.
        flate2::read::GzDecoder::new(&joined[..])
            .read_to_end(&mut out)
            .expect("a valid gzip stream");
        out
    }

    fn pseudo_json(len: usize) -> Vec<u8> {
        let mut seed = 7u64;
        (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                b"{}[],:\"0123456789abcdefghij"[(seed >> 59) as usize % 26]
            })
            .collect()
    }

    #[test]
    fn spliced_streams_decompress_to_head_body_and_tail() {
        for (head_len, body_len, tail_len) in [
            (0, 0, 0),
            (10, 0, 1),
            (1_000, 5, 1),
            (70_000, 200_000, 1),
            (3, 2_000_000, 140_000),
        ] {
            let head = pseudo_json(head_len);
            let body = pseudo_json(body_len);
            let tail = vec![b'}'; tail_len];
            let stored = deflate_once(&body);
            assert_eq!(stored.length, body_len as u64);
            let parts = splice(
                &head,
                Bytes::from(stored.deflate),
                stored.crc32,
                stored.length,
                &tail,
            );
            let expected = [head, body, tail].concat();
            assert_eq!(gunzip(&parts), expected, "{head_len}/{body_len}/{tail_len}");
        }
    }

    #[test]
    fn repetitive_json_compresses_well() {
        let body = br#"{"id":"abc","weight":0.25,"depth":12.5},"#.repeat(20_000);
        let stored = deflate_once(&body);
        assert!(
            stored.deflate.len() * 20 < body.len(),
            "{}",
            stored.deflate.len()
        );
    }
}
