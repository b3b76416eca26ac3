//! Bounded capture of the guest console.
//!
//! A runaway guest can print without end; we keep the first and the last
//! `keep` bytes (the boot log and the death throes) and count what fell between.

use std::collections::VecDeque;

use serde::Serialize;

/// A captured console: head, tail, and how many bytes were dropped in between.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Console {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    keep: usize,
    dropped: u64,
}

impl Console {
    /// An empty capture that keeps `keep` bytes at each end.
    pub fn new(keep: usize) -> Self {
        Console {
            head: Vec::new(),
            tail: VecDeque::new(),
            keep: keep.max(1),
            dropped: 0,
        }
    }

    /// Appends bytes read from the console.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < self.keep {
            let n = (self.keep - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        self.tail.extend(bytes);
        while self.tail.len() > self.keep {
            let excess = self.tail.len() - self.keep;
            self.tail.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// Bytes that were not kept.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The kept text, with a marker where bytes were dropped. Invalid UTF-8 is replaced.
    pub fn text(&self) -> String {
        let mut out = String::from_utf8_lossy(&self.head).into_owned();
        if self.dropped > 0 {
            out.push_str(&format!(
                "\n[... {} console bytes dropped ...]\n",
                self.dropped
            ));
        }
        let (a, b) = self.tail.as_slices();
        out.push_str(&String::from_utf8_lossy(&[a, b].concat()));
        out
    }

    /// The last `n` non-empty lines.
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let text = self.text();
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty())
            .collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_head_and_tail_and_counts_the_rest() {
        let mut c = Console::new(4);
        c.push(b"abcdefgh");
        c.push(b"ijkl");
        assert_eq!(c.dropped(), 4);
        assert_eq!(c.text(), "abcd\n[... 4 console bytes dropped ...]\nijkl");
    }

    #[test]
    fn small_output_is_whole() {
        let mut c = Console::new(1024);
        c.push(b"line one\r\n\r\nline two\n");
        assert_eq!(c.dropped(), 0);
        assert_eq!(c.last_lines(1), vec!["line two"]);
        assert_eq!(c.last_lines(5), vec!["line one", "line two"]);
    }
}
