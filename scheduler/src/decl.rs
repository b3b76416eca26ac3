//! Scheduler declarations: a scheduler declared once (TOML file or Rust
//! builder, same meaning) with how to find or build it, its default
//! arguments, and its flags with the flags each requires or excludes.
//!
//! ```toml
//! name = "scx_lavd"
//! args = []
//!
//! [source]
//! crate = "scx_lavd"
//! version = "1.1.4"
//!
//! [[flags]]
//! name = "performance"
//! args = ["--performance"]
//! excludes = ["powersave"]
//!
//! [[flags]]
//! name = "powersave"
//! args = ["--powersave"]
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SchedulerError;

/// Where a declared scheduler comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SchedulerSource {
    /// No sched_ext scheduler: the kernel's EEVDF.
    Eevdf,
    /// One of the kernel tree's example schedulers, built with the kernel
    /// (`scx_simple`, `scx_qmap`, ...).
    KernelTree {
        /// The binary's name.
        name: String,
    },
    /// A crate on crates.io, built with `cargo install` into the cache.
    Crate {
        /// The crate (and binary) name.
        name: String,
        /// An exact version; `None` is the newest.
        version: Option<String>,
    },
    /// A local Cargo project: an scx checkout or one scheduler's crate.
    Path {
        /// The directory holding `Cargo.toml`.
        dir: PathBuf,
        /// The package to build, when the directory is a workspace.
        package: Option<String>,
    },
    /// A binary that is already built.
    Binary {
        /// The executable.
        path: PathBuf,
    },
}

/// One flag of a scheduler: the arguments it adds and how it combines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagDecl {
    /// A short name (`lowlatency`), unique in the declaration.
    pub name: String,
    /// The arguments the flag adds to the command line (`["-l"]`).
    pub args: Vec<String>,
    /// Flags that must be on whenever this one is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Flags that may not be on together with this one (symmetric).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<String>,
}

impl FlagDecl {
    /// A flag adding `args`, with no constraints.
    pub fn new<I, S>(name: &str, args: I) -> FlagDecl
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FlagDecl {
            name: name.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
            requires: Vec::new(),
            excludes: Vec::new(),
        }
    }

    /// This flag needs `other` to be on too.
    pub fn requires(mut self, other: &str) -> FlagDecl {
        self.requires.push(other.to_owned());
        self
    }

    /// This flag cannot be on together with `other`.
    pub fn excludes(mut self, other: &str) -> FlagDecl {
        self.excludes.push(other.to_owned());
        self
    }
}

/// A declared scheduler. Build one with [`SchedulerDecl::builder`] or read
/// one with [`SchedulerDecl::from_toml`]; both validate, so a
/// `SchedulerDecl` in hand is always consistent.
///
/// ```
/// use ktstr_scheduler::{FlagDecl, SchedulerDecl};
///
/// let decl = SchedulerDecl::builder("scx_lavd")
///     .from_crate(Some("1.1.4"))
///     .flag(FlagDecl::new("performance", ["--performance"]).excludes("powersave"))
///     .flag(FlagDecl::new("powersave", ["--powersave"]))
///     .build()
///     .unwrap();
/// let names: Vec<String> = decl.profiles(8).into_iter().map(|p| p.name()).collect();
/// assert_eq!(names, ["default", "performance", "powersave"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawDecl", into = "RawDecl")]
pub struct SchedulerDecl {
    name: String,
    source: SchedulerSource,
    args: Vec<String>,
    flags: Vec<FlagDecl>,
}

impl SchedulerDecl {
    /// Starts a declaration of `name`; the source defaults to a crates.io
    /// crate of that name (newest version).
    pub fn builder(name: &str) -> SchedulerDeclBuilder {
        SchedulerDeclBuilder {
            raw: RawDecl {
                name: name.to_owned(),
                source: None,
                args: Vec::new(),
                flags: Vec::new(),
            },
        }
    }

