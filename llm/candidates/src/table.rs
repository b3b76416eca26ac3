//! Aligned tables: one to three header lines over rows of bare numbers
//! (stress-ng's `--metrics`, openssl speed, 7-Zip, iperf3). A number's column
//! is the header words over it (or, for right-aligned headers, the nearest
//! words that end at or left of its end); its row is the row's label words.

use crate::lex::{tokens, Token, TokenKind};
use crate::{read::paren_unit, vocab};

/// One number of a table row.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub(crate) label: Vec<String>,
    pub(crate) written: String,
    pub(crate) unit: Option<String>,
    pub(crate) is_id: bool,
}

/// A table found in the text, by line index.
#[derive(Debug)]
pub(crate) struct Table {
    headers: Vec<usize>,
    rows: Vec<(usize, Vec<Cell>)>,
}

impl Table {
    pub(crate) fn row(&self, line: usize) -> Option<Vec<Cell>> {
        self.rows
            .iter()
            .find(|(n, _)| *n == line)
            .map(|(_, c)| c.clone())
    }

    pub(crate) fn is_header(&self, line: usize) -> bool {
        self.headers.contains(&line)
    }
}

/// A number with the unit written right after it, as a column span.
struct Span {
    start: usize,
    end: usize,
    written: String,
    unit: Option<String>,
    range: bool,
}

/// The tables in `lines`.
pub(crate) fn find(lines: &[String]) -> Vec<Table> {
    let mut tables: Vec<Table> = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        let Some(first) = data_spans(&lines[n]) else {
            n += 1;
            continue;
        };
        let headers = header_lines(lines, n);
        if headers.is_empty() || !aligned(lines, &headers, &first) {
            n += 1;
            continue;
        }
        let mut table = Table {
            headers: headers.clone(),
            rows: Vec::new(),
        };
        let mut m = n;
        while m < lines.len() {
            if separator(&lines[m]) {
                m += 1;
                continue;
            }
            let Some(spans) = data_spans(&lines[m]) else {
                break;
            };
            table
                .rows
                .push((m, cells(lines, &headers, &lines[m], spans)));
            m += 1;
        }
        tables.push(table);
        n = m;
    }
    tables
}

/// The bare numbers of a row (at least two), or `None` for a line that is
/// not a table row: one with `key: value` pairs past its first word, commas,
/// or fewer than two numbers.
fn data_spans(line: &str) -> Option<Vec<Span>> {
    let toks = tokens(line);
    if toks
        .iter()
        .any(|t| t.punct(',') || t.punct('=') || t.punct(';'))
    {
        return None;
    }
    let mut spans = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if t.punct(':') && i > 1 && toks.get(i + 1).is_some_and(|n| n.is(TokenKind::Number)) {
            return None;
        }
        if !t.is(TokenKind::Number) {
            i += 1;
            continue;
        }
        let mut span = Span {
            start: t.start,
            end: t.end,
            written: t.text.clone(),
            unit: None,
            range: false,
        };
        // `0.00-1.01` is one interval cell.
        if toks
            .get(i + 1)
            .is_some_and(|d| d.punct('-') && d.start == t.end)
            && toks
                .get(i + 2)
                .is_some_and(|b| b.is(TokenKind::Number) && b.start == t.end + 1)
        {
            span.end = toks[i + 2].end;
            span.range = true;
            i += 2;
        }
        if let Some(u) = toks.get(i + 1).filter(|u| u.is(TokenKind::Word)) {
            let glued = u.start == span.end;
            let unit = vocab::unit(&u.text).or_else(|| {
                (glued && matches!(u.text.as_str(), "k" | "K" | "M" | "m")).then(|| u.text.clone())
            });
            if let Some(unit) = unit.filter(|_| glued || u.start <= span.end + 2) {
                span.unit = Some(unit);
                span.end = u.end;
                i += 1;
            }
        }
        spans.push(span);
        i += 1;
    }
    (spans.len() >= 2).then_some(spans)
}

fn separator(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t.chars().all(|c| matches!(c, '-' | '|' | '+' | '=' | ' '))
}

/// Up to three header lines right above `row` (one blank line may sit
/// between): lines of words, not sentences, not `key: value` lines.
fn header_lines(lines: &[String], row: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut n = row;
    let mut skipped_blank = false;
    while n > 0 && out.len() < 3 {
        n -= 1;
        let line = lines[n].trim();
        if line.is_empty() {
            if out.is_empty() && !skipped_blank {
                skipped_blank = true;
                continue;
            }
            break;
        }
        let toks = tokens(line);
        let words = toks.iter().filter(|t| t.is(TokenKind::Word)).count();
        let keyed = toks
            .windows(2)
            .any(|w| w[0].punct(':') && w[1].is(TokenKind::Number))
            || toks.iter().any(|t| t.punct('=') || t.punct(','));
        let numbers = toks.iter().filter(|t| t.is(TokenKind::Number)).count();
        // Numbers in a header (`16 bytes`) only on the line right above the rows.
        let numbered = numbers > 0 && (!out.is_empty() || skipped_blank || numbers > words);
        if separator(line) || words < 1 || keyed || numbered || line.ends_with('.') {
            break;
        }
        out.push(n);
    }
    out.reverse();
    out
}

