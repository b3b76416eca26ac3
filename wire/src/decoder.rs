//! A streaming, resynchronising frame decoder.

use crate::frame::{FRAME_HEADER_LEN, FRAME_MAGIC, MAX_PAYLOAD_LEN};
use crate::Message;

/// What a [`Decoder`] has seen so far. Every counter only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames decoded into messages.
    pub frames: u64,
    /// Headers whose CRC did not match their payload.
    pub crc_errors: u64,
    /// Headers claiming a payload over [`MAX_PAYLOAD_LEN`](crate::MAX_PAYLOAD_LEN).
    pub bad_lengths: u64,
    /// Frames whose CRC matched but whose payload is not exactly one
    /// [`Message`]: a sender built from an incompatible tree.
    pub decode_errors: u64,
    /// Frames cut off by the end of the stream (counted by [`Decoder::finish`]).
    pub truncated: u64,
    /// Bytes discarded outside good frames: garbage, and the bytes of bad
    /// frames as the decoder steps past them.
    pub skipped_bytes: u64,
    /// Payload bytes of the frames decoded: what the `frames` weigh, so a
    /// receiver can bound what it keeps.
    pub payload_bytes: u64,
}

impl DecodeStats {
    /// True if the stream held nothing but good frames.
    pub fn is_clean(&self) -> bool {
        *self
            == DecodeStats {
                frames: self.frames,
                payload_bytes: self.payload_bytes,
                ..DecodeStats::default()
            }
    }
}

/// Turns a byte stream from any transport back into [`Message`]s.
///
/// Feed bytes with [`push`](Self::push) in chunks of any size and take
/// messages with [`next_message`](Self::next_message) or
/// [`drain`](Self::drain). Bad input never stops it: on garbage it scans for
/// [`FRAME_MAGIC`](crate::FRAME_MAGIC); on a bad length, CRC or payload it
/// counts the error, steps one byte past that magic and scans again, so a
/// good frame that starts inside the bad one is still found.
///
/// Memory stays bounded: besides what the caller pushes between calls to
/// `next_message`, it holds at most one partial frame of at most
/// [`FRAME_HEADER_LEN`](crate::FRAME_HEADER_LEN) +
/// [`MAX_PAYLOAD_LEN`](crate::MAX_PAYLOAD_LEN) bytes.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed; dropped on the next `push`.
    pos: usize,
    stats: DecodeStats,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        // Compact here rather than per message, so draining many small
        // frames from one push moves the tail only once.
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, or `None` until more bytes are pushed.
    pub fn next_message(&mut self) -> Option<Message> {
        self.next_inner(false)
    }

    /// Every message that is complete in the bytes pushed so far.
    pub fn drain(&mut self) -> impl Iterator<Item = Message> + '_ {
        std::iter::from_fn(move || self.next_message())
    }

    /// Ends the stream: returns the messages still in the buffer, counts a
    /// frame cut off at the end as [`DecodeStats::truncated`] and leaves the
    /// decoder empty, ready for a new stream.
    ///
    /// The messages it returns are those [`next_message`](Self::next_message)
    /// was still waiting behind a partial frame for: a false magic in garbage
    /// can claim a length that swallows good frames after it, and only the end
    /// of the stream proves it false.
    pub fn finish(&mut self) -> Vec<Message> {
        let out = std::iter::from_fn(|| self.next_inner(true)).collect();
        debug_assert_eq!(self.pending_bytes(), 0);
        self.buf.clear();
        self.pos = 0;
        out
    }

    /// Bytes pushed but not yet consumed: a partial frame, or up to three
    /// bytes that might begin a magic.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Counters so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    fn skip(&mut self, n: usize) {
        self.pos += n;
        self.stats.skipped_bytes += n as u64;
    }

    /// One decoding step loop. With `eof`, a frame that cannot complete is
    /// counted as truncated and stepped over instead of waited for.
    fn next_inner(&mut self, eof: bool) -> Option<Message> {
        loop {
            let avail = &self.buf[self.pos..];
            let Some(at) = find_magic(avail) else {
                // Keep a tail that could be the start of a magic split across
                // pushes; everything before it is garbage.
                let keep = if eof {
                    0
                } else {
                    avail.len().min(FRAME_MAGIC.len() - 1)
                };
                self.skip(avail.len() - keep);
                return None;
            };
            self.skip(at);
            let frame = &self.buf[self.pos..];
            if frame.len() < FRAME_HEADER_LEN {
                if !eof {
                    return None;
                }
                self.stats.truncated += 1;
                self.skip(1);
                continue;
            }
            let len = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]) as usize;
            if len > MAX_PAYLOAD_LEN {
                self.stats.bad_lengths += 1;
                self.skip(1);
                continue;
            }
            let Some(payload) = frame.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len) else {
                if !eof {
                    return None;
                }
                self.stats.truncated += 1;
                self.skip(1);
                continue;
            };
            let crc = u32::from_le_bytes([frame[8], frame[9], frame[10], frame[11]]);
            if crc32fast::hash(payload) != crc {
                self.stats.crc_errors += 1;
                self.skip(1);
                continue;
            }
            match postcard::take_from_bytes::<Message>(payload) {
                // Trailing bytes mean the sender's encoding differs from ours.
                Ok((msg, [])) => {
                    self.pos += FRAME_HEADER_LEN + len;
                    self.stats.frames += 1;
                    self.stats.payload_bytes += len as u64;
                    return Some(msg);
                }
                Ok(_) | Err(_) => {
                    self.stats.decode_errors += 1;
                    self.skip(1);
                }
            }
        }
    }
}

