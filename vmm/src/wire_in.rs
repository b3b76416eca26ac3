//! The host's end of the wire, shared by both backends: one decoder per
//! transport and a bounded keep of the messages.
//!
//! A guest is untrusted input: a broken or hostile guest runtime can send
//! frames as fast as the ring drains for the whole run. The host keeps what a
//! real run can send (every message kind has a count cap far above what the
//! guest runtime produces, and kept messages share two byte budgets: one for
//! the log and samples, one for the evidence a verdict stands on, so a log
//! flood cannot crowd out worker reports) and counts the rest in
//! [`WireStats`], so host memory stays bounded and the loss is reported,
//! never silent.

use ktstr_wire::{DecodeStats, Decoder, Message};

use crate::WireStats;

/// Bytes of kept evidence: scheduler events, phases, worker reports, steps
/// and payload results (frame payloads plus [`PER_MESSAGE_BYTES`] each). A
/// payload's output is at most 1 MiB, so this holds 100 payloads at their
/// largest beside everything else a run sends.
pub(crate) const EVIDENCE_BYTES: u64 = 128 << 20;
/// Bytes of kept log lines and samples, likewise.
pub(crate) const CHATTER_BYTES: u64 = 32 << 20;
/// What one kept message costs besides its payload (the enum and its headers).
const PER_MESSAGE_BYTES: u64 = 128;
/// Index of the evidence budget in [`WireIn`]'s pools.
const EVIDENCE: usize = 0;
/// Index of the log-and-samples budget.
const CHATTER: usize = 1;
/// The pools' sizes, by index.
const POOL_BYTES: [u64; 2] = [EVIDENCE_BYTES, CHATTER_BYTES];

/// A message kind, for the per-kind caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hello,
    Log,
    Done,
    Scheduler,
    Phase,
    Worker,
    Step,
    Payload,
    Sample,
}

impl Kind {
    const COUNT: usize = 9;

    /// Which byte budget the kind draws on; `None` for the always-kept kinds.
    fn pool(self) -> Option<usize> {
        match self {
            Kind::Hello | Kind::Done => None,
            Kind::Log | Kind::Sample => Some(CHATTER),
            _ => Some(EVIDENCE),
        }
    }

    fn of(m: &Message) -> Kind {
        match m {
            Message::Hello(_) => Kind::Hello,
            Message::Log(_) => Kind::Log,
            Message::Done(_) => Kind::Done,
            Message::Scheduler(_) => Kind::Scheduler,
            Message::Phase(_) => Kind::Phase,
            Message::Worker(_) => Kind::Worker,
            Message::Step(_) => Kind::Step,
            Message::Payload(_) => Kind::Payload,
            Message::Sample(_) => Kind::Sample,
        }
    }

    /// How many of this kind a run may keep. The guest runtime sends one
    /// Hello and one Done, at most 256 phases, 512 workers a run, ~600 samples
    /// and a few hundred log lines; the caps leave a wide margin.
    fn cap(self) -> u64 {
        match self {
            Kind::Hello | Kind::Done => 8,
            Kind::Scheduler | Kind::Phase | Kind::Step => 4096,
            Kind::Worker => 16_384,
            Kind::Payload => 1024,
            Kind::Sample => 16_384,
            Kind::Log => 50_000,
        }
    }
}

/// Which transport bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// The shared-memory ring.
    Ring,
    /// The serial fallback (COM2).
    Serial,
}

/// Decoders for both transports and the kept messages.
#[derive(Debug, Default)]
pub(crate) struct WireIn {
    ring: Decoder,
    serial: Decoder,
    ring_used: bool,
    serial_used: bool,
    kept: Vec<Message>,
    /// Kept messages already returned by [`WireIn::fresh`].
    handed: usize,
    counts: [u64; Kind::COUNT],
    /// Bytes kept per pool ([`EVIDENCE`], [`CHATTER`]).
    pool_bytes: [u64; 2],
    dropped_messages: u64,
    dropped_bytes: u64,
}

