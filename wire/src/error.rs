//! The crate's one error type.

use thiserror::Error;

/// What can go wrong encoding a frame or setting up a ring.
///
/// Decoding never fails: the [`Decoder`](crate::Decoder) counts bad input in
/// [`DecodeStats`](crate::DecodeStats) and carries on, because a test run
/// should report a damaged stream, not stop reading it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WireError {
    /// postcard could not serialise the message.
    #[error("encode message")]
    Encode(#[source] postcard::Error),

    /// The encoded message is larger than a frame may carry.
    #[error("encode message: payload is {len} bytes, over the {max}-byte frame limit")]
    PayloadTooLarge {
        /// Encoded payload size.
        len: usize,
        /// [`MAX_PAYLOAD_LEN`](crate::MAX_PAYLOAD_LEN).
        max: usize,
    },

    /// The ring region does not start on an 8-byte boundary, so its header
    /// words cannot be accessed atomically.
    #[error("set up ring: region at {addr:#x} is not 8-byte aligned")]
    RingMisaligned {
        /// Start address of the region.
        addr: usize,
    },

    /// The ring region cannot hold the header plus 1 to `u32::MAX` data bytes.
    #[error("set up ring: region of {len} bytes must hold the 64-byte header and 1 to 4294967295 data bytes")]
    RingSize {
        /// Length of the region.
        len: usize,
    },

    /// The ring header's magic is not there (yet): the guest has not
    /// initialised the ring. The host should retry later.
    #[error("attach ring: not initialised yet")]
    NotInitialised,

    /// The ring was initialised by a different version of this crate.
    #[error("attach ring: version {found}, expected {expected}")]
    RingVersion {
        /// Version in the header.
        found: u32,
        /// [`RING_VERSION`](crate::RING_VERSION).
        expected: u32,
    },

    /// The header claims a data area that is empty or does not fit the region.
    #[error("attach ring: header capacity of {capacity} bytes does not fit a {len}-byte region")]
    RingCapacity {
        /// Capacity in the header.
        capacity: u32,
        /// Length of the region.
        len: usize,
    },
}
