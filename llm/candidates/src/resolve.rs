//! Resolving a metric hint against the candidates.

use crate::{vocab, Candidate};

/// A hint as the reader understands it: name words and an optional unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The hint as written.
    pub name: String,
    /// Normalized name words (the unit suffix taken off).
    pub words: Vec<String>,
    /// The canonical unit the hint ends with (`_ms`, `_mib_s`, `_pct`).
    pub unit: Option<String>,
}

impl Hint {
    /// Parses a snake_case hint: `latency_p95_ms` → words `lat`, `p95`, unit `ms`.
    pub fn parse(name: &str) -> Hint {
        let parts: Vec<&str> = name
            .split(['_', '-', '.', ' '])
            .filter(|p| !p.is_empty())
            .collect();
        let (words, unit) = split_unit(&parts);
        Hint {
            name: name.to_owned(),
            words: vocab::tokens(&words.join(" ")),
            unit,
        }
    }

    fn asks_for_id(&self) -> bool {
        self.words.iter().any(|w| vocab::is_id_word(w))
    }
}

/// A hint's name parts and the unit its tail names: `copy_mib_per_s` →
/// `mib/s`; `ops_per_sec` and `bogo_ops_s` are rates of a count (words
/// `ops per s`, no unit); `sha256_16_bytes` names a column, not a unit.
fn split_unit<'a>(parts: &[&'a str]) -> (Vec<&'a str>, Option<String>) {
    let n = parts.len();
    if n >= 2 && vocab::time_unit(&parts[n - 1].to_lowercase()).is_some() {
        let per = parts[n - 2].eq_ignore_ascii_case("per");
        let x = if per { n.checked_sub(3) } else { Some(n - 2) };
        if let Some(u) = x.and_then(|x| vocab::rate_unit(parts[x], parts[n - 1]).map(|u| (x, u))) {
            return (parts[..u.0].to_vec(), Some(u.1));
        }
        let count = x.is_some_and(|x| vocab::is_count_word(parts[x]));
        if per || count {
            let mut words = parts[..n - 1].to_vec();
            if !per {
                words.push("per");
            }
            words.push(parts[n - 1]);
            return (words, None);
        }
    }
    // `write_iops`, `rating_mips`: the unit is also the metric's name.
    let named_by_unit = parts
        .last()
        .is_some_and(|p| matches!(p.to_lowercase().as_str(), "iops" | "mips"));
    if n >= 2 && !named_by_unit && !parts[n - 2].bytes().all(|b| b.is_ascii_digit()) {
        if let Some((unit, taken)) = vocab::hint_unit(parts) {
            return (parts[..n - taken].to_vec(), Some(unit));
        }
    }
    (parts.to_vec(), None)
}

/// How a hint resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Exactly one candidate says what the hint says (its index).
    Found(usize),
    /// Several candidates say what the hint says equally well (`max` on a
    /// line per thread): no chooser can know which is meant, so none is
    /// taken and the result names them.
    Ambiguous(Vec<usize>),
    /// No candidate says everything the hint says; these are the closest,
    /// for a chooser (the model) to pick from or to decline.
    Open(Vec<usize>),
    /// No candidate shares a word or unit with the hint.
    NoCandidate,
}

/// Most contenders handed to the chooser.
pub const MAX_CONTENDERS: usize = 8;

/// How well one candidate fits a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Fit {
    /// All specific (non-generic) hint words found.
    complete: bool,
    /// Hint words found.
    matched: usize,
    /// Specific (non-generic) hint words found.
    specific: usize,
    /// The unit agrees (both given and equal).
    unit: bool,
    /// Label words the hint does not mention (fewer is better), negated.
    extra: i64,
}

