//! The ktstr wire protocol: how the guest tells the host what happened.
//!
//! The guest encodes each [`Message`] as a frame (magic, length, CRC32,
//! postcard payload; see [`FRAME_MAGIC`]) and puts it into a shared-memory
//! ring with [`RingWriter`], which never blocks the guest. The host copies
//! bytes out with [`RingReader`] and feeds them, or the same frames from a
//! serial fallback, to a [`Decoder`], which resynchronises after garbage and
//! counts every drop and error in [`DecodeStats`].
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
