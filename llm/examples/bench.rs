//! LlmExtract benchmark: model load time, extraction latency per output
//! (median of N runs) and the process's peak RSS.
//!
//! ```text
//! cargo run -p ktstr-llm --example bench [RUNS]
//! ```
//!
//! An example binary, not a criterion bench: `cargo bench` builds the bench
//! profile, which would compile llama.cpp a second time (~7 min, ~2 GB); this
//! runs in the dev profile the tests already built (llama.cpp itself is always
//! compiled optimized, RelWithDebInfo). Needs the model (scripts/fetch-model.sh).
//!
//! Besides wall time it prints the process CPU time per extraction: inference
//! runs on one thread, so on a busy machine the CPU time is the steadier figure.

use std::time::{Duration, Instant};

use ktstr_llm::{extract, resolve_model_path, Model};

const CASES: &[(&str, &str, &[&str])] = &[
    (
        "hackbench, 1 hint",
        "Running in process mode with 10 groups using 40 file descriptors each (== 400 tasks)\n\
         Each sender will pass 100 messages of 100 bytes\nTime: 0.123\n",
        &["time"],
    ),
    (
        "cyclictest-like, 2 hints",
        "T: 0 ( 1234) P:80 I:1000 C:  10000 Min:      3 Act:    5 Avg:    6 Max:     870\n\
         T: 1 ( 1235) P:80 I:1500 C:   6667 Min:      4 Act:    6 Avg:    7 Max:     912\n",
        &["min", "max"],
    ),
    (
        "stress-ng-like, no hints",
        "stress-ng: info:  [311] dispatching hogs: 2 cpu\n\
         stress-ng: metrc: [311] stressor  bogo ops real time  usr time  sys time   bogo ops/s\n\
         stress-ng: metrc: [311] cpu          4711     10.00     19.80      0.02       471.10\n",
        &[],
    ),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(5), |a| a.parse())?;
    let path = resolve_model_path(None)?;
    let start = Instant::now();
    let model = Model::load(&path)?;
    println!("model         {}", path.display());
    println!("load          {:>8.1} ms", ms(start.elapsed()));
    println!("rss after load {:>7.1} MB", peak_rss_mb());

    for (name, text, hints) in CASES {
        let hints: Vec<String> = hints.iter().map(|h| h.to_string()).collect();
        let mut times = Vec::with_capacity(runs);
        let mut cpu_times = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let cpu = cpu_time();
            let found = extract(&model, text, &hints)?;
            cpu_times.push(cpu_time() - cpu);
            times.push(found.elapsed);
            last = Some(found);
        }
        times.sort();
        cpu_times.sort();
        let found = last.expect("at least one run");
        println!(
            "{name:<26} median {:>7.1} ms  min {:>7.1}  max {:>7.1}  cpu median {:>7.1} ms  ({runs} runs, {} prompt + {} answer tokens)",
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1]),
            ms(cpu_times[cpu_times.len() / 2]),
            found.prompt_tokens,
            found.tokens,
        );
        println!(
            "{:<26} {} -> {:?} rejected {:?}",
            "", found.raw_json, found.metrics, found.rejected
        );
    }
    println!("peak rss      {:>8.1} MB", peak_rss_mb());
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The process's peak resident set size, from getrusage.
fn peak_rss_mb() -> f64 {
    // ru_maxrss is in KiB on Linux.
    usage().ru_maxrss as f64 / 1024.0
}

/// User plus system CPU time the process has used so far.
fn cpu_time() -> Duration {
    let u = usage();
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn usage() -> libc::rusage {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the call's duration.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    usage
}