    /// Parses a declaration from TOML text (the format in the module docs).
    ///
    /// # Errors
    ///
    /// [`SchedulerError::MalformedDeclaration`] with the parser's message
    /// (which names the field) for bad syntax or an invalid declaration.
    pub fn from_toml(text: &str, path: &Path) -> Result<SchedulerDecl, SchedulerError> {
        toml::from_str(text).map_err(|e| SchedulerError::MalformedDeclaration {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads and parses a declaration file.
    ///
    /// # Errors
    ///
    /// An I/O error, or as [`SchedulerDecl::from_toml`].
    pub fn load(path: &Path) -> Result<SchedulerDecl, SchedulerError> {
        let text = std::fs::read_to_string(path)
            .map_err(SchedulerError::io("read scheduler declaration", path))?;
        SchedulerDecl::from_toml(&text, path)
    }

    /// The scheduler's name, as reports show it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where it comes from.
    pub fn source(&self) -> &SchedulerSource {
        &self.source
    }

    /// Arguments every run passes (before any flag's).
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The declared flags.
    pub fn flags(&self) -> &[FlagDecl] {
        &self.flags
    }

    /// The valid flag profiles, at most `max` of them, most informative
    /// first (see [`FlagProfile`](crate::FlagProfile)).
    pub fn profiles(&self, max: usize) -> Vec<crate::FlagProfile> {
        crate::profile::profiles(self, max)
    }
}

/// Builds a [`SchedulerDecl`]; [`SchedulerDeclBuilder::build`] validates.
#[derive(Debug, Clone)]
pub struct SchedulerDeclBuilder {
    raw: RawDecl,
}

impl SchedulerDeclBuilder {
    /// Build from crates.io (the crate named like the scheduler).
    pub fn from_crate(mut self, version: Option<&str>) -> Self {
        self.raw.source = Some(RawSource {
            krate: Some(self.raw.name.clone()),
            version: version.map(str::to_owned),
            ..RawSource::default()
        });
        self
    }

    /// Build from a local Cargo project (an scx checkout or a crate).
    pub fn from_path(mut self, dir: impl Into<PathBuf>, package: Option<&str>) -> Self {
        self.raw.source = Some(RawSource {
            path: Some(dir.into()),
            package: package.map(str::to_owned),
            ..RawSource::default()
        });
        self
    }

    /// Use an already built binary.
    pub fn from_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.raw.source = Some(RawSource {
            binary: Some(path.into()),
            ..RawSource::default()
        });
        self
    }

    /// One of the kernel tree's example schedulers.
    pub fn from_kernel_tree(mut self) -> Self {
        self.raw.source = Some(RawSource {
            kernel_tree: Some(self.raw.name.clone()),
            ..RawSource::default()
        });
        self
    }

    /// Adds a default argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.raw.args.push(arg.to_owned());
        self
    }

    /// Adds a flag.
    pub fn flag(mut self, flag: FlagDecl) -> Self {
        self.raw.flags.push(flag);
        self
    }

    /// Validates and returns the declaration.
    ///
    /// # Errors
    ///
    /// [`SchedulerError::BadDeclaration`] naming the field: an empty or
    /// duplicate name, a flag that requires or excludes an unknown flag or
    /// itself, or a flag that can never be enabled.
    pub fn build(self) -> Result<SchedulerDecl, SchedulerError> {
        SchedulerDecl::try_from(self.raw)
    }
}

/// The TOML shape; [`SchedulerDecl`] converts from it with validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecl {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<RawSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    flags: Vec<FlagDecl>,
}

/// `[source]`: exactly one of `crate`, `path`, `binary`, `kernel_tree`,
/// `eevdf = true`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    #[serde(rename = "crate", default, skip_serializing_if = "Option::is_none")]
    krate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    binary: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kernel_tree: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    eevdf: bool,
}

