//! Property tests: frames round-trip, and no byte stream makes the decoder
//! panic, lose an intact frame, or miscount; the ring delivers frames whole
//! and in order, counting every one it drops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ktstr_wire::*;
use proptest::collection::vec;
use proptest::prelude::*;

// ---- strategies ----------------------------------------------------------

fn cpu_list() -> impl Strategy<Value = Vec<u32>> {
    vec(0..512_u32, 0..8)
}

fn observed_cpu() -> impl Strategy<Value = ObservedCpu> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        cpu_list(),
        any::<u32>(),
        proptest::option::of(cpu_list()),
    )
        .prop_map(|(cpu, package, core, siblings, node, llc)| ObservedCpu {
            cpu,
            package,
            core,
            siblings,
            node,
            llc,
        })
}

fn observed_node() -> impl Strategy<Value = ObservedNode> {
    (
        any::<u32>(),
        cpu_list(),
        vec(any::<u32>(), 0..4),
        any::<u64>(),
    )
        .prop_map(|(id, cpus, distances, mem_mib)| ObservedNode {
            id,
            cpus,
            distances,
            mem_mib,
        })
}

fn topology() -> impl Strategy<Value = ObservedTopology> {
    (
        vec(observed_cpu(), 0..16),
        vec(cpu_list(), 0..4),
        vec(observed_node(), 0..4),
    )
        .prop_map(|(cpus, llcs, nodes)| ObservedTopology { cpus, llcs, nodes })
}

fn hello() -> impl Strategy<Value = Hello> {
    (
        ".{0,40}",
        any::<u64>(),
        topology(),
        any::<bool>(),
        proptest::option::of("[a-z]{0,12}"),
    )
        .prop_map(
            |(kernel_release, boot_ns, topology, sched_ext, sched_ext_state)| Hello {
                kernel_release,
                boot_ns,
                topology,
                sched_ext,
                sched_ext_state,
                detectors: ObservedDetectors {
                    watchdog_thresh_s: Some(1),
                    rcu_stall_s: None,
                    hung_task_s: Some(2),
                    scx_watchdog_max_ms: Some(boot_ns % 30_000),
                },
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        hello().prop_map(Message::Hello),
        (any::<u64>(), ".{0,200}").prop_map(|(at_ns, text)| Message::Log(LogLine { at_ns, text })),
        (any::<u64>(), any::<u64>(), proptest::option::of(".{0,80}")).prop_map(
            |(at_ns, ring_drops, error)| Message::Done(Done {
                at_ns,
                ring_drops,
                error
            })
        ),
        scheduler_event().prop_map(Message::Scheduler),
        (
            any::<u32>(),
            ".{0,20}",
            ".{0,300}",
            ".{0,100}",
            proptest::option::of(any::<i32>()),
            any::<u64>(),
            any::<bool>()
        )
            .prop_map(
                |(invocation, name, stdout, stderr, exit_code, wall_ns, timed_out)| {
                    Message::Payload(PayloadResult {
                        invocation,
                        name,
                        stdout,
                        stderr,
                        exit_code,
                        signal: None,
                        wall_ns,
                        timed_out,
                        truncated_bytes: 0,
                        error: None,
                    })
                }
            ),
        phase().prop_map(Message::Phase),
        worker_report().prop_map(Message::Worker),
        (
            any::<u32>(),
            any::<u64>(),
            vec(".{0,40}", 0..4),
            vec(".{0,40}", 0..3)
        )
            .prop_map(|(index, at_ns, ops, errors)| Message::Step(StepEvent {
                index,
                at_ns,
                ops,
                errors
            })),
    ]
}

fn lines() -> impl Strategy<Value = Vec<String>> {
    vec(".{0,60}", 0..5)
}

fn scheduler_event() -> impl Strategy<Value = SchedulerEvent> {
    prop_oneof![
        (
            any::<u64>(),
            "[a-z_]{0,16}",
            any::<u64>(),
            proptest::option::of(any::<bool>())
        )
            .prop_map(|(at_ns, ops, after_ns, switch_all)| {
                SchedulerEvent::Attached {
                    at_ns,
                    ops,
                    after_ns,
                    switch_all,
                }
            }),
        (
            any::<u64>(),
            ".{0,80}",
            lines(),
            lines(),
            proptest::option::of(any::<i32>())
        )
            .prop_map(|(at_ns, reason, kernel_log, output, exit_status)| {
                SchedulerEvent::Died {
                    at_ns,
                    reason,
                    kernel_log,
                    output,
                    exit_status,
                }
            }),
    ]
}

fn phase() -> impl Strategy<Value = PhaseEvent> {
    let per_cgroup = || vec(("[a-z/]{1,12}", cpu_list()), 0..4);
    (any::<u32>(), any::<u64>(), per_cgroup(), per_cgroup()).prop_map(
        |(index, at_ns, cpusets, members)| PhaseEvent {
            index,
            at_ns,
            cpusets,
            members,
        },
    )
}

fn worker_report() -> impl Strategy<Value = WorkerReport> {
    (
        ("[a-z/]{1,12}", any::<u32>(), any::<i32>(), "[a-z_]{1,16}"),
        vec(any::<u64>(), 9),
        vec(any::<u32>(), 4),
        vec((any::<u32>(), cpu_list()), 0..4),
        vec(any::<u64>(), 0..32),
        proptest::option::of(".{0,40}"),
    )
        .prop_map(
            |((cgroup, index, pid, work), n, small, cpus_by_phase, wake_latencies_ns, died)| {
                WorkerReport {
                    cgroup,
                    index,
                    pid,
                    work,
                    work_units: n[0],
                    cpu_ns: n[1],
                    wall_ns: n[2],
                    max_gap_ns: n[3],
                    max_gap_cpu: small[0],
                    max_gap_at_ns: n[4],
                    migrations: n[5],
                    cpus_by_phase,
                    wake_latencies_ns,
                    run_delay_ns: n[6],
                    timeslices: n[0] / 3,
                    metrics: vec![("ops".into(), n[1] as f64 / 7.0)],
                    died,
                    started_ns: n[7],
                    ext_samples_on: small[1],
                    ext_samples_off: small[2],
                    ext_samples_unknown: small[3],
                }
            },
        )
}

/// Bytes rich in the magic's own bytes, so partial magics are common, but
/// never the whole magic.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![any::<u8>(), proptest::sample::select(FRAME_MAGIC.to_vec())],
        0..64,
    )
    .prop_filter("contains the magic", |g| {
        !g.windows(4).any(|w| w == FRAME_MAGIC)
    })
}

