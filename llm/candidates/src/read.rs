//! The deterministic reader: text in, candidate measurements out.
//!
//! Lines are read in order with a stack of section headings (a line ending
//! in `:`, or a line's leading `key:`, labels the more indented lines below
//! it). Aligned tables are read by [`crate::table`]; every other line is read
//! as runs of `key: value`, `key=value`, `label value unit` and sentences,
//! where the words next to a number label it and a unit right after it (or
//! in the key's parentheses, or the heading's) is its unit.

use crate::lex::{tokens, Token, TokenKind};
use crate::{table, vocab, Candidate};

/// A heading that labels the lines indented below it.
#[derive(Debug, Clone)]
pub(crate) struct Heading {
    indent: usize,
    label: String,
    unit: Option<String>,
}

/// Reads `text` into candidates, in text order, with ids from 0.
pub fn read(text: &str) -> Vec<Candidate> {
    let lines: Vec<String> = text.lines().map(clean).collect();
    let tables = table::find(&lines);
    let mut out = Vec::new();
    let mut headings: Vec<Heading> = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        headings.retain(|h| h.indent < indent);
        let context: Vec<String> = headings.iter().map(|h| h.label.clone()).collect();
        let heading_unit = headings.iter().rev().find_map(|h| h.unit.clone());
        if let Some(rows) = tables.iter().find_map(|t| t.row(n)) {
            for cell in rows {
                let mut label = context.clone();
                label.extend(cell.label);
                out.push(Candidate::new(
                    label,
                    &cell.written,
                    cell.unit.or_else(|| heading_unit.clone()),
                    n + 1,
                    cell.is_id,
                ));
            }
            continue;
        }
        if tables.iter().any(|t| t.is_header(n)) {
            continue;
        }
        let toks = tokens(line);
        if let Some(label) = pure_heading(&toks, line) {
            let unit = paren_unit(&label);
            headings.push(Heading {
                indent,
                label,
                unit,
            });
            continue;
        }
        let mut found = read_line(&toks, line, &context, heading_unit.as_deref(), n + 1);
        // A number alone on its line (perf bench's `8.549464 GB/sec`) is
        // labelled by the text lines right above it.
        if found.len() == 1 && found[0].label.is_empty() {
            let above: Vec<String> = lines[..n]
                .iter()
                .rev()
                .filter(|l| !l.trim().is_empty())
                .take(2)
                .map(|l| l.trim().to_owned())
                .collect();
            let c = &found[0];
            found[0] = Candidate::new(
                above.into_iter().rev().collect(),
                &c.written,
                c.unit.clone(),
                c.line,
                c.is_id,
            );
        }
        if let Some(lead) = leading_key(&toks, line) {
            headings.push(Heading {
                indent,
                unit: paren_unit(&lead),
                label: lead,
            });
        }
        out.extend(found);
    }
    for (i, c) in out.iter_mut().enumerate() {
        c.id = i;
    }
    out
}

/// Drops decoration that is not content: a log prefix like stress-ng's
/// `stress-ng: metrc: [9148] `, a leading `|` (fio's percentile lists) or
/// `# ` (perf's comments), tabs as spaces.
fn clean(line: &str) -> String {
    let line = line.replace('\t', "    ");
    let rest = strip_log_prefix(&line);
    let trimmed = rest.trim_start();
    let indent = rest.len() - trimmed.len();
    let body = trimmed
        .strip_prefix("| ")
        .or_else(|| trimmed.strip_prefix("# "))
        .map(|b| format!("{}  {b}", " ".repeat(indent)));
    body.unwrap_or_else(|| rest.to_owned())
}

/// `name: level: [pid] ` at the start of a line (stress-ng), which repeats
/// on every line and would otherwise label every number.
fn strip_log_prefix(line: &str) -> &str {
    let mut rest = line;
    for _ in 0..2 {
        let Some((word, after)) = rest.split_once(": ") else {
            return line;
        };
        if word.is_empty() || word.contains(char::is_whitespace) {
            return line;
        }
        rest = after.trim_start();
    }
    let Some(after) = rest.strip_prefix('[') else {
        return line;
    };
    match after.split_once(']') {
        Some((pid, tail)) if pid.bytes().all(|b| b.is_ascii_digit()) => {
            tail.strip_prefix(' ').unwrap_or(tail)
        }
        _ => line,
    }
}

/// A line that is only a label ending in `:` (`Latency (ms):`), as its label.
fn pure_heading(toks: &[Token], line: &str) -> Option<String> {
    let last = toks.last()?;
    if !last.punct(':') || !toks.iter().any(|t| t.is(TokenKind::Word)) {
        return None;
    }
    // Numbers only inside parentheses (`(ms)`, `(groupid=0)` is not a heading).
    let mut depth = 0i32;
    for t in toks {
        match t.text.as_str() {
            "(" => depth += 1,
            ")" => depth -= 1,
            "=" => return None,
            _ if t.is(TokenKind::Number) && depth == 0 => return None,
            _ => {}
        }
    }
    Some(line.trim().trim_end_matches(':').trim().to_owned())
}

