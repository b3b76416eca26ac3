//! The words of labels and hints, brought to one spelling: lower case, simple
//! stems, synonyms (`average`/`mean` → `avg`, `95th percentile`/`p95` →
//! `p95`, `per second`/`/sec` → `per_s`), and units to a canonical form.

/// Words that name an identifier rather than a measurement; a number they
/// label is an id, offered only to hints that ask for one.
const ID_WORDS: &[&str] = &[
    "pid", "tid", "id", "groupid", "job", "prio", "priority", "interval", "port", "err", "uid",
    "gid", "run", "version", "ver", "p", "i", "request",
];

/// Hint words that may go unmatched: they say what kind of number is meant
/// without the text having to say it.
pub(crate) const GENERIC: &[&str] = &[
    "lat",
    "time",
    "rate",
    "value",
    "result",
    "throughput",
    "speed",
    "score",
    "duration",
    "metric",
    "bench",
    "benchmark",
    // Stemmed, as `tokens` spells them.
    "elaps",
    "runtime",
    "total",
];

/// Words that carry no meaning in a label.
const STOP: &[&str] = &[
    "the", "of", "in", "a", "an", "to", "for", "with", "on", "by", "and", "is", "are", "at",
    "from", "number", "num", "no", "all", "using", "done", "per_",
];

/// Whether `word` (normalized) names an identifier.
pub(crate) fn is_id_word(word: &str) -> bool {
    ID_WORDS.contains(&word)
}

/// Normalizes the words of a label or hint into tokens (see the module docs).
pub(crate) fn tokens(text: &str) -> Vec<String> {
    let mut raw: Vec<String> = Vec::new();
    for piece in text.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '/' || c == '%')) {
        for part in split_slash(piece) {
            raw.extend(split_letters_digits(&part));
        }
    }
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let w = raw[i].trim_matches('.').to_lowercase();
        i += 1;
        if w.is_empty() {
            continue;
        }
        if w == "per" {
            if let Some(next) = raw.get(i) {
                out.push(format!("per_{}", per_what(&next.to_lowercase())));
                i += 1;
                continue;
            }
        }
        if let Some(p) = percentile(&w) {
            out.push(p);
            continue;
        }
        if w == "percentile" || w == "percentiles" || w == "th" {
            continue;
        }
        // `p99` `9` (from `p99_9`) is p99.9.
        if w.len() == 1 && w.as_bytes()[0].is_ascii_digit() {
            if let Some(last) = out.last_mut() {
                if last.starts_with('p') && last[1..].bytes().all(|b| b.is_ascii_digit()) {
                    last.push('.');
                    last.push_str(&w);
                    continue;
                }
            }
        }
        let w = synonym(&stem(&w));
        if !STOP.contains(&w.as_str()) {
            out.push(w);
        }
    }
    out
}

/// `ops/sec` → `ops`, `per sec`; `avg/stddev` stays one piece for the reader
/// to split (it is never a rate: neither side is a time).
fn split_slash(piece: &str) -> Vec<String> {
    match piece.split_once('/') {
        Some((a, b)) if is_time_unit(b) => vec![a.to_owned(), "per".into(), b.to_owned()],
        Some((a, b)) => vec![a.to_owned(), b.to_owned()],
        None => vec![piece.to_owned()],
    }
}

/// `thread0` → `thread`, `0`; `p95`, `95th`, `x86` stay whole.
fn split_letters_digits(word: &str) -> Vec<String> {
    let lower = word.to_lowercase();
    if percentile(&lower).is_some() || lower.starts_with('x') {
        return vec![word.to_owned()];
    }
    let letters = word.trim_end_matches(|c: char| c.is_ascii_digit());
    if !letters.is_empty() && letters.len() < word.len() && letters.len() > 1 {
        return vec![letters.to_owned(), word[letters.len()..].to_owned()];
    }
    vec![word.to_owned()]
}

fn per_what(w: &str) -> String {
    if is_time_unit(w) {
        canonical_time(w).to_owned()
    } else {
        synonym(&stem(w))
    }
}

/// `95th`, `95.00th`, `p95`, `99.50th` → `p95`, `p95`, `p95`, `p99.5`.
fn percentile(w: &str) -> Option<String> {
    let digits = w
        .strip_suffix("th")
        .or_else(|| w.strip_suffix("nd"))
        .or_else(|| w.strip_suffix("st"))
        .or_else(|| w.strip_prefix('p'))?;
    let v: f64 = digits.parse().ok()?;
    if !(0.0..=100.0).contains(&v) || digits.is_empty() || !digits.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    Some(format!("p{v}"))
}