/// A stream built to stress resynchronisation: good frames, garbage, bare
/// magics and headers with plausible or absurd lengths.
#[derive(Debug, Clone)]
enum Segment {
    Frame(Box<Message>),
    Garbage(Vec<u8>),
    Header(u32, u32),
}

fn chaos() -> impl Strategy<Value = Vec<u8>> {
    let segment = prop_oneof![
        message().prop_map(|m| Segment::Frame(Box::new(m))),
        vec(any::<u8>(), 0..64).prop_map(Segment::Garbage),
        (prop_oneof![0..64_u32, any::<u32>()], any::<u32>())
            .prop_map(|(l, c)| Segment::Header(l, c)),
    ];
    vec(segment, 0..12).prop_map(|segments| {
        let mut out = Vec::new();
        for s in segments {
            match s {
                Segment::Frame(m) => encode_into(&m, &mut out).unwrap(),
                Segment::Garbage(g) => out.extend(g),
                Segment::Header(len, crc) => {
                    out.extend(FRAME_MAGIC);
                    out.extend(len.to_le_bytes());
                    out.extend(crc.to_le_bytes());
                }
            }
        }
        out
    })
}

// ---- helpers -------------------------------------------------------------

/// Pushes `bytes` in chunks cut at `cuts` (taken modulo the length),
/// draining after each, then finishes.
fn decode_chunked(bytes: &[u8], cuts: &[usize]) -> (Vec<Message>, DecodeStats) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    let mut decoder = Decoder::new();
    let mut msgs = Vec::new();
    let mut from = 0;
    for to in cuts {
        decoder.push(&bytes[from..to]);
        msgs.extend(decoder.drain());
        from = to;
    }
    msgs.extend(decoder.finish());
    assert_eq!(decoder.pending_bytes(), 0);
    (msgs, decoder.stats())
}

/// Every input byte ends up in a delivered frame or in `skipped_bytes`.
fn assert_accounted(input_len: usize, msgs: &[Message], stats: &DecodeStats) {
    let framed: usize = msgs.iter().map(|m| encode(m).unwrap().len()).sum();
    assert_eq!(
        framed as u64 + stats.skipped_bytes,
        input_len as u64,
        "{stats:?}"
    );
    assert_eq!(stats.frames, msgs.len() as u64);
}

fn frames_of(msgs: &[Message]) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let mut bytes = Vec::new();
    let mut ranges = Vec::new();
    for m in msgs {
        let start = bytes.len();
        encode_into(m, &mut bytes).unwrap();
        ranges.push(start..bytes.len());
    }
    (bytes, ranges)
}