/// The label before a line's first `:` when values follow (fio's
/// `read: IOPS=...`), which labels the more indented lines below.
fn leading_key(toks: &[Token], line: &str) -> Option<String> {
    let colon = toks.iter().position(|t| t.punct(':'))?;
    let key = &toks[..colon];
    if key.is_empty() || !key.iter().all(|t| t.is(TokenKind::Word)) {
        return None;
    }
    // Followed by another key (`read: IOPS=`), not directly by a value.
    let next = toks.get(colon + 1)?;
    let then = toks.get(colon + 2)?;
    (next.is(TokenKind::Word) && (then.punct('=') || then.punct(':')))
        .then(|| line[key[0].start..key[key.len() - 1].end].to_owned())
}

/// The unit in a label's parentheses: `clat (usec)` → `us`.
pub(crate) fn paren_unit(label: &str) -> Option<String> {
    let open = label.rfind('(')?;
    let close = label[open..].find(')')? + open;
    vocab::unit(label[open + 1..close].trim())
}

/// A value being read on one line, before the words after it are known.
struct Pending {
    label: Vec<String>,
    written: String,
    unit: Option<String>,
    is_id: bool,
    /// Labelled by a key or the words before it (so words after it only
    /// qualify it, and belong to the next value).
    keyed: bool,
    after: Vec<String>,
}

