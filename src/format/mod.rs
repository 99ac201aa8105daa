//! Results formatting (contract §9) as plain functions: checked and prepared once at finalize
//! (`ops::finalize`), served as stored bytes (§9.4).

pub mod brotli_splice;
pub mod coverage;
pub mod gzip_splice;
pub mod nuvs;
pub mod pathoscope;

/// Fast gzip (level 1): raw results are stored compressed.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 8),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}
