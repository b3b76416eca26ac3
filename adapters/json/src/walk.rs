//! Collecting a document's numeric leaves while it is parsed, without building a value tree.
//!
//! The walk is a serde visitor over `serde_json`'s deserializer: keys are appended to one
//! path buffer and numbers become metrics as they are read, so a document costs one parse
//! and one allocation per metric. A repeated key in an object gives one metric per occurrence.

use std::fmt;

use ktstr_adapters::{Metric, Stream};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::{MAX_DEPTH, NAME};

/// What a walk found.
#[derive(Debug, Default)]
pub(crate) struct Leaves {
    /// The finite numeric leaves, in document order.
    pub metrics: Vec<Metric>,
    /// Numbers skipped because they were not finite.
    pub skipped_non_finite: usize,
    /// Path of the first container that was not read because of [`MAX_DEPTH`].
    pub capped_at: Option<String>,
}

/// Parses `text` as one JSON document and collects its numeric leaves. `None` when it is not
/// JSON, or not a document: the root must be an object or an array and, when `embedded`, an
/// array must hold at least one object or array.
pub(crate) fn walk_document(text: &str, stream: Stream, embedded: bool) -> Option<Leaves> {
    let mut state = State {
        stream,
        path: String::new(),
        leaves: Leaves::default(),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let kind = Node {
        state: &mut state,
        depth: 0,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    match kind {
        Kind::Object => Some(state.leaves),
        Kind::Array { has_container } if has_container || !embedded => Some(state.leaves),
        _ => None,
    }
}

struct State {
    stream: Stream,
    path: String,
    leaves: Leaves,
}

impl State {
    fn number(&mut self, value: f64) {
        if value.is_finite() {
            self.leaves
                .metrics
                .push(Metric::new(self.path.as_str(), value, self.stream, NAME));
        } else {
            self.leaves.skipped_non_finite += 1;
        }
    }

    /// Whether a container here is too deep to read (and records the first such path).
    fn capped(&mut self, depth: usize) -> bool {
        if depth < MAX_DEPTH {
            return false;
        }
        if self.leaves.capped_at.is_none() {
            self.leaves.capped_at = Some(self.path.clone());
        }
        true
    }

    /// Appends `.key` (or `key` at the root) to the path; returns the length to truncate
    /// back to.
    fn enter_key(&mut self, key: &str) -> usize {
        let len = self.dot();
        self.path.push_str(key);
        len
    }

    /// Appends `.index` (or `index` at the root) to the path, as [`State::enter_key`].
    fn enter_index(&mut self, index: usize) -> usize {
        let len = self.dot();
        fmt::Write::write_fmt(&mut self.path, format_args!("{index}"))
            .expect("writing to a String");
        len
    }

    fn dot(&mut self) -> usize {
        let len = self.path.len();
        if len > 0 {
            self.path.push('.');
        }
        len
    }
}

/// The kind of value a node turned out to be.
enum Kind {
    Scalar,
    Object,
    Array { has_container: bool },
}

/// One value of the document, `depth` containers below the root.
struct Node<'a> {
    state: &'a mut State,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Kind;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Kind, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        self.state.number(v as f64);
        Ok(Kind::Scalar)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        self.state.number(v as f64);
        Ok(Kind::Scalar)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        self.state.number(v);
        Ok(Kind::Scalar)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Kind, E> {
        Ok(Kind::Scalar)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Kind, E> {
        Ok(Kind::Scalar)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Scalar)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let capped = self.state.capped(self.depth);
        while let Some(len) = map.next_key_seed(Key(&mut *self.state))? {
            if capped {
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(Node {
                    state: &mut *self.state,
                    depth: self.depth + 1,
                })?;
            }
            self.state.path.truncate(len);
        }
        Ok(Kind::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        if self.state.capped(self.depth) {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Kind::Array {
                has_container: true,
            });
        }
        let mut has_container = false;
        for index in 0usize.. {
            let len = self.state.enter_index(index);
            let item = seq.next_element_seed(Node {
                state: &mut *self.state,
                depth: self.depth + 1,
            })?;
            self.state.path.truncate(len);
            match item {
                Some(Kind::Scalar) => {}
                Some(_) => has_container = true,
                None => break,
            }
        }
        Ok(Kind::Array { has_container })
    }
}

/// An object key: appended to the path; the seed returns the length to truncate back to.
struct Key<'a>(&'a mut State);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        Ok(self.0.enter_key(key))
    }
}