/// Reads one non-table line (see the module docs).
fn read_line(
    toks: &[Token],
    line: &str,
    context: &[String],
    heading_unit: Option<&str>,
    line_no: usize,
) -> Vec<Candidate> {
    let mut values: Vec<Pending> = Vec::new();
    let mut words: Vec<&Token> = Vec::new();
    let mut key: Option<(String, Option<String>)> = None;
    let mut line_context: Vec<String> = Vec::new();
    let mut line_unit: Option<String> = None;
    // A `,` since the last value: words after it belong to the next value.
    let mut boundary = false;
    // `2097152000 bytes (2.1 GB, 2.0 GiB) copied`: words after a parenthesis
    // that followed a value qualify that value and the ones inside.
    let mut paren_owner: Option<usize> = None;
    let mut qualify_from: Option<usize> = None;
    let mut value_since_key = false;
    let mut depth = 0usize;
    let mut last_words: Vec<String> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let prev = i.checked_sub(1).map(|p| &toks[p]);
        match t.kind {
            TokenKind::Word => {
                let after_value = prev.is_some_and(|p| p.is(TokenKind::Number));
                // `118.81 MB per sec`: the unit is a rate.
                if t.text.eq_ignore_ascii_case("per") && words.is_empty() {
                    let rate = values
                        .last()
                        .and_then(|v| v.unit.as_deref())
                        .zip(toks.get(i + 1))
                        .and_then(|(u, next)| vocab::rate_unit(u, &next.text));
                    if let (Some(rate), Some(v)) = (rate, values.last_mut()) {
                        v.unit = Some(rate);
                        i += 2;
                        continue;
                    }
                }
                let is_key = toks
                    .get(i + 1)
                    .is_some_and(|n| n.punct(':') || n.punct('='));
                if let (true, false, Some(unit), Some(v)) =
                    (after_value, is_key, vocab::unit(&t.text), values.last_mut())
                {
                    if v.unit.is_none() {
                        v.unit = Some(unit);
                        i += 1;
                        continue;
                    }
                }
                words.push(t);
            }
            TokenKind::Punct => match t.text.as_str() {
                ":" | "=" => {
                    if words.is_empty() {
                        // `18:` (a row label) or `11:23:16` (a clock): not a measurement.
                        if let Some(v) = values
                            .last_mut()
                            .filter(|_| prev.is_some_and(|p| p.is(TokenKind::Number)))
                        {
                            v.is_id = true;
                        }
                    } else {
                        if let Some((k, u)) = key.take().filter(|_| !value_since_key) {
                            line_context.push(k);
                            line_unit = u.or(line_unit.take());
                        }
                        // `Method: MEMCPY    Elapsed:` — words before a wide gap
                        // are the previous key's value, a qualifier of the line.
                        if let Some(gap) = wide_gap(&words) {
                            let qualifier = span(line, &words[..gap]);
                            match key.take() {
                                Some((k, _)) if !value_since_key => {
                                    line_context.push(format!("{k} {qualifier}"))
                                }
                                _ => line_context.push(qualifier),
                            }
                            words.drain(..gap);
                        }
                        let text = span(line, &words);
                        let unit = paren_unit(&text);
                        key = Some((text, unit));
                        value_since_key = false;
                        last_words = vec![span(line, &words)];
                        words.clear();
                    }
                }
                "," | ";" | "|" => {
                    if let Some(from) = qualify_from.take() {
                        qualify_all(&mut values[from..], &words, line);
                    }
                    flush_after(&mut values, &mut words, line, &mut last_words);
                    key = None;
                    boundary = true;
                }
                "(" | "[" => {
                    if !words.is_empty() && depth == 0 {
                        // Words then `(`: the parenthesis belongs to the words
                        // (`events (avg/stddev):`), read on.
                        let close = toks[i..].iter().position(|c| c.punct(')') || c.punct(']'));
                        if let Some(c) = close {
                            let inner = &toks[i + 1..i + c];
                            if !inner.is_empty()
                                && inner.iter().all(|x| x.is(TokenKind::Word) || x.punct('/'))
                            {
                                words.extend(&toks[i..=i + c]);
                                i += c + 1;
                                continue;
                            }
                        }
                    }
                    if depth == 0
                        && words.is_empty()
                        && prev.is_some_and(|p| {
                            p.is(TokenKind::Number) || vocab::unit(&p.text).is_some()
                        })
                    {
                        paren_owner = values.len().checked_sub(1);
                    }
                    // Words before a parenthesis qualify the value before them
                    // (`118.81 MB per sec pipe write rate (geometric mean ...)`).
                    if depth == 0 && !boundary {
                        qualify_last(&mut values, &words, line, true);
                    }
                    depth += 1;
                }
                ")" | "]" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && paren_owner.is_some() {
                        // Words inside qualify the value inside (`(6998881.34 per second)`).
                        qualify_last(&mut values, &words, line, true);
                        words.clear();
                        qualify_from = paren_owner.take();
                    }
                }
                _ => {}
            },
            TokenKind::Number => {
                let range = toks
                    .get(i + 1)
                    .is_some_and(|n| n.punct('-') && n.start == t.end)
                    && toks.get(i + 2).is_some_and(|n| n.is(TokenKind::Number));
                let was_range_end = i >= 2
                    && toks[i - 1].punct('-')
                    && toks[i - 1].start == toks[i - 2].end
                    && toks[i - 2].is(TokenKind::Number);
                let in_paren_after_value = depth > 0
                    && words.is_empty()
                    && !values.is_empty()
                    && !value_since_key_reset(key.is_some(), value_since_key);
                let mut p = Pending {
                    label: Vec::new(),
                    written: t.text.clone(),
                    unit: None,
                    is_id: range || was_range_end,
                    keyed: false,
                    after: Vec::new(),
                };
                if !words.is_empty() {
                    if !boundary {
                        qualify_last(&mut values, &words, line, false);
                    }
                    let before = span(line, &words);
                    last_words = vec![before.clone()];
                    p.label.extend(line_context.iter().cloned());
                    if let Some((k, _)) = &key {
                        if !value_since_key {
                            p.label.push(k.clone());
                        }
                    }
                    p.label.push(before);
                    p.keyed = true;
                    words.clear();
                } else if in_paren_after_value {
                    let prev = values.last().expect("checked non-empty");
                    p.label = prev.label.clone();
                    p.keyed = prev.keyed;
                    // `T: 0 ( 9168)`: an integer in parentheses after an
                    // integer without a unit is a pid beside an index.
                    if prev.unit.is_none() && !t.text.contains('.') && !prev.written.contains('.') {
                        p.is_id = true;
                    }
                } else if let Some((k, u)) = &key {
                    let slot = if value_since_key {
                        count_in_key(&values, k)
                    } else {
                        0
                    };
                    p.label.extend(line_context.iter().cloned());
                    p.label.push(slash_part(k, slot));
                    p.unit = u.clone();
                    p.keyed = true;
                    // `T: 0 ... Min: 61 Max: 3684`: a line's leading index
                    // (thread, CPU, job) labels the values after it.
                    if values.is_empty()
                        && index_key(k)
                        && t.text.bytes().all(|b| b.is_ascii_digit())
                        && keyed_values_after(toks, i) >= 2
                    {
                        p.is_id = true;
                        line_context.push(format!("{k} {}", t.text));
                    }
                } else {
                    p.label.extend(line_context.iter().cloned());
                }
                if let Some((k, _)) = &key {
                    if vocab::tokens(k)
                        .last()
                        .is_some_and(|w| vocab::is_id_word(w))
                    {
                        p.is_id = true;
                    }
                }
                if p.label.last().is_some_and(|l| {
                    vocab::tokens(l)
                        .last()
                        .is_some_and(|w| vocab::is_id_word(w))
                }) {
                    p.is_id = true;
                }
                if p.label.is_empty() && !last_words.is_empty() {
                    p.label = last_words.clone();
                }
                // A unit glued to the number (`2.0030s`, `361KiB/s`).
                if let Some(next) = toks
                    .get(i + 1)
                    .filter(|n| n.is(TokenKind::Word) && n.start == t.end)
                {
                    if let Some(u) = vocab::unit(&next.text) {
                        p.unit = Some(u);
                        i += 1;
                    } else if next.text.eq_ignore_ascii_case("k")
                        || next.text.eq_ignore_ascii_case("m")
                    {
                        p.unit = Some(next.text.clone());
                        i += 1;
                    }
                }
                value_since_key = true;
                boundary = false;
                values.push(p);
            }
        }
        i += 1;
    }
    if let Some(from) = qualify_from.take() {
        qualify_all(&mut values[from..], &words, line);
    }
    flush_after(&mut values, &mut words, line, &mut last_words);
    values
        .into_iter()
        .map(|v| {
            let mut label = context.to_vec();
            label.extend(v.label);
            if !v.after.is_empty() {
                label.push(v.after.join(" "));
            }
            let unit = v
                .unit
                .or_else(|| line_unit.clone())
                .or_else(|| heading_unit.map(str::to_owned));
            Candidate::new(label, &v.written, unit, line_no, v.is_id)
        })
        .collect()
}