/// Resolves `hint` (see [`Hint::parse`]) against `candidates`.
pub fn resolve(hint: &str, candidates: &[Candidate]) -> Resolution {
    let hint = Hint::parse(hint);
    let fits: Vec<(usize, Fit)> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.value.is_finite() && (!c.is_id || hint.asks_for_id()))
        .filter_map(|(i, c)| fit(&hint, c).map(|f| (i, f)))
        .collect();
    let Some(best) = fits.iter().map(|(_, f)| *f).max() else {
        return Resolution::NoCandidate;
    };
    if best.matched == 0 && !best.unit {
        return Resolution::NoCandidate;
    }
    if best.complete {
        let key = |f: &Fit| (f.matched, f.unit);
        let top: Vec<(usize, Fit)> = fits
            .iter()
            .filter(|(_, f)| f.complete && key(f) == key(&best))
            .copied()
            .collect();
        let fewest = top.iter().map(|(_, f)| f.extra).max().unwrap_or(0);
        let closest: Vec<usize> = top
            .iter()
            .filter(|(_, f)| f.extra == fewest)
            .map(|(i, _)| *i)
            .collect();
        if let [only] = closest.as_slice() {
            return Resolution::Found(*only);
        }
        // Several labels for one number (7-Zip's `18:` and `Avr:` rows of a
        // one-size run): any of them is the answer.
        if closest
            .iter()
            .all(|&i| candidates[i].written == candidates[closest[0]].written)
        {
            return Resolution::Found(closest[0]);
        }
        return Resolution::Ambiguous(closest.into_iter().take(MAX_CONTENDERS).collect());
    }
    // Only near misses go to the chooser: all but one of the hint's
    // specific words found, and at least one of them.
    let specific = hint
        .words
        .iter()
        .filter(|w| !vocab::GENERIC.contains(&w.as_str()))
        .count();
    // A hint word the text uses elsewhere marks the candidates without it
    // as other numbers, not near misses (`read_iops` where only writes have IOPS).
    let used: Vec<&str> = hint
        .words
        .iter()
        .map(String::as_str)
        .filter(|w| candidates.iter().any(|c| c.tokens.iter().any(|t| t == w)))
        .collect();
    let mut close: Vec<(usize, Fit)> = fits
        .into_iter()
        .filter(|(_, f)| f.specific > 0 && f.specific + 1 >= specific)
        .filter(|(i, _)| {
            used.iter()
                .all(|w| candidates[*i].tokens.iter().any(|t| t == w))
        })
        .collect();
    close.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Resolution::Open(
        close
            .into_iter()
            .take(MAX_CONTENDERS)
            .map(|(i, _)| i)
            .collect(),
    )
}

/// The fit of `c` for `hint`, or `None` when their units disagree.
fn fit(hint: &Hint, c: &Candidate) -> Option<Fit> {
    let unit = match (&hint.unit, &c.unit) {
        (Some(h), Some(u)) if h == u => true,
        (Some(_), Some(u)) if !multiplier(u) => return None,
        _ => false,
    };
    let mut have: Vec<&str> = c.tokens.iter().map(String::as_str).collect();
    let unit_words: Vec<String> = c
        .unit
        .as_deref()
        .map(vocab::unit_tokens)
        .unwrap_or_default();
    have.extend(unit_words.iter().map(String::as_str));
    if contradicts(hint, &have, c.unit.as_deref()) {
        return None;
    }
    let matched = hint
        .words
        .iter()
        .filter(|w| have.contains(&w.as_str()))
        .count();
    let complete = hint
        .words
        .iter()
        .all(|w| have.contains(&w.as_str()) || vocab::GENERIC.contains(&w.as_str()));
    let extra = c.tokens.iter().filter(|t| !hint.words.contains(t)).count();
    let specific = hint
        .words
        .iter()
        .filter(|w| !vocab::GENERIC.contains(&w.as_str()) && have.contains(&w.as_str()))
        .count();
    Some(Fit {
        specific,
        complete: complete && (matched > 0 || unit),
        matched,
        unit,
        extra: -i64::try_from(extra).unwrap_or(i64::MAX),
    })
}

/// A one-letter unit (`k`, `M`) is a multiplier glued to the number
/// (`64.6k`), which no hint unit contradicts; any other differing unit does
/// (`ms` vs `us`).
fn multiplier(u: &str) -> bool {
    // `k`, `M`: a multiplier glued to the number (`64.6k`), not a unit.
    u.len() == 1 && u != "b"
}

/// Whether the candidate says something the hint contradicts: another
/// percentile (`p95` for `p99`), another statistic (`min` for `max`),
/// another index (`thread 1` for `thread2`), or a count for a rate.
fn contradicts(hint: &Hint, have: &[&str], unit: Option<&str>) -> bool {
    let differs = |class: fn(&str) -> bool| {
        let want: Vec<&str> = hint
            .words
            .iter()
            .map(String::as_str)
            .filter(|w| class(w))
            .collect();
        let got: Vec<&str> = have.iter().copied().filter(|w| class(w)).collect();
        !want.is_empty() && !got.is_empty() && !want.iter().any(|w| got.contains(w))
    };
    // Percentiles and statistics select one number of a distribution.
    let stat = |w: &str| {
        (w.starts_with('p') && w[1..].parse::<f64>().is_ok())
            || matches!(
                w,
                "min" | "max" | "avg" | "stddev" | "sum" | "median" | "cur"
            )
    };
    let direction = |w: &str| {
        matches!(
            w,
            "read" | "write" | "sender" | "receiver" | "compress" | "decompress" | "tx" | "rx"
        )
    };
    let index = |w: &str| w.bytes().all(|b| b.is_ascii_digit());
    let wants_rate = hint.words.iter().any(|w| w == "per_s");
    let is_rate = have.contains(&"per_s") || unit.is_some_and(|u| u.ends_with("/s"));
    differs(stat) || differs(direction) || differs(index) || (wants_rate && !is_rate)
}
