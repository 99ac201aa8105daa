//! `create_subtraction` (workflows §10.2): the host genome is checked and measured by
//! `crate::reads::check_genome` (§4.2) and indexed with bowtie2-build; this folder holds the
//! worker's steps.

pub mod steps;

/// The subtraction files a finished job uploads (J24), in order.
pub const UPLOADS: [&str; 7] = [
    "subtraction.fa.gz",
    "subtraction.1.bt2",
    "subtraction.2.bt2",
    "subtraction.3.bt2",
    "subtraction.4.bt2",
    "subtraction.rev.1.bt2",
    "subtraction.rev.2.bt2",
];
