//! The ktstr wire protocol: how the guest tells the host what happened.
//!
//! The guest encodes each [`Message`] as a frame (magic, length, CRC32,
//! postcard payload; see [below](#frame-format)) and puts it into a
//! shared-memory ring with [`RingWriter`], which never blocks the guest. The
//! host copies bytes out with [`RingReader`] and feeds them, or the same
//! frames from a serial fallback, to a [`Decoder`], which resynchronises after
//! garbage and counts every drop and error in [`DecodeStats`].
//!
//! ```
//! use ktstr_wire::{in_memory_ring, Decoder, LogLine, Message};
//!
//! let (mut writer, mut reader) = in_memory_ring(4096)?;
//! let msg = Message::Log(LogLine { at_ns: 1, text: "hello".into() });
//! assert!(writer.write_frame(&ktstr_wire::encode(&msg)?));
//!
//! let mut bytes = Vec::new();
//! reader.read_into(&mut bytes);
//! let mut decoder = Decoder::new();
//! decoder.push(&bytes);
//! assert_eq!(decoder.next_message(), Some(msg));
//! assert!(decoder.stats().is_clean());
//! # Ok::<(), ktstr_wire::WireError>(())
//! ```
//!
//! # Frame format
//!
//! ```text
//! offset  size  field
//!      0     4  FRAME_MAGIC, b"KTSW"
//!      4     4  payload length, u32 little-endian, at most MAX_PAYLOAD_LEN
//!      8     4  CRC32 (IEEE, crc32fast) of the payload, u32 little-endian
//!     12   len  payload: one postcard-encoded Message
//! ```
//!
//! The magic lets a reader find the next frame after garbage, the length
//! bound keeps a corrupt header from making it wait for (or buffer) gigabytes,
//! and the CRC rejects torn or overwritten frames before postcard sees them.
//!
//! # Ring layout
//!
//! The guest (one producer) and the host (one consumer) map the same physical
//! pages, possibly in different processes or VMs. The region starts with a
//! 64-byte header; the data area follows it:
//!
//! ```text
//! offset  size  field           written by
//!      0     8  magic           producer, last, at init (RING_MAGIC)
//!      8     4  version         producer, at init (RING_VERSION)
//!     12     4  capacity        producer, at init: data area bytes
//!     16     8  write_pos       producer: total bytes ever committed
//!     24     8  read_pos        consumer: total bytes ever consumed
//!     32     8  dropped_frames  producer: frames refused because the ring was full
//!     40     8  dropped_bytes   producer: bytes of those frames
//!     48    16  reserved, zero
//!     64   cap  data
//! ```
//!
//! All fields are little-endian (both sides are x86-64) and naturally aligned.
//! Positions only grow; byte `p` of the stream lives at `data[p % capacity]`,
//! so the capacity need not be a power of two. The producer copies a frame in
//! and then publishes `write_pos` (Release); the consumer loads it (Acquire),
//! copies the bytes out and publishes `read_pos` (Release), which the
//! producer loads (Acquire) before reusing that space.
//!
//! The producer never waits: a frame that does not fit is dropped whole and
//! counted, because a guest stalled on a slow host would distort the very
//! scheduling behaviour under test.
#![deny(missing_docs)]

mod decoder;
mod error;
mod frame;
mod message;
mod ring;

pub use decoder::{decode_all, DecodeStats, Decoder};
pub use error::WireError;
pub use frame::{encode, encode_into, FRAME_HEADER_LEN, FRAME_MAGIC, MAX_PAYLOAD_LEN};
pub use message::*;
pub use ring::{
    in_memory_ring, ring_len_for, RingReader, RingWriter, RING_HEADER_LEN, RING_MAGIC, RING_VERSION,
};
