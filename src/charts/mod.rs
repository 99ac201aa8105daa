//! Charts of the web pages as plain functions: coverage (thinned to pixel columns, drawn as SVG
//! paths) and ORF maps of NuVs contigs.

pub mod coverage;
pub mod orfs;
