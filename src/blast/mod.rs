//! BLAST of NuVs contigs: the pure parts (result transform, NCBI replies, BLAST+ output).

pub mod local_reply;
pub mod ncbi_reply;
pub mod transform;