impl RawSource {
    fn into_source(self, name: &str) -> Result<SchedulerSource, SchedulerError> {
        let kinds = [
            self.krate.is_some(),
            self.path.is_some(),
            self.binary.is_some(),
            self.kernel_tree.is_some(),
            self.eevdf,
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(SchedulerError::decl(
                "source",
                "must set exactly one of `crate`, `path`, `binary`, `kernel_tree`, `eevdf = true`",
            ));
        }
        if self.version.is_some() && self.krate.is_none() {
            return Err(SchedulerError::decl(
                "source.version",
                "only applies to `crate`",
            ));
        }
        if self.package.is_some() && self.path.is_none() {
            return Err(SchedulerError::decl(
                "source.package",
                "only applies to `path`",
            ));
        }
        if let Some(v) = &self.version {
            crate::spec::check_version(v).map_err(|r| SchedulerError::decl("source.version", r))?;
        }
        Ok(if let Some(name) = self.krate {
            SchedulerSource::Crate {
                name,
                version: self.version,
            }
        } else if let Some(dir) = self.path {
            SchedulerSource::Path {
                dir,
                package: self.package.or_else(|| Some(name.to_owned())),
            }
        } else if let Some(path) = self.binary {
            SchedulerSource::Binary { path }
        } else if let Some(name) = self.kernel_tree {
            SchedulerSource::KernelTree { name }
        } else {
            SchedulerSource::Eevdf
        })
    }
}

impl TryFrom<RawDecl> for SchedulerDecl {
    type Error = SchedulerError;

    fn try_from(raw: RawDecl) -> Result<SchedulerDecl, SchedulerError> {
        crate::spec::check_name(&raw.name).map_err(|r| SchedulerError::decl("name", r))?;
        let source = match raw.source {
            Some(s) => s.into_source(&raw.name)?,
            None => SchedulerSource::Crate {
                name: raw.name.clone(),
                version: None,
            },
        };
        check_flags(&raw.flags)?;
        if source == SchedulerSource::Eevdf && (!raw.args.is_empty() || !raw.flags.is_empty()) {
            return Err(SchedulerError::decl(
                "args",
                "EEVDF takes no arguments or flags",
            ));
        }
        Ok(SchedulerDecl {
            name: raw.name,
            source,
            args: raw.args,
            flags: raw.flags,
        })
    }
}

impl From<SchedulerDecl> for RawDecl {
    fn from(d: SchedulerDecl) -> RawDecl {
        let mut src = RawSource::default();
        match d.source {
            SchedulerSource::Eevdf => src.eevdf = true,
            SchedulerSource::KernelTree { name } => src.kernel_tree = Some(name),
            SchedulerSource::Crate { name, version } => {
                src.krate = Some(name);
                src.version = version;
            }
            SchedulerSource::Path { dir, package } => {
                src.path = Some(dir);
                src.package = package;
            }
            SchedulerSource::Binary { path } => src.binary = Some(path),
        }
        RawDecl {
            name: d.name,
            source: Some(src),
            args: d.args,
            flags: d.flags,
        }
    }
}

