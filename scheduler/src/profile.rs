//! Flag profiles: the combinations of a declaration's flags that its
//! `requires` / `excludes` rules allow, ordered so that the first ones tell
//! the most.
//!
//! The order: the default (no flags); each flag on its own (with what it
//! requires), so every flag's effect is seen alone; all flags that fit
//! together at once (greedy, in declaration order), which exercises the
//! interactions; then pairs of flags not yet seen together.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{FlagDecl, SchedulerDecl};

/// One way to run a declared scheduler: a set of its flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagProfile {
    /// The flags that are on, in declaration order.
    pub flags: Vec<String>,
    /// The whole argument list: the declaration's default arguments, then
    /// each flag's arguments in declaration order.
    pub args: Vec<String>,
}

impl FlagProfile {
    /// `default` for no flags, else the flags joined with `+`.
    pub fn name(&self) -> String {
        if self.flags.is_empty() {
            "default".to_owned()
        } else {
            self.flags.join("+")
        }
    }
}

/// The flags by index, with their requires/excludes resolved to indices.
pub(crate) struct FlagIndex {
    requires: Vec<Vec<usize>>,
    excludes: Vec<Vec<usize>>,
}

impl FlagIndex {
    /// Resolves names; unknown names are ignored (validation reports them).
    pub(crate) fn new(flags: &[FlagDecl]) -> FlagIndex {
        let pos = |name: &String| flags.iter().position(|f| &f.name == name);
        FlagIndex {
            requires: flags
                .iter()
                .map(|f| f.requires.iter().filter_map(pos).collect())
                .collect(),
            excludes: flags
                .iter()
                .map(|f| f.excludes.iter().filter_map(pos).collect())
                .collect(),
        }
    }

    /// Flag `i` and everything it requires, transitively.
    pub(crate) fn closure(&self, i: usize) -> BTreeSet<usize> {
        let mut set = BTreeSet::new();
        let mut todo = vec![i];
        while let Some(f) = todo.pop() {
            if set.insert(f) {
                todo.extend(&self.requires[f]);
            }
        }
        set
    }

    /// A pair of flags in `set` that exclude each other, if any.
    pub(crate) fn conflict(&self, set: &BTreeSet<usize>) -> Option<(usize, usize)> {
        set.iter().find_map(|&a| {
            self.excludes[a]
                .iter()
                .find(|b| set.contains(b))
                .map(|&b| (a.min(b), a.max(b)))
        })
    }
}

/// The valid profiles of `decl`, at most `max` (at least the default).
pub(crate) fn profiles(decl: &SchedulerDecl, max: usize) -> Vec<FlagProfile> {
    let flags = decl.flags();
    let index = FlagIndex::new(flags);
    let mut sets: Vec<BTreeSet<usize>> = vec![BTreeSet::new()];
    let push = |set: BTreeSet<usize>, sets: &mut Vec<BTreeSet<usize>>| {
        if index.conflict(&set).is_none() && !sets.contains(&set) {
            sets.push(set);
        }
    };
    for i in 0..flags.len() {
        push(index.closure(i), &mut sets);
    }
    let mut all = BTreeSet::new();
    for i in 0..flags.len() {
        let mut with: BTreeSet<usize> = all.union(&index.closure(i)).copied().collect();
        if index.conflict(&with).is_none() {
            std::mem::swap(&mut all, &mut with);
        }
    }
    push(all, &mut sets);
    for i in 0..flags.len() {
        for j in i + 1..flags.len() {
            let together = sets.iter().any(|s| s.contains(&i) && s.contains(&j));
            if !together {
                push(
                    index.closure(i).union(&index.closure(j)).copied().collect(),
                    &mut sets,
                );
            }
        }
    }
    sets.truncate(max.max(1));
    sets.into_iter()
        .map(|set| FlagProfile {
            flags: set.iter().map(|&i| flags[i].name.clone()).collect(),
            args: decl
                .args()
                .iter()
                .cloned()
                .chain(set.iter().flat_map(|&i| flags[i].args.iter().cloned()))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{FlagDecl, SchedulerDecl};

    fn names(decl: &SchedulerDecl, max: usize) -> Vec<String> {
        decl.profiles(max).iter().map(|p| p.name()).collect()
    }

    #[test]
    fn no_flags_is_one_default_profile() {
        let d = SchedulerDecl::builder("s").arg("-v").build().unwrap();
        let p = d.profiles(10);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name(), "default");
        assert_eq!(p[0].args, ["-v"]);
    }

    #[test]
    fn singles_then_all_then_unseen_pairs() {
        let d = SchedulerDecl::builder("s")
            .flag(FlagDecl::new("a", ["-a"]))
            .flag(FlagDecl::new("b", ["-b"]).excludes("c"))
            .flag(FlagDecl::new("c", ["-c"]))
            .build()
            .unwrap();
        // a+b is the greedy "all that fit"; a+c is the pair not yet seen;
        // b+c exclude each other and never appear.
        assert_eq!(names(&d, 10), ["default", "a", "b", "c", "a+b", "a+c"]);
        assert_eq!(names(&d, 3), ["default", "a", "b"]);
        assert_eq!(names(&d, 0), ["default"]);
    }

    #[test]
    fn requires_pull_flags_in_and_args_follow_declaration_order() {
        let d = SchedulerDecl::builder("s")
            .arg("--base")
            .flag(FlagDecl::new("slice", ["--slice-us", "100"]))
            .flag(FlagDecl::new("tiny", ["--tiny"]).requires("slice"))
            .build()
            .unwrap();
        let p = d.profiles(10);
        let tiny = p
            .iter()
            .find(|p| p.flags.contains(&"tiny".to_owned()))
            .unwrap();
        assert_eq!(tiny.flags, ["slice", "tiny"]);
        assert_eq!(tiny.args, ["--base", "--slice-us", "100", "--tiny"]);
        // Every profile is closed under `requires`.
        for prof in &p {
            if prof.flags.contains(&"tiny".to_owned()) {
                assert!(prof.flags.contains(&"slice".to_owned()), "{prof:?}");
            }
        }
    }

    #[test]
    fn no_profile_breaks_a_rule_on_a_larger_declaration() {
        let mut b = SchedulerDecl::builder("s");
        for i in 0..8 {
            let mut f = FlagDecl::new(&format!("f{i}"), [format!("--f{i}")]);
            if i % 3 == 1 {
                f = f.excludes(&format!("f{}", i - 1));
            }
            if i % 4 == 3 {
                f = f.requires(&format!("f{}", i - 2));
            }
            b = b.flag(f);
        }
        let d = b.build().unwrap();
        let p = d.profiles(64);
        assert!(p.len() > 8, "{}", p.len());
        let unique: std::collections::BTreeSet<_> = p.iter().map(|p| p.name()).collect();
        assert_eq!(unique.len(), p.len(), "profiles repeat");
        for prof in &p {
            for f in d.flags() {
                if !prof.flags.contains(&f.name) {
                    continue;
                }
                for r in &f.requires {
                    assert!(prof.flags.contains(r), "{} lacks {r}", prof.name());
                }
                for x in &f.excludes {
                    assert!(!prof.flags.contains(x), "{} has {x}", prof.name());
                }
            }
        }
    }
}
