//! Readers of the files vira imports: references (U18) and HMM annotations (U20).

pub mod gzip;
pub mod hmm_profiles;
pub mod hmms;
pub mod reference;