/// Whether the header words sit over at least two of the row's numbers.
fn aligned(lines: &[String], headers: &[usize], spans: &[Span]) -> bool {
    let over = spans
        .iter()
        .filter(|s| {
            headers.iter().any(|&h| {
                tokens(&lines[h])
                    .iter()
                    .any(|w| !w.is(TokenKind::Punct) && w.start < s.end && s.start < w.end)
            })
        })
        .count();
    over >= 2
}

/// The cells of one row: each number with its column and row labels.
fn cells(lines: &[String], headers: &[usize], row: &str, spans: Vec<Span>) -> Vec<Cell> {
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); spans.len()];
    for &h in headers {
        let words: Vec<Token> = tokens(&lines[h])
            .into_iter()
            .filter(|t| !t.is(TokenKind::Punct) || t.text == "%")
            .collect();
        let mut per_cell: Vec<Vec<&str>> = vec![Vec::new(); spans.len()];
        for w in &words {
            for c in columns_of(w, &spans, row, &lines[h]) {
                per_cell[c].push(&w.text);
            }
        }
        for (c, ws) in per_cell.into_iter().enumerate() {
            if !ws.is_empty() {
                columns[c].push(ws.join(" "));
            }
        }
    }
    let headed: Vec<bool> = columns.iter().map(|c| !c.is_empty()).collect();
    let first_headed = headed.iter().position(|&h| h).unwrap_or(0);
    let label_end = spans.get(first_headed).map_or(row.len(), |s| s.start);
    let lead = row[..label_end].trim().trim_end_matches(':');
    let lead = if lead.chars().any(char::is_alphanumeric) {
        lead
    } else {
        ""
    };
    let mut row_label: Vec<String> = vec![lead.to_owned()];
    // Words after the last number (iperf3's `sender`).
    let tail_start = spans.last().map_or(row.len(), |s| s.end);
    let tail: String = tokens(&row[tail_start..])
        .iter()
        .filter(|t| t.is(TokenKind::Word))
        .map(|t| t.text.clone())
        .collect::<Vec<_>>()
        .join(" ");
    if !tail.is_empty() {
        row_label.push(tail);
    }
    row_label.retain(|l| !l.is_empty());
    spans
        .into_iter()
        .zip(columns)
        .enumerate()
        .filter(|(i, _)| *i >= first_headed)
        .map(|(_, (span, column))| {
            let col = column.join(" ");
            let unit = span.unit.clone().or_else(|| column_unit(&col));
            let is_id = span.range || vocab::tokens(&col).iter().any(|w| vocab::is_id_word(w));
            let mut label = row_label.clone();
            label.push(col);
            Cell {
                label,
                written: span.written.split('-').next().unwrap_or("").to_owned(),
                unit,
                is_id,
            }
        })
        .collect()
}

/// The unit a column label names: in parentheses, or a unit word.
fn column_unit(col: &str) -> Option<String> {
    paren_unit(col).or_else(|| {
        col.split_whitespace()
            .rev()
            .find_map(vocab::unit)
            .filter(|u| u != "b")
    })
}

/// The cells a header word labels: those it overlaps; else, in a `|`
/// segment where it is the only word, all of that segment's; else the
/// nearest cell ending at or right of it (right-aligned headers).
fn columns_of(w: &Token, spans: &[Span], row: &str, header: &str) -> Vec<usize> {
    if let Some(seg) = lone_in_segment(w, header, row) {
        return (0..spans.len())
            .filter(|&c| spans[c].start >= seg.0 && spans[c].end <= seg.1)
            .collect();
    }
    let overlapping: Vec<usize> = (0..spans.len())
        .filter(|&c| w.start < spans[c].end && spans[c].start < w.end)
        .collect();
    if !overlapping.is_empty() {
        return overlapping;
    }
    let right = (0..spans.len())
        .filter(|&c| spans[c].end >= w.end && spans[c].start >= w.start.saturating_sub(2))
        .min_by_key(|&c| spans[c].end - w.end);
    right
        .filter(|&c| spans[c].end - w.end <= 12)
        .into_iter()
        .collect()
}

/// The `|`-separated segment of `row` holding `w`, when `w` is the only word
/// of its segment in `header` and the row has the same separators.
fn lone_in_segment(w: &Token, header: &str, row: &str) -> Option<(usize, usize)> {
    let bars = |s: &str| s.match_indices('|').map(|(i, _)| i).collect::<Vec<_>>();
    let (hb, rb) = (bars(header), bars(row));
    if hb.is_empty() || hb.len() != rb.len() {
        return None;
    }
    let seg_of = |pos: usize, b: &[usize]| b.iter().filter(|&&x| x < pos).count();
    let seg = seg_of(w.start, &hb);
    let words_in_seg = tokens(header)
        .iter()
        .filter(|t| t.is(TokenKind::Word) && seg_of(t.start, &hb) == seg)
        .count();
    if words_in_seg != 1 {
        return None;
    }
    let start = if seg == 0 { 0 } else { rb[seg - 1] };
    let end = rb.get(seg).copied().unwrap_or(row.len());
    Some((start, end))
}