fn check_flags(flags: &[FlagDecl]) -> Result<(), SchedulerError> {
    let mut names = BTreeSet::new();
    for (i, f) in flags.iter().enumerate() {
        let field = format!("flags[{i}].name");
        if f.name.is_empty()
            || !f
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SchedulerError::decl(
                field,
                format!(
                    "`{}` must be a non-empty word of letters, digits, `-` and `_`",
                    f.name
                ),
            ));
        }
        if !names.insert(f.name.as_str()) {
            return Err(SchedulerError::decl(
                field,
                format!("`{}` is declared twice", f.name),
            ));
        }
        if f.args.is_empty() {
            return Err(SchedulerError::decl(
                format!("flags[{i}].args"),
                format!("flag `{}` adds no arguments", f.name),
            ));
        }
    }
    for (i, f) in flags.iter().enumerate() {
        for (list, what) in [(&f.requires, "requires"), (&f.excludes, "excludes")] {
            for other in list {
                let field = format!("flags[{i}].{what}");
                if other == &f.name {
                    return Err(SchedulerError::decl(
                        field,
                        format!("flag `{}` names itself", f.name),
                    ));
                }
                if !names.contains(other.as_str()) {
                    return Err(SchedulerError::decl(
                        field,
                        format!("names unknown flag `{other}`"),
                    ));
                }
            }
        }
    }
    // A flag whose required closure contains an excluded pair can never be on.
    let index = crate::profile::FlagIndex::new(flags);
    for (i, f) in flags.iter().enumerate() {
        let closure = index.closure(i);
        if let Some((a, b)) = index.conflict(&closure) {
            return Err(SchedulerError::decl(
                format!("flags[{i}]"),
                format!(
                    "flag `{}` can never be enabled: it requires `{}` and `{}`, which exclude each other",
                    f.name, flags[a].name, flags[b].name
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SchedulerDecl, SchedulerError> {
        SchedulerDecl::from_toml(text, Path::new("t.toml"))
    }

    #[test]
    fn toml_and_builder_mean_the_same() {
        let text = r#"
name = "scx_lavd"
args = ["--slice-max-us", "5000"]
[source]
crate = "scx_lavd"
version = "1.1.4"
[[flags]]
name = "performance"
args = ["--performance"]
excludes = ["powersave"]
[[flags]]
name = "powersave"
args = ["--powersave"]
"#;
        let built = SchedulerDecl::builder("scx_lavd")
            .from_crate(Some("1.1.4"))
            .arg("--slice-max-us")
            .arg("5000")
            .flag(FlagDecl::new("performance", ["--performance"]).excludes("powersave"))
            .flag(FlagDecl::new("powersave", ["--powersave"]))
            .build()
            .unwrap();
        assert_eq!(parse(text).unwrap(), built);
        // And back: serialising gives a declaration that parses to the same.
        let again = toml::to_string(&built).unwrap();
        assert_eq!(parse(&again).unwrap(), built);
    }

    #[test]
    fn source_defaults_to_the_crate_of_that_name() {
        let d = parse("name = \"scx_rusty\"").unwrap();
        assert_eq!(
            d.source(),
            &SchedulerSource::Crate {
                name: "scx_rusty".into(),
                version: None
            }
        );
    }

    #[test]
    fn bad_declarations_name_the_field() {
        let cases = [
            ("name = \"\"", "name"),
            ("name = \"a\"\n[source]\ncrate = \"a\"\npath = \"/x\"", "exactly one"),
            ("name = \"a\"\n[source]\npath = \"/x\"\nversion = \"1\"", "source.version"),
            ("name = \"a\"\n[source]\ncrate = \"a\"\nversion = \"1.x\"", "source.version"),
            ("name = \"a\"\n[[flags]]\nname = \"x\"\nargs = [\"-x\"]\n[[flags]]\nname = \"x\"\nargs = [\"-y\"]", "flags[1].name"),
            ("name = \"a\"\n[[flags]]\nname = \"x\"\nargs = [\"-x\"]\nrequires = [\"y\"]", "unknown flag `y`"),
            ("name = \"a\"\n[[flags]]\nname = \"x\"\nargs = [\"-x\"]\nexcludes = [\"x\"]", "names itself"),
            ("name = \"a\"\n[[flags]]\nname = \"x\"\nargs = []", "flags[0].args"),
            ("name = \"a\"\nbogus = 1", "bogus"),
            ("name = \"a\"\n[source]\neevdf = true\n[[flags]]\nname = \"x\"\nargs = [\"-x\"]", "EEVDF"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_flag_that_can_never_be_on_is_refused() {
        let err = SchedulerDecl::builder("s")
            .flag(FlagDecl::new("a", ["-a"]).requires("b").requires("c"))
            .flag(FlagDecl::new("b", ["-b"]))
            .flag(FlagDecl::new("c", ["-c"]).excludes("b"))
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("`a` can never be enabled"), "{err}");
        assert!(err.contains("flags[0]"), "{err}");
    }
}
