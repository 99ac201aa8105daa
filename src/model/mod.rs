//! Domain and wire types shared by the API, the storage layer and formatting.

pub mod failure;
pub mod field_errors;
pub mod health;
pub mod hmm;
pub mod ids;
pub mod job_scope;
pub mod otu;
pub mod page;
pub mod quality_shape;
pub mod round;
pub mod sample;
pub mod stores;
pub mod text;
pub mod time;
pub mod views;
pub mod workflow;