/// Decodes a whole stream at once: [`Decoder::push`], drain, then
/// [`Decoder::finish`].
pub fn decode_all(bytes: &[u8]) -> (Vec<Message>, DecodeStats) {
    let mut decoder = Decoder::new();
    decoder.push(bytes);
    let mut messages: Vec<Message> = decoder.drain().collect();
    messages.extend(decoder.finish());
    (messages, decoder.stats())
}

/// Offset of the first full magic in `bytes`.
fn find_magic(bytes: &[u8]) -> Option<usize> {
    // Jump between candidate first bytes rather than comparing every window:
    // in a healthy stream the magic is at offset 0 and this is one compare.
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|&b| b == FRAME_MAGIC[0]) {
        let at = from + i;
        match bytes.get(at..at + FRAME_MAGIC.len()) {
            Some(w) if w == FRAME_MAGIC => return Some(at),
            Some(_) => from = at + 1,
            None => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode, Done, LogLine};

    fn log(n: u64) -> Message {
        Message::Log(LogLine {
            at_ns: n,
            text: format!("line {n}"),
        })
    }

    fn frames(range: std::ops::Range<u64>) -> Vec<u8> {
        range.flat_map(|n| encode(&log(n)).unwrap()).collect()
    }

    #[test]
    fn decodes_back_to_back_frames() {
        let (msgs, stats) = decode_all(&frames(0..3));
        assert_eq!(msgs, vec![log(0), log(1), log(2)]);
        assert!(stats.is_clean());
        assert_eq!(stats.frames, 3);
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let bytes = frames(0..5);
        let mut dec = Decoder::new();
        let mut msgs = Vec::new();
        for b in &bytes {
            dec.push(std::slice::from_ref(b));
            msgs.extend(dec.drain());
        }
        assert_eq!(dec.pending_bytes(), 0);
        assert!(dec.finish().is_empty());
        assert_eq!(msgs, decode_all(&bytes).0);
        assert!(dec.stats().is_clean());
    }

    #[test]
    fn skips_garbage_and_counts_it() {
        let mut bytes = b"noise".to_vec();
        bytes.extend(frames(0..1));
        bytes.extend(b"KTS"); // a magic prefix, then a frame
        bytes.extend(frames(1..2));
        let (msgs, stats) = decode_all(&bytes);
        assert_eq!(msgs, vec![log(0), log(1)]);
        assert_eq!(stats.skipped_bytes, 8);
        assert_eq!(stats.frames, 2);
    }

    #[test]
    fn crc_error_then_resync() {
        let mut bytes = frames(0..3);
        let second = encode(&log(0)).unwrap().len();
        bytes[second + FRAME_HEADER_LEN] ^= 0xff; // payload of the second frame
        let (msgs, stats) = decode_all(&bytes);
        assert_eq!(msgs, vec![log(0), log(2)]);
        assert_eq!(stats.crc_errors, 1);
        assert_eq!(stats.skipped_bytes as usize, encode(&log(1)).unwrap().len());
    }

    #[test]
    fn bad_length_does_not_wait() {
        let mut bytes = FRAME_MAGIC.to_vec();
        bytes.extend(u32::MAX.to_le_bytes());
        bytes.extend([0; 4]);
        bytes.extend(frames(0..1));
        let mut dec = Decoder::new();
        dec.push(&bytes);
        // No finish needed: the bad header is rejected as soon as it is read.
        assert_eq!(dec.next_message(), Some(log(0)));
        assert_eq!(dec.stats().bad_lengths, 1);
    }

    #[test]
    fn good_crc_bad_payload_is_a_decode_error() {
        for payload in [&[0xff_u8][..], &[2, 0, 0, 0, 0xaa]] {
            // Variant 0xff does not exist; Done{0,0,None} plus a trailing byte.
            let mut bytes = FRAME_MAGIC.to_vec();
            bytes.extend((payload.len() as u32).to_le_bytes());
            bytes.extend(crc32fast::hash(payload).to_le_bytes());
            bytes.extend(payload);
            let (msgs, stats) = decode_all(&bytes);
            assert!(msgs.is_empty());
            assert_eq!(stats.decode_errors, 1, "{payload:?}");
        }
    }

    #[test]
    fn false_magic_in_garbage_does_not_swallow_later_frames() {
        // A magic whose length claims the frames behind it.
        let mut bytes = FRAME_MAGIC.to_vec();
        bytes.extend(1000_u32.to_le_bytes());
        bytes.extend([0; 4]);
        bytes.extend(frames(0..2));
        let mut dec = Decoder::new();
        dec.push(&bytes);
        assert_eq!(dec.next_message(), None, "waits: the length is plausible");
        assert_eq!(dec.finish(), vec![log(0), log(1)]);
        assert_eq!(dec.stats().truncated, 1);
        assert_eq!(dec.pending_bytes(), 0);
    }

    #[test]
    fn truncated_trailing_frame_is_counted() {
        let mut bytes = frames(0..2);
        bytes.truncate(bytes.len() - 1);
        let (msgs, stats) = decode_all(&bytes);
        assert_eq!(msgs, vec![log(0)]);
        assert_eq!(stats.truncated, 1);
    }

    #[test]
    fn finish_resets_for_a_new_stream() {
        let mut dec = Decoder::new();
        dec.push(&frames(0..1)[..5]);
        assert!(dec.finish().is_empty());
        let done = Message::Done(Done {
            at_ns: 9,
            ring_drops: 1,
            error: Some("x".into()),
        });
        dec.push(&encode(&done).unwrap());
        assert_eq!(dec.next_message(), Some(done));
        assert_eq!(dec.stats().truncated, 1);
        assert_eq!(dec.stats().frames, 1);
    }

    #[test]
    fn long_garbage_is_not_buffered() {
        let mut dec = Decoder::new();
        for _ in 0..1000 {
            dec.push(&[0x55; 4096]);
            assert_eq!(dec.next_message(), None);
            assert!(dec.pending_bytes() < FRAME_MAGIC.len());
        }
        dec.push(&[]);
        assert!(dec.buf.capacity() < 16 * 4096);
    }
}