/// Where the last gap of two or more spaces splits `words`, if one does.
fn wide_gap(words: &[&Token]) -> Option<usize> {
    (1..words.len())
        .rev()
        .find(|&i| words[i].start >= words[i - 1].end + 2)
}

/// Keys that name an index a line is about.
fn index_key(k: &str) -> bool {
    let lower = k.trim().to_lowercase();
    lower.len() <= 2
        || matches!(
            lower.as_str(),
            "thread" | "cpu" | "job" | "node" | "core" | "task" | "worker"
        )
}

/// How many `key: number` / `key=number` pairs follow token `i`.
fn keyed_values_after(toks: &[Token], i: usize) -> usize {
    toks[i..]
        .windows(2)
        .filter(|w| (w[0].punct(':') || w[0].punct('=')) && w[1].is(TokenKind::Number))
        .count()
}

fn value_since_key_reset(has_key: bool, value_since_key: bool) -> bool {
    has_key && !value_since_key
}

/// How many values already took part of key `k` (for `a/b: 1/2`).
fn count_in_key(values: &[Pending], k: &str) -> usize {
    values
        .iter()
        .rev()
        .take_while(|v| {
            v.label
                .iter()
                .any(|l| slash_parts(k).iter().any(|p| l.ends_with(p.as_str())))
        })
        .count()
}

/// The `slot`th name of a key that lists several (`events (avg/stddev)` →
/// `events avg`, `events stddev`; `min/avg/max/mdev`), else the key.
fn slash_part(key: &str, slot: usize) -> String {
    let parts = slash_parts(key);
    parts.get(slot).cloned().unwrap_or_else(|| key.to_owned())
}

fn slash_parts(key: &str) -> Vec<String> {
    let (head, list) = match (key.find('('), key.rfind(')')) {
        (Some(o), Some(c)) if c > o => (key[..o].trim(), &key[o + 1..c]),
        _ => ("", key),
    };
    if !list.contains('/') || list.contains(char::is_whitespace) {
        return vec![key.to_owned()];
    }
    list.split('/')
        .map(|p| {
            if head.is_empty() {
                p.to_owned()
            } else {
                format!("{head} {p}")
            }
        })
        .collect()
}

/// Words after the last value: they qualify it when it has no label of its
/// own before it (`4 requests completed`), else they are dropped.
fn flush_after(
    values: &mut [Pending],
    words: &mut Vec<&Token>,
    line: &str,
    last: &mut Vec<String>,
) {
    if !words.is_empty() {
        qualify_last(values, words, line, true);
        *last = vec![span(line, words)];
    }
    words.clear();
}

/// Words after a parenthesis qualify every value from its owner on.
fn qualify_all(values: &mut [Pending], words: &[&Token], line: &str) {
    if words.is_empty() {
        return;
    }
    for v in values.iter_mut().filter(|v| v.after.is_empty()) {
        v.after.push(span(line, words));
    }
}

/// Words after the last value qualify it; words that lead to another
/// value qualify a keyed one only when `keyed_too` (they end the segment).
fn qualify_last(values: &mut [Pending], words: &[&Token], line: &str, keyed_too: bool) {
    if words.is_empty() {
        return;
    }
    if let Some(v) = values.last_mut() {
        if v.after.is_empty() && (keyed_too || !v.keyed) {
            v.after.push(span(line, words));
        }
    }
}

/// The text of `line` from the first to the last of `words`.
fn span(line: &str, words: &[&Token]) -> String {
    match (words.first(), words.last()) {
        (Some(a), Some(b)) => line[a.start..b.end].to_owned(),
        _ => String::new(),
    }
}