fn stem(w: &str) -> String {
    const KEEP: &[&str] = &[
        "iops", "ops", "bps", "mips", "us", "ns", "ms", "s", "bits", "gbits", "mbits", "kbits",
        "stress", "process", "bus", "stats", "status", "class", "miss",
    ];
    if KEEP.contains(&w) || w.len() <= 3 || w.bytes().any(|b| b.is_ascii_digit()) {
        return w.to_owned();
    }
    if let Some(s) = w.strip_suffix("ies").or_else(|| w.strip_suffix("ied")) {
        return format!("{s}y");
    }
    if let Some(s) = w.strip_suffix("ed").filter(|s| s.len() > 2) {
        let b = s.as_bytes();
        return if b[b.len() - 1] == b[b.len() - 2] {
            s[..s.len() - 1].to_owned()
        } else {
            s.to_owned()
        };
    }
    if let Some(s) = w.strip_suffix("ing").filter(|s| s.len() > 2) {
        return s.to_owned();
    }
    if let Some(s) = w.strip_suffix('s').filter(|s| !s.ends_with('s')) {
        return s.to_owned();
    }
    w.to_owned()
}

fn synonym(w: &str) -> String {
    let s = match w {
        "average" | "mean" | "av" | "avr" | "avgs" => "avg",
        "maximum" | "highest" | "peak" => "max",
        "minimum" | "lowest" => "min",
        "latency" | "latencie" | "lat" | "delay" => "lat",
        "operation" | "op" => "ops",
        "bandwidth" => "bw",
        "stdev" | "std" | "mdev" => "stddev",
        "act" | "current" => "cur",
        "tot" => "total",
        "context" => "ctx",
        "t" | "thr" | "thread" => "thread",
        "percent" | "pct" | "%" => "pct",
        "msg" | "message" => "msg",
        "cycle" | "count" | "c" => "count",
        "transfer" | "xfer" => "transfer",
        "bitrate" => "rate",
        "sec" | "second" | "secs" => "s",
        "usec" | "usecs" | "microsecond" | "µs" => "us",
        "msec" | "msecs" | "millisecond" => "ms",
        "nsec" | "nsecs" | "nanosec" | "nanosecond" => "ns",
        "compress" | "compression" => "compress",
        "decompress" | "decompression" => "decompress",
        "write" | "wr" | "written" => "write",
        "read" | "rd" => "read",
        "retr" | "retransmit" | "retransmission" => "retr",
        other => other,
    };
    s.to_owned()
}

fn is_time_unit(w: &str) -> bool {
    matches!(
        w.to_lowercase().as_str(),
        "s" | "sec"
            | "secs"
            | "second"
            | "seconds"
            | "ms"
            | "msec"
            | "us"
            | "usec"
            | "ns"
            | "nsec"
            | "op"
    )
}

fn canonical_time(w: &str) -> &'static str {
    match w.to_lowercase().as_str() {
        "ms" | "msec" => "ms",
        "us" | "usec" => "us",
        "ns" | "nsec" => "ns",
        "op" => "op",
        _ => "s",
    }
}

/// The canonical spelling of a unit written in text or a hint (`usec` →
/// `us`, `MiB/sec` → `mib/s`, `Gbits/sec` → `gbit/s`, `%` → `%`), or `None`
/// when `word` is not a unit.
pub(crate) fn unit(word: &str) -> Option<String> {
    let w = word.trim_matches(|c| c == '(' || c == ')' || c == '[' || c == ']');
    let lower = w.to_lowercase();
    if let Some((num, den)) = lower.split_once('/') {
        let num = size_or_count(num)?;
        return is_time_unit(den).then(|| format!("{num}/{}", canonical_time(den)));
    }
    if let Some(t) = time_unit(&lower) {
        return Some(t.to_owned());
    }
    if lower == "%" || lower == "pct" || lower == "percent" {
        return Some("%".into());
    }
    if lower == "iops" {
        return Some("iops".into());
    }
    if lower == "mips" {
        return Some("mips".into());
    }
    let size = size_or_count(&lower)?;
    // Plain counts (`ops`) are not units on their own, only as rates.
    (size != "ops").then_some(size)
}

