//! Json output adapter throughput: whole documents, documents inside mixed text, and text
//! with no document at all (the scanner's worst ordinary case), in bytes per second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ktstr_adapter_json::{find_document, JsonAdapter};
use ktstr_adapters::{Adapter, AdapterInput};

const FIO: &str = include_str!("../../adapters/json/tests/data/fio_randread.json");
const CYCLICTEST_MIXED: &str = include_str!("../../adapters/json/tests/data/cyclictest_mixed.txt");

/// A fio report with `jobs` copies of the fixture's job (real fio runs with many jobs look
/// like this), about 5.5 KB per job.
fn fio_with_jobs(jobs: usize) -> String {
    let mut doc: serde_json::Value = serde_json::from_str(FIO).unwrap();
    let job = doc["jobs"][0].clone();
    doc["jobs"] = serde_json::Value::Array(vec![job; jobs]);
    serde_json::to_string_pretty(&doc).unwrap()
}

/// Kernel-log-like lines full of brackets and quotes, with no JSON document.
fn log_without_document(bytes: usize) -> String {
    let line = "[  12.345678] sched_ext: \"simple\" enabled {cpu 3} [state=ok]\n";
    line.repeat(bytes / line.len() + 1)
}

fn inputs() -> Vec<(&'static str, String)> {
    let big = fio_with_jobs(64);
    vec![
        ("fio_1job_whole", FIO.to_string()),
        ("cyclictest_mixed", CYCLICTEST_MIXED.to_string()),
        ("fio_64jobs_whole", big.clone()),
        (
            "fio_64jobs_after_text",
            format!("{}{big}\nrun done\n", log_without_document(16 << 10)),
        ),
        ("log_1MiB_no_document", log_without_document(1 << 20)),
    ]
}

fn json_adapter(c: &mut Criterion) {
    let mut group = c.benchmark_group("json_adapter");
    for (name, text) in inputs() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        let input = AdapterInput {
            stdout: text,
            ..Default::default()
        };
        group.bench_with_input(BenchmarkId::from_parameter(name), &input, |b, input| {
            b.iter(|| black_box(JsonAdapter.extract(black_box(input))))
        });
    }
    group.finish();
}

fn scanner(c: &mut Criterion) {
    let mut group = c.benchmark_group("json_scan");
    let text = format!("{}{}", log_without_document(16 << 10), fio_with_jobs(64));
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("find_after_16KiB_text", |b| {
        b.iter(|| black_box(find_document(black_box(&text))))
    });
    // Baseline: parsing alone, what any JSON adapter pays at least.
    let doc = fio_with_jobs(64);
    group.throughput(Throughput::Bytes(doc.len() as u64));
    group.bench_function("serde_json_parse_only", |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(black_box(&doc)).unwrap()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = json_adapter, scanner
}
criterion_main!(benches);