// ---- frames and decoder --------------------------------------------------

proptest! {
    #[test]
    fn every_message_round_trips(msg in message()) {
        let frame = encode(&msg).unwrap();
        let mut appended = b"x".to_vec();
        encode_into(&msg, &mut appended).unwrap();
        prop_assert_eq!(&appended[1..], &frame[..]);
        let (msgs, stats) = decode_all(&frame);
        prop_assert_eq!(msgs, vec![msg]);
        prop_assert!(stats.is_clean());
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048), cuts in vec(any::<usize>(), 0..8)) {
        let (msgs, stats) = decode_all(&bytes);
        assert_accounted(bytes.len(), &msgs, &stats);
        prop_assert_eq!(decode_chunked(&bytes, &cuts), (msgs, stats));
    }

    #[test]
    fn chaos_streams_decode_the_same_however_split(bytes in chaos(), cuts in vec(any::<usize>(), 0..8)) {
        let (msgs, stats) = decode_all(&bytes);
        assert_accounted(bytes.len(), &msgs, &stats);
        prop_assert_eq!(decode_chunked(&bytes, &cuts), (msgs, stats));
    }

    #[test]
    fn frames_split_at_random_boundaries(msgs in vec(message(), 0..8), cuts in vec(any::<usize>(), 0..16)) {
        let (bytes, _) = frames_of(&msgs);
        let (got, stats) = decode_chunked(&bytes, &cuts);
        prop_assert_eq!(got, msgs);
        prop_assert!(stats.is_clean());
    }

    #[test]
    fn corruption_loses_only_the_frames_it_touches(
        msgs in vec(message(), 1..10),
        flips in vec((any::<usize>(), 1..=255_u8), 1..5),
    ) {
        let (mut bytes, ranges) = frames_of(&msgs);
        let flipped: Vec<usize> = flips.iter().map(|&(at, _)| at % bytes.len()).collect();
        for (&at, &(_, xor)) in flipped.iter().zip(&flips) {
            bytes[at] ^= xor;
        }
        let intact: Vec<Message> = msgs
            .iter()
            .zip(&ranges)
            .filter(|(_, r)| !flipped.iter().any(|at| r.contains(at)))
            .map(|(m, _)| m.clone())
            .collect();
        let (got, stats) = decode_all(&bytes);
        assert_accounted(bytes.len(), &got, &stats);
        prop_assert_eq!(got, intact);
    }

    #[test]
    fn truncation_keeps_complete_frames(msgs in vec(message(), 1..8), cut in any::<usize>()) {
        let (bytes, ranges) = frames_of(&msgs);
        let cut = cut % (bytes.len() + 1);
        let complete = ranges.iter().take_while(|r| r.end <= cut).count();
        let partial = cut - ranges.get(complete).map_or(cut, |r| r.start);
        let (got, stats) = decode_all(&bytes[..cut]);
        prop_assert_eq!(&got[..], &msgs[..complete]);
        prop_assert_eq!(stats.skipped_bytes, partial as u64);
        if partial >= FRAME_MAGIC.len() {
            prop_assert!(stats.truncated >= 1);
        } else {
            prop_assert_eq!(stats.truncated, 0);
        }
    }

    #[test]
    fn garbage_between_frames_loses_nothing(
        items in vec((garbage(), message()), 0..8),
        tail in garbage(),
        cuts in vec(any::<usize>(), 0..8),
    ) {
        let mut bytes = Vec::new();
        let mut garbage_len = tail.len();
        let mut payload_len = 0;
        for (g, m) in &items {
            bytes.extend(g);
            garbage_len += g.len();
            let before = bytes.len();
            encode_into(m, &mut bytes).unwrap();
            payload_len += bytes.len() - before - FRAME_HEADER_LEN;
        }
        bytes.extend(&tail);
        let (got, stats) = decode_chunked(&bytes, &cuts);
        let want: Vec<Message> = items.into_iter().map(|(_, m)| m).collect();
        prop_assert_eq!(got, want);
        // No full magic in the garbage, so no false frame and no error; the
        // payload bytes are exactly the frames' payloads.
        prop_assert_eq!(stats, DecodeStats {
            frames: stats.frames,
            skipped_bytes: garbage_len as u64,
            payload_bytes: payload_len as u64,
            ..DecodeStats::default()
        });
    }
}

// ---- ring ----------------------------------------------------------------

#[derive(Debug, Clone)]
enum RingOp {
    Write(usize),
    Read,
}