impl WireIn {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Decodes `bytes` from `from` and keeps what fits.
    pub(crate) fn feed(&mut self, from: Transport, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let dec = match from {
            Transport::Ring => &mut self.ring,
            Transport::Serial => &mut self.serial,
        };
        dec.push(bytes);
        let mut decoded = Vec::new();
        loop {
            let before = dec.stats().payload_bytes;
            let Some(m) = dec.next_message() else { break };
            decoded.push((m, dec.stats().payload_bytes - before));
        }
        let any = !decoded.is_empty();
        for (m, size) in decoded {
            self.admit(m, size);
        }
        match from {
            Transport::Ring => self.ring_used |= any,
            Transport::Serial => self.serial_used |= any,
        }
    }

    /// Kept messages not returned by an earlier call, in arrival order.
    pub(crate) fn fresh(&mut self) -> &[Message] {
        let from = self.handed;
        self.handed = self.kept.len();
        &self.kept[from..]
    }

    /// Whether a `Done` frame arrived: the first one is always kept (Done
    /// is past the byte budgets and its cap is 8).
    pub(crate) fn done_seen(&self) -> bool {
        self.counts[Kind::Done as usize] > 0
    }

    /// Whether any message was kept.
    pub(crate) fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Ends both streams, keeping the frames the decoders were still waiting
    /// behind, hands every kept message not yet returned by
    /// [`WireIn::fresh`] to `on_message`, and returns all kept messages and
    /// the counters. The ring's own drop counters are the caller's to add.
    pub(crate) fn finish(
        mut self,
        on_message: &mut dyn FnMut(&Message),
    ) -> (Vec<Message>, WireStats) {
        let mut wire = WireStats::default();
        let ring_tail = self.ring.finish();
        let serial_tail = self.serial.finish();
        self.ring_used |= !ring_tail.is_empty();
        self.serial_used |= !serial_tail.is_empty();
        for m in ring_tail.into_iter().chain(serial_tail) {
            // The decoders no longer say what each weighed; count the bound.
            self.admit(m, ktstr_wire::MAX_PAYLOAD_LEN as u64);
        }
        for (name, s, used) in [
            ("ring", self.ring.stats(), self.ring_used),
            ("serial", self.serial.stats(), self.serial_used),
        ] {
            add_stats(&mut wire, &s);
            if used {
                wire.transports.push(name.to_string());
            }
        }
        wire.host_dropped_messages = self.dropped_messages;
        wire.host_dropped_bytes = self.dropped_bytes;
        for m in self.fresh() {
            on_message(m);
        }
        (self.kept, wire)
    }

    fn admit(&mut self, m: Message, payload: u64) {
        let kind = Kind::of(&m);
        let cost = payload + PER_MESSAGE_BYTES;
        let count = &mut self.counts[kind as usize];
        // Hello and Done are kept past the budgets, up to their count cap:
        // the verdict stands on them and they are small.
        let within_budget = kind
            .pool()
            .is_none_or(|p| self.pool_bytes[p] + cost <= POOL_BYTES[p]);
        if *count < kind.cap() && within_budget {
            *count += 1;
            if let Some(p) = kind.pool() {
                self.pool_bytes[p] += cost;
            }
            self.kept.push(m);
        } else {
            self.dropped_messages += 1;
            self.dropped_bytes += payload;
        }
    }
}

