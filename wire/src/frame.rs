//! Frame encoding; the format is described in the crate docs.

use crate::{Message, WireError};

/// The four bytes that start every frame.
pub const FRAME_MAGIC: [u8; 4] = *b"KTSW";

/// Bytes before the payload: magic, length, CRC.
pub const FRAME_HEADER_LEN: usize = 12;

/// Largest payload a frame may carry. A header claiming more is treated as
/// corrupt rather than waited for.
pub const MAX_PAYLOAD_LEN: usize = 1 << 20;

/// Encodes `msg` as one frame.
///
/// # Errors
///
/// [`WireError::Encode`] if postcard fails, [`WireError::PayloadTooLarge`] if
/// the payload exceeds [`MAX_PAYLOAD_LEN`].
pub fn encode(msg: &Message) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    encode_into(msg, &mut out)?;
    Ok(out)
}

/// Appends one frame carrying `msg` to `out`, so a sender can reuse one
/// buffer for every message.
///
/// On error `out` is left as it was: a half-written frame would only cost the
/// reader a resynchronisation.
///
/// # Errors
///
/// As [`encode`].
pub fn encode_into(msg: &Message, out: &mut Vec<u8>) -> Result<(), WireError> {
    let start = out.len();
    // Reserve the header, serialise straight behind it, then fill it in: no
    // intermediate payload buffer.
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    if let Err(e) = postcard::to_io(msg, &mut *out) {
        out.truncate(start);
        return Err(WireError::Encode(e));
    }
    let payload_start = start + FRAME_HEADER_LEN;
    let len = out.len() - payload_start;
    if len > MAX_PAYLOAD_LEN {
        out.truncate(start);
        return Err(WireError::PayloadTooLarge {
            len,
            max: MAX_PAYLOAD_LEN,
        });
    }
    let crc = crc32fast::hash(&out[payload_start..]);
    // `len` fits: MAX_PAYLOAD_LEN < u32::MAX.
    let header = &mut out[start..payload_start];
    header[0..4].copy_from_slice(&FRAME_MAGIC);
    header[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    header[8..12].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Done, LogLine};

    fn log(text: &str) -> Message {
        Message::Log(LogLine {
            at_ns: 7,
            text: text.to_owned(),
        })
    }

    #[test]
    fn header_fields_match_payload() {
        let frame = encode(&log("hi")).unwrap();
        assert_eq!(frame[0..4], FRAME_MAGIC);
        let len = u32::from_le_bytes(frame[4..8].try_into().unwrap()) as usize;
        assert_eq!(len, frame.len() - FRAME_HEADER_LEN);
        let crc = u32::from_le_bytes(frame[8..12].try_into().unwrap());
        assert_eq!(crc, crc32fast::hash(&frame[FRAME_HEADER_LEN..]));
        let back: Message = postcard::from_bytes(&frame[FRAME_HEADER_LEN..]).unwrap();
        assert_eq!(back, log("hi"));
    }

    #[test]
    fn encode_into_appends() {
        let mut buf = b"prefix".to_vec();
        encode_into(&log("a"), &mut buf).unwrap();
        encode_into(
            &Message::Done(Done {
                at_ns: 1,
                ring_drops: 0,
                error: None,
            }),
            &mut buf,
        )
        .unwrap();
        assert!(buf.starts_with(b"prefix"));
        let first = encode(&log("a")).unwrap();
        assert_eq!(buf[6..6 + first.len()], first[..]);
    }

    #[test]
    fn oversized_payload_is_rejected_and_leaves_buffer_untouched() {
        let mut buf = b"keep".to_vec();
        let err = encode_into(&log(&"x".repeat(MAX_PAYLOAD_LEN)), &mut buf).unwrap_err();
        assert!(matches!(
            err,
            WireError::PayloadTooLarge {
                max: MAX_PAYLOAD_LEN,
                ..
            }
        ));
        assert_eq!(buf, b"keep");
    }

    #[test]
    fn payload_at_the_limit_is_accepted() {
        // A Log payload is: variant (1) + at_ns varint (1 for 7) + text length
        // varint (3 for ~1 MiB) + text.
        let text_len = MAX_PAYLOAD_LEN - 5;
        let frame = encode(&log(&"x".repeat(text_len))).unwrap();
        assert_eq!(frame.len(), FRAME_HEADER_LEN + MAX_PAYLOAD_LEN);
    }
}
