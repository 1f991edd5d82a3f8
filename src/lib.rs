//! logveil: desensitize logs that carry personal information, on Kafka.
//!
//! # Layout
//! - [`error`]: the error codes a record can fail with.
//! - [`dead_letter`]: the dead-letter record format (Kafka topic and files).
//! - [`processor`]: the seam between the Kafka service and the engine.
//! - [`service`]: the Kafka service: consume, process per partition, produce,
//!   commit only delivered work; metrics/health HTTP; embedded broker.

pub mod dead_letter;
pub mod error;
pub mod processor;
pub mod service;