fn add_stats(w: &mut WireStats, s: &DecodeStats) {
    w.frames += s.frames;
    w.crc_errors += s.crc_errors;
    w.bad_lengths += s.bad_lengths;
    w.decode_errors += s.decode_errors;
    w.truncated += s.truncated;
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_wire::{encode, Done, LogLine, PayloadResult};

    fn log(i: u64) -> Message {
        Message::Log(LogLine {
            at_ns: i,
            text: format!("line {i}"),
        })
    }

    fn done() -> Message {
        Message::Done(Done {
            at_ns: 1,
            ring_drops: 0,
            error: None,
        })
    }

    #[test]
    fn a_healthy_stream_is_kept_whole_in_order() {
        let mut w = WireIn::new();
        let sent: Vec<Message> = (0..100).map(log).chain([done()]).collect();
        let bytes: Vec<u8> = sent.iter().flat_map(|m| encode(m).unwrap()).collect();
        w.feed(Transport::Ring, &bytes[..500]);
        let first = w.fresh().len();
        w.feed(Transport::Ring, &bytes[500..]);
        assert_eq!(first + w.fresh().len(), 101);
        assert!(w.fresh().is_empty(), "each message is handed on once");
        assert!(w.done_seen());
        let (kept, stats) = w.finish(&mut |_| {});
        assert_eq!(kept, sent);
        assert_eq!(stats.frames, 101);
        assert_eq!(stats.transports, ["ring"]);
        assert!(!stats.has_loss(), "{stats:?}");
    }

    #[test]
    fn a_flood_of_log_lines_is_capped_counted_and_done_still_arrives() {
        let mut w = WireIn::new();
        let cap = Kind::Log.cap();
        let mut chunk = Vec::new();
        for i in 0..cap + 5_000 {
            chunk.extend(encode(&log(i)).unwrap());
            if chunk.len() > 64 << 10 {
                w.feed(Transport::Serial, &chunk);
                chunk.clear();
            }
        }
        chunk.extend(encode(&done()).unwrap());
        w.feed(Transport::Serial, &chunk);
        let (kept, stats) = w.finish(&mut |_| {});
        assert_eq!(kept.len() as u64, cap + 1);
        assert_eq!(kept.last(), Some(&done()));
        assert_eq!(stats.host_dropped_messages, 5_000);
        assert!(stats.host_dropped_bytes > 5_000 * 8);
        assert!(stats.has_loss(), "a capped flood is a loss: {stats:?}");
    }

    #[test]
    fn a_flood_of_big_log_frames_leaves_room_for_the_evidence() {
        let mut w = WireIn::new();
        let big = encode(&Message::Log(LogLine {
            at_ns: 0,
            text: "f".repeat(1_000_000),
        }))
        .unwrap();
        for _ in 0..100 {
            w.feed(Transport::Ring, &big);
        }
        let step = Message::Step(ktstr_wire::StepEvent {
            index: 0,
            at_ns: 1,
            ops: vec!["op".into()],
            errors: Vec::new(),
        });
        w.feed(Transport::Ring, &encode(&step).unwrap());
        let (kept, stats) = w.finish(&mut |_| {});
        let logs = kept.iter().filter(|m| matches!(m, Message::Log(_))).count() as u64;
        let per = (big.len() - ktstr_wire::FRAME_HEADER_LEN) as u64 + PER_MESSAGE_BYTES;
        assert_eq!(logs, CHATTER_BYTES / per, "logs kept up to their budget");
        assert_eq!(
            kept.last(),
            Some(&step),
            "the step is kept past the log budget"
        );
        assert_eq!(stats.host_dropped_messages, 100 - logs);
    }

    #[test]
    fn oversized_payload_frames_stop_at_the_byte_budget() {
        let mut w = WireIn::new();
        let big = Message::Payload(PayloadResult {
            stdout: "x".repeat(1_000_000),
            ..PayloadResult::default()
        });
        let frame = encode(&big).unwrap();
        let sent = 200u64;
        for _ in 0..sent {
            w.feed(Transport::Ring, &frame);
        }
        w.feed(Transport::Ring, &encode(&done()).unwrap());
        let (kept, stats) = w.finish(&mut |_| {});
        let payloads = kept.len() as u64 - 1;
        let per = frame.len() as u64 + PER_MESSAGE_BYTES;
        assert_eq!(payloads, EVIDENCE_BYTES / per, "kept up to the budget");
        assert_eq!(stats.host_dropped_messages, sent - payloads);
        assert!(
            matches!(kept.last(), Some(Message::Done(_))),
            "Done is kept past the budget"
        );
    }
}
