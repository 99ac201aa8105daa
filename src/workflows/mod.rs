//! What is specific to each workflow, one folder each: what it computes (workflows.md §10), as
//! plain functions over streams and snapshots — no subprocess, no HTTP, no database — and its
//! steps for the worker (`steps.rs`, which `tests/layers.rs` counts with the worker: it runs the
//! tools and talks to the jobs API).

pub mod build_index;
pub mod create_sample;
pub mod create_subtraction;
pub mod nuvs;
pub mod pathoscope;

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;

/// A gzip stream as workers write them (workflows §10): deflate level 6, no file name,
/// modification time 0, so the same input gives the same bytes.
pub fn gzip_writer<W: Write>(inner: W) -> GzEncoder<W> {
    flate2::GzBuilder::new()
        .mtime(0)
        .write(inner, flate2::Compression::new(6))
}

/// Compress `source` into `dest` with [`gzip_writer`].
pub fn gzip_file(source: &Path, dest: &Path) -> std::io::Result<()> {
    let mut input = std::fs::File::open(source)?;
    let mut output = gzip_writer(std::io::BufWriter::with_capacity(
        256 << 10,
        std::fs::File::create(dest)?,
    ));
    std::io::copy(&mut input, &mut output)?;
    output.finish()?.flush()
}
