//! Stable snake_case names for candidates when no hints are given.

use std::collections::HashMap;

use crate::Candidate;

/// One name per measurement candidate (ids are left out), derived from its
/// label path and unit: `Latency (ms) > 95th percentile` → `latency_95th_percentile_ms`.
/// Repeated names get `_2`, `_3`, ... in text order.
pub fn metric_names(candidates: &[Candidate]) -> Vec<(usize, String)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    candidates
        .iter()
        .filter(|c| !c.is_id && c.value.is_finite())
        .map(|c| {
            let mut words: Vec<String> = Vec::new();
            for part in &c.label {
                for w in part
                    .split(|ch: char| !ch.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    let w = w.to_lowercase();
                    if words.last() != Some(&w) {
                        words.push(w);
                    }
                }
            }
            if let Some(u) = &c.unit {
                let u = u.replace('/', "_").replace('%', "pct");
                if words.last() != Some(&u) {
                    words.push(u);
                }
            }
            if words.is_empty() {
                words.push("value".into());
            }
            let base = words.join("_");
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let name = if *n == 1 { base } else { format!("{base}_{n}") };
            (c.id, name)
        })
        .collect()
}
