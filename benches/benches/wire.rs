//! Wire throughput: frame encoding, stream decoding and the shared-memory
//! ring, the paths every guest message crosses.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ktstr_wire::{
    encode_into, in_memory_ring, Decoder, Hello, LogLine, Message, ObservedCpu, ObservedNode,
    ObservedTopology,
};

/// What a small VM reports at start-up: 8 CPUs as 4 SMT cores on one
/// package, two LLCs, one NUMA node.
fn hello_8cpu() -> Message {
    let cpus = (0..8)
        .map(|cpu| ObservedCpu {
            cpu,
            package: 0,
            core: cpu / 2,
            siblings: vec![cpu & !1, cpu | 1],
            node: 0,
            llc: Some(if cpu < 4 {
                vec![0, 1, 2, 3]
            } else {
                vec![4, 5, 6, 7]
            }),
        })
        .collect();
    Message::Hello(Hello {
        kernel_release: "6.12.0-ktstr".into(),
        boot_ns: 1_234_567_890,
        topology: ObservedTopology {
            cpus,
            llcs: vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]],
            nodes: vec![ObservedNode {
                id: 0,
                cpus: (0..8).collect(),
                distances: vec![10],
                mem_mib: 2048,
            }],
        },
        sched_ext: true,
        sched_ext_state: Some("enabled".into()),
        detectors: Default::default(),
    })
}

fn log_small() -> Message {
    Message::Log(LogLine {
        at_ns: 987_654_321,
        text: "scheduler attached, starting workload".into(),
    })
}

fn messages() -> [(&'static str, Message); 2] {
    [("hello_8cpu", hello_8cpu()), ("log_small", log_small())]
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for (name, msg) in messages() {
        let mut buf = Vec::new();
        encode_into(&msg, &mut buf).unwrap();
        group.throughput(Throughput::Bytes(buf.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                buf.clear();
                encode_into(black_box(&msg), &mut buf).unwrap();
            })
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    // Many frames per push, as the host gets them from one ring read.
    const FRAMES: usize = 64;
    let mut group = c.benchmark_group("decode");
    for (name, msg) in messages() {
        let mut stream = Vec::new();
        for _ in 0..FRAMES {
            encode_into(&msg, &mut stream).unwrap();
        }
        group.throughput(Throughput::Bytes(stream.len() as u64));
        let mut decoder = Decoder::new();
        group.bench_function(name, |b| {
            b.iter(|| {
                decoder.push(black_box(&stream));
                assert_eq!(decoder.drain().count(), FRAMES);
            })
        });
    }
    group.finish();
}

const RING_CAPACITY: u32 = 64 * 1024;
const FRAME: [u8; 256] = [0xa5; 256];

fn ring(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring");
    group.throughput(Throughput::Bytes(FRAME.len() as u64));

    group.bench_function("alternate_256B", |b| {
        let (mut writer, mut reader) = in_memory_ring(RING_CAPACITY).unwrap();
        let mut out = Vec::with_capacity(FRAME.len());
        b.iter(|| {
            assert!(writer.write_frame(black_box(&FRAME)));
            out.clear();
            reader.read_into(&mut out);
        })
    });

    // The writer retries when full, so this measures sustained transfer
    // rather than how fast frames can be dropped.
    group.bench_function("two_threads_256B", |b| {
        b.iter_custom(|iters| {
            let (mut writer, mut reader) = in_memory_ring(RING_CAPACITY).unwrap();
            let want = iters * FRAME.len() as u64;
            let consumer = thread::spawn(move || {
                let mut out = Vec::with_capacity(RING_CAPACITY as usize);
                let mut got = 0;
                while got < want {
                    out.clear();
                    match reader.read_into(&mut out) {
                        0 => thread::yield_now(),
                        n => got += n as u64,
                    }
                }
            });
            let start = Instant::now();
            for _ in 0..iters {
                while !writer.write_frame(&FRAME) {
                    thread::yield_now();
                }
            }
            consumer.join().unwrap();
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = encode, decode, ring
}
criterion_main!(benches);
