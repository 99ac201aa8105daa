//! Transparent gzip decompression of uploaded files, bounded so a small bomb cannot exhaust memory.

use std::fmt;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;

/// The two magic bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Size of each read from the decoder; output grows in steps no larger than needed.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GzipError {
    /// The decompressed data would be larger than the allowed maximum.
    TooLarge,
    /// The gzip stream is malformed or truncated.
    Corrupt(String),
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GzipError::TooLarge => f.write_str("decompressed data exceeds the size limit"),
            GzipError::Corrupt(reason) => write!(f, "corrupt gzip data: {reason}"),
        }
    }
}

impl std::error::Error for GzipError {}

/// Decompress `bytes` when they start with the gzip magic bytes, otherwise return them unchanged.
///
/// Concatenated gzip members are decompressed one after another, as `gzip -d` does. Reading stops
/// as soon as the output would pass `max_decompressed` bytes, and the output buffer never grows
/// beyond that limit. A plain input is held to the same limit.
pub fn maybe_gunzip(bytes: Vec<u8>, max_decompressed: u64) -> Result<Vec<u8>, GzipError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        if bytes.len() as u64 > max_decompressed {
            return Err(GzipError::TooLarge);
        }
        return Ok(bytes);
    }
    let hint = bytes.len().saturating_mul(4);
    decode_limited(
        MultiGzDecoder::new(bytes.as_slice()),
        max_decompressed,
        hint,
    )
}

/// [`maybe_gunzip`] of a file, decompressed as it is read: the compressed file is never held
/// in memory, and a plain file over the limit is refused before it is read.
pub fn read_maybe_gzipped(path: &Path, max_decompressed: u64) -> Result<Vec<u8>, GzipError> {
    let io = |e: std::io::Error| GzipError::Corrupt(e.to_string());
    let mut file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut magic = [0u8; 2];
    let is_gzip = size >= 2 && {
        file.read_exact(&mut magic).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        magic == GZIP_MAGIC
    };
    if !is_gzip {
        if size > max_decompressed {
            return Err(GzipError::TooLarge);
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).map_err(io)?;
        return Ok(bytes);
    }
    let reader = MultiGzDecoder::new(std::io::BufReader::with_capacity(CHUNK, file));
    let hint = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .saturating_mul(4);
    decode_limited(reader, max_decompressed, hint)
}

/// Read all of `decoder`, failing as soon as the output would pass `max_decompressed` bytes.
fn decode_limited(
    mut decoder: impl Read,
    max_decompressed: u64,
    capacity_hint: usize,
) -> Result<Vec<u8>, GzipError> {
    // The limit can never exceed what the address space holds.
    let limit = usize::try_from(max_decompressed).unwrap_or(usize::MAX);
    // A first guess from the usual compression ratio saves a few reallocations.
    let mut out: Vec<u8> = Vec::with_capacity(capacity_hint.min(limit));
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(GzipError::Corrupt(e.to_string())),
        };
        let needed = out.len() + n;
        if needed > limit {
            return Err(GzipError::TooLarge);
        }
        if needed > out.capacity() {
            // Grow geometrically like Vec does, but cap the capacity at the limit.
            let target = out.capacity().saturating_mul(2).max(needed).min(limit);
            out.reserve_exact(target - out.len());
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use proptest::prelude::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn plain_input_is_returned_unchanged_within_the_limit() {
        let data = b"[{\"a\": 1}]".to_vec();
        assert_eq!(maybe_gunzip(data.clone(), 10).unwrap(), data);
        assert_eq!(maybe_gunzip(data.clone(), 9), Err(GzipError::TooLarge));
        assert_eq!(maybe_gunzip(Vec::new(), 0).unwrap(), Vec::<u8>::new());
        assert_eq!(maybe_gunzip(vec![0x1f], 10).unwrap(), vec![0x1f]);
    }

    #[test]
    fn files_are_read_like_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("import");
        let data = b"hello, world".repeat(1000);
        for (bytes, limit) in [(gzip(&data), 12_000), (data.clone(), 12_000)] {
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(read_maybe_gzipped(&path, limit).unwrap(), data);
            assert_eq!(
                read_maybe_gzipped(&path, limit - 1),
                Err(GzipError::TooLarge)
            );
        }
        std::fs::write(&path, [0x1f]).unwrap();
        assert_eq!(read_maybe_gzipped(&path, 1).unwrap(), vec![0x1f]);
    }

    #[test]
    fn gzip_input_is_decompressed() {
        let data = b"hello, world".repeat(1000);
        assert_eq!(maybe_gunzip(gzip(&data), 1 << 20).unwrap(), data);
    }

    #[test]
    fn output_exactly_at_the_limit_is_accepted() {
        let data = vec![b'A'; 100_000];
        assert_eq!(maybe_gunzip(gzip(&data), 100_000).unwrap(), data);
    }

    #[test]
    fn output_over_the_limit_is_too_large() {
        let data = vec![b'A'; 100_001];
        assert_eq!(maybe_gunzip(gzip(&data), 100_000), Err(GzipError::TooLarge));
        assert_eq!(maybe_gunzip(gzip(b"x"), 0), Err(GzipError::TooLarge));
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        // 16 MiB of zeros compresses to about 16 KiB; only 1 MiB may be produced.
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..16 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert_eq!(maybe_gunzip(bomb, 1 << 20), Err(GzipError::TooLarge));
    }

    #[test]
    fn multi_member_streams_are_concatenated() {
        let mut data = gzip(b"first ");
        data.extend(gzip(b"second"));
        assert_eq!(maybe_gunzip(data, 100).unwrap(), b"first second");
    }

    #[test]
    fn corrupt_streams_are_rejected() {
        let full = gzip(&b"some text that compresses".repeat(50));
        let truncated = full[..full.len() / 2].to_vec();
        assert!(matches!(
            maybe_gunzip(truncated, 1 << 20),
            Err(GzipError::Corrupt(_))
        ));
        assert!(matches!(
            maybe_gunzip(vec![0x1f, 0x8b], 1 << 20),
            Err(GzipError::Corrupt(_))
        ));
        let mut bad_crc = full.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 0xff;
        assert!(matches!(
            maybe_gunzip(bad_crc, 1 << 20),
            Err(GzipError::Corrupt(_))
        ));
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            GzipError::TooLarge.to_string(),
            "decompressed data exceeds the size limit"
        );
        assert_eq!(
            GzipError::Corrupt("bad".into()).to_string(),
            "corrupt gzip data: bad"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(GzipError::TooLarge);
        assert!(boxed.source().is_none());
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            limit in 0u64..4096,
        ) {
            let _ = maybe_gunzip(bytes, limit);
        }

        #[test]
        fn any_bytes_after_the_magic_never_panic(
            tail in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let mut bytes = GZIP_MAGIC.to_vec();
            bytes.extend(tail);
            let _ = maybe_gunzip(bytes, 1 << 16);
        }

        #[test]
        fn round_trips(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let len = data.len() as u64;
            prop_assert_eq!(maybe_gunzip(gzip(&data), len).unwrap(), data);
        }
    }
}