proptest! {
    /// Single-threaded against a model: a frame is accepted exactly when it
    /// fits, and the reader sees the accepted frames' bytes in order.
    #[test]
    fn ring_matches_a_model(
        capacity in 1..200_u32,
        ops in vec(prop_oneof![(0..250_usize).prop_map(RingOp::Write), Just(RingOp::Read)], 0..64),
    ) {
        let (mut w, mut r) = in_memory_ring(capacity).unwrap();
        let (mut sent, mut got) = (Vec::new(), Vec::new());
        let (mut unread, mut drops, mut dropped_bytes) = (0_usize, 0, 0);
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                RingOp::Write(len) => {
                    let frame: Vec<u8> = (0..len).map(|k| (i * 31 + k) as u8).collect();
                    let fits = unread + len <= capacity as usize;
                    prop_assert_eq!(w.write_frame(&frame), fits);
                    if fits {
                        sent.extend(frame);
                        unread += len;
                    } else {
                        drops += 1;
                        dropped_bytes += len as u64;
                    }
                }
                RingOp::Read => {
                    prop_assert_eq!(r.read_into(&mut got), unread);
                    unread = 0;
                }
            }
        }
        r.read_into(&mut got);
        prop_assert_eq!(got, sent);
        prop_assert_eq!((r.dropped_frames(), r.dropped_bytes()), (drops, dropped_bytes));
        prop_assert_eq!(r.corruptions(), 0);
    }
}

/// A deterministic message per sequence number, of varying size, so the
/// reader can check each delivered frame is the one written.
fn numbered(seq: u64) -> Message {
    let len = (seq.wrapping_mul(2_654_435_761) % 300) as usize;
    let text = (0..len)
        .map(|k| char::from(b'a' + ((seq as usize + k) % 26) as u8))
        .collect();
    Message::Log(LogLine { at_ns: seq, text })
}

/// Runs a writer thread sending `total` numbered frames (retrying when the
/// ring is full if `retry`) against a reader that pauses `read_pause`
/// between reads. Returns the delivered sequence numbers, decoder stats and
/// the ring's drop count.
fn run_two_threads(
    capacity: u32,
    total: u64,
    retry: bool,
    read_pause: Duration,
) -> (Vec<u64>, DecodeStats, u64) {
    let (mut writer, mut reader) = in_memory_ring(capacity).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let producer = thread::spawn({
        let done = Arc::clone(&done);
        move || {
            let mut frame = Vec::new();
            for seq in 0..total {
                frame.clear();
                encode_into(&numbered(seq), &mut frame).unwrap();
                while !writer.write_frame(&frame) && retry {
                    thread::yield_now();
                }
            }
            done.store(true, Ordering::Release);
            writer.dropped_frames()
        }
    });

    let mut decoder = Decoder::new();
    let mut bytes = Vec::new();
    let mut seqs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Load `done` before reading, so a final read sees every frame.
        let finished = done.load(Ordering::Acquire);
        bytes.clear();
        reader.read_into(&mut bytes);
        decoder.push(&bytes);
        for msg in decoder.drain() {
            let Message::Log(LogLine { at_ns: seq, .. }) = msg else {
                panic!("{msg:?}")
            };
            assert_eq!(msg, numbered(seq), "frame {seq} damaged");
            seqs.push(seq);
        }
        if finished {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stuck after {} frames",
            seqs.len()
        );
        if read_pause.is_zero() {
            thread::yield_now();
        } else {
            thread::sleep(read_pause);
        }
    }
    assert!(decoder.finish().is_empty());
    let writer_drops = producer.join().unwrap();
    assert_eq!(reader.dropped_frames(), writer_drops);
    assert_eq!(reader.corruptions(), 0);
    (seqs, decoder.stats(), writer_drops)
}

#[test]
fn ring_two_threads_delivers_every_frame_in_order() {
    let total = 5000;
    let (seqs, stats, _) = run_two_threads(1024, total, true, Duration::ZERO);
    assert_eq!(seqs, (0..total).collect::<Vec<_>>());
    assert!(stats.is_clean(), "{stats:?}");
}

#[test]
fn ring_slow_reader_counts_every_drop() {
    let total = 5000;
    let (seqs, stats, drops) = run_two_threads(2048, total, false, Duration::from_micros(200));
    assert!(
        stats.is_clean(),
        "dropped frames must vanish whole: {stats:?}"
    );
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert_eq!(seqs.len() as u64 + drops, total);
    assert!(drops > 0, "the reader was meant to fall behind");
}