pub(crate) fn time_unit(lower: &str) -> Option<&'static str> {
    Some(match lower {
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => "ms",
        "us" | "usec" | "usecs" | "µs" | "microsecond" | "microseconds" => "us",
        "ns" | "nsec" | "nsecs" | "nanosec" | "nanosecs" | "nanosecond" | "nanoseconds" => "ns",
        _ => return None,
    })
}

fn size_or_count(lower: &str) -> Option<String> {
    Some(match lower {
        "b" | "byte" | "bytes" => "b".into(),
        "kb" | "kbyte" | "kbytes" => "kb".into(),
        "kib" => "kib".into(),
        "mb" | "mbyte" | "mbytes" => "mb".into(),
        "mib" => "mib".into(),
        "gb" | "gbyte" | "gbytes" => "gb".into(),
        "gib" => "gib".into(),
        "bit" | "bits" => "bit".into(),
        "kbit" | "kbits" => "kbit".into(),
        "mbit" | "mbits" => "mbit".into(),
        "gbit" | "gbits" => "gbit".into(),
        "ops" | "op" | "operations" | "events" | "requests" => "ops".into(),
        _ => return None,
    })
}

/// `mib` over `s` → `mib/s`, for sizes and bits (not counts).
pub(crate) fn rate_unit(num: &str, den: &str) -> Option<String> {
    let lower = num.to_lowercase();
    size_or_count(&lower)
        .filter(|s| s != "ops")
        .and_then(|_| unit(&format!("{lower}/{den}")))
}

/// Words that count things, whose rate is `per s` rather than a unit.
pub(crate) fn is_count_word(word: &str) -> bool {
    matches!(
        tokens(word).last().map(String::as_str),
        Some(
            "ops"
                | "event"
                | "request"
                | "msg"
                | "iops"
                | "switch"
                | "call"
                | "packet"
                | "transaction"
                | "query"
        )
    )
}

/// The words a unit adds to its number's label: `mib/s` → `mib`, `per_s`;
/// `b` → `byte`.
pub(crate) fn unit_tokens(unit: &str) -> Vec<String> {
    let mut out = tokens(unit);
    if unit == "b" || unit.starts_with("b/") {
        out.push("byte".into());
    }
    out
}

/// The unit a hint ends with, and how many of its `_` parts it took
/// (`latency_p95_ms` → `ms`, 1; `copy_rate_mib_s` → `mib/s`, 2).
pub(crate) fn hint_unit(parts: &[&str]) -> Option<(String, usize)> {
    let n = parts.len();
    if n >= 3 {
        let (num, den) = (parts[n - 2], parts[n - 1]);
        if is_time_unit(den) && size_or_count(num).is_some_and(|s| s != "ops") {
            return unit(&format!("{num}/{den}")).map(|u| (u, 2));
        }
    }
    if n >= 2 {
        return unit(parts[n - 1]).map(|u| (u, 1));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_stems_and_percentiles_meet() {
        assert_eq!(tokens("95th percentile"), vec!["p95"]);
        assert_eq!(tokens("p95"), vec!["p95"]);
        assert_eq!(tokens("99.50th"), vec!["p99.5"]);
        assert_eq!(tokens("p99_9"), vec!["p99.9"]);
        assert_eq!(tokens("events per second"), vec!["event", "per_s"]);
        assert_eq!(tokens("ops/sec"), vec!["ops", "per_s"]);
        assert_eq!(tokens("Average latency"), vec!["avg", "lat"]);
        assert_eq!(tokens("thread0_max"), vec!["thread", "0", "max"]);
        assert_eq!(tokens("transferred"), vec!["transfer"]);
        assert_eq!(tokens("usecs/op"), vec!["us", "per_op"]);
    }

    #[test]
    fn units_have_one_spelling() {
        assert_eq!(unit("usec").as_deref(), Some("us"));
        assert_eq!(unit("MiB/sec").as_deref(), Some("mib/s"));
        assert_eq!(unit("Gbits/sec").as_deref(), Some("gbit/s"));
        assert_eq!(unit("ops/sec").as_deref(), Some("ops/s"));
        assert_eq!(unit("(usec)").as_deref(), Some("us"));
        assert_eq!(unit("ops"), None);
        assert_eq!(unit("Min"), None);
        assert_eq!(hint_unit(&["latency", "p95", "ms"]), Some(("ms".into(), 1)));
        assert_eq!(hint_unit(&["copy", "mib", "s"]), Some(("mib/s".into(), 2)));
        assert_eq!(hint_unit(&["ops", "s"]), Some(("s".into(), 1)));
        assert_eq!(hint_unit(&["ms"]), None);
    }
}
