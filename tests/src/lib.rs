//! End-to-end tests across the ktstr crates live in `tests/`.
