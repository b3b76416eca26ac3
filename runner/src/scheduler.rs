//! `--scheduler` values: `eevdf`, a kernel-tree or built production `scx_*`
//! scheduler by name (`scx_bpfland`, `bpfland@1.1.4`), or a path,
//! each optionally followed by arguments (`"scx_qmap -t 2"`).

use std::path::PathBuf;

use ktstr_kernel::{ResolvedKernel, SCHEDULERS};
use ktstr_scheduler::{BuiltScheduler, SchedulerCache, SchedulerSpec};

use crate::RunError;

/// The kernel's own scheduler: no sched_ext scheduler is started.
pub const EEVDF: &str = "eevdf";

/// A scheduler resolved to a binary (or EEVDF) and its arguments.
///
/// ```
/// let eevdf = ktstr_runner::SchedulerArg::eevdf();
/// assert_eq!(eevdf.label(), "eevdf");
/// assert!(eevdf.host_path.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerArg {
    /// Short name for reports (`eevdf`, `scx_simple`, or the file name).
    pub name: String,
    /// The binary on the host; `None` for EEVDF.
    pub host_path: Option<PathBuf>,
    /// Arguments.
    pub args: Vec<String>,
}

impl SchedulerArg {
    /// The kernel's own scheduler.
    pub fn eevdf() -> Self {
        SchedulerArg {
            name: EEVDF.into(),
            host_path: None,
            args: Vec::new(),
        }
    }

    /// Whether this is EEVDF (no sched_ext scheduler).
    pub fn is_eevdf(&self) -> bool {
        self.host_path.is_none()
    }

    /// Name plus arguments, e.g. `scx_qmap -t 2`.
    pub fn label(&self) -> String {
        std::iter::once(self.name.clone())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Resolves one scheduler value (`eevdf`, `scx_simple`, `bpfland@1.1.4`, a
/// path, each optionally with arguments) against the kernel's tree
/// schedulers and the built production schedulers.
///
/// # Errors
///
/// [`RunError::BadSchedulerValue`], [`RunError::SchedulerBinaryMissing`],
/// [`RunError::UnknownScheduler`], or a scheduler-cache error.
pub fn resolve(value: &str, kernel: &ResolvedKernel) -> Result<SchedulerArg, RunError> {
    let bad = |reason| RunError::BadSchedulerValue {
        value: value.to_owned(),
        reason,
    };
    let mut words = value.split_whitespace();
    let head = words.next().ok_or_else(|| bad("it is empty"))?;
    let args: Vec<String> = words.map(str::to_string).collect();
    if head.eq_ignore_ascii_case(EEVDF) {
        if !args.is_empty() {
            return Err(bad("`eevdf` takes no arguments"));
        }
        return Ok(SchedulerArg {
            name: EEVDF.into(),
            host_path: None,
            args,
        });
    }
    if head.contains('/') {
        let p = PathBuf::from(head);
        if !p.is_file() {
            return Err(RunError::SchedulerBinaryMissing { path: p });
        }
        let name = p
            .file_name()
            .map_or_else(|| head.to_string(), |n| n.to_string_lossy().into_owned());
        return Ok(SchedulerArg {
            name,
            host_path: Some(p),
            args,
        });
    }
    let spec: SchedulerSpec = head.parse()?;
    if spec.version.is_none() {
        if let Some(path) = kernel.scheduler(&spec.name) {
            return Ok(SchedulerArg {
                name: spec.name,
                host_path: Some(path),
                args,
            });
        }
    }
    if let Some(built) = find_built(&spec)? {
        // Reports name the version that ran: `scx_bpfland@1.1.4`.
        return Ok(SchedulerArg {
            name: format!("{}@{}", built.name, built.version),
            host_path: Some(built.binary),
            args,
        });
    }
    Err(RunError::UnknownScheduler {
        name: spec.to_string(),
        tree: SCHEDULERS.join(", "),
    })
}

/// The built production scheduler `spec` names, if it is in the cache.
///
/// # Errors
///
/// A scheduler-cache error other than "not built" (no cache directory, a
/// corrupted binary).
pub fn find_built(spec: &SchedulerSpec) -> Result<Option<BuiltScheduler>, RunError> {
    let cache = SchedulerCache::default_location()?;
    match cache.find(spec) {
        Ok(s) => Ok(Some(s)),
        Err(ktstr_scheduler::SchedulerError::NotBuilt { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Resolves a declaration's source to a binary (no arguments: each flag
/// profile brings its whole argument list).
///
/// # Errors
///
/// As [`resolve`], and [`RunError::SchedulerNotBuilt`] for a declared
/// scheduler that is not in the cache.
pub fn resolve_decl(
    decl: &ktstr_scheduler::SchedulerDecl,
    kernel: &ResolvedKernel,
) -> Result<SchedulerArg, RunError> {
    use ktstr_scheduler::SchedulerSource;
    let from = |path: PathBuf| SchedulerArg {
        name: decl.name().to_owned(),
        host_path: Some(path),
        args: Vec::new(),
    };
    match decl.source() {
        SchedulerSource::Eevdf => resolve(EEVDF, kernel),
        SchedulerSource::KernelTree { name } => {
            kernel
                .scheduler(name)
                .map(from)
                .ok_or_else(|| RunError::SchedulerNotBuilt {
                    what: format!(
                        "the kernel tree scheduler `{name}` (declared by `{}`)",
                        decl.name()
                    ),
                    fix: format!("the kernel tree's schedulers are {}", SCHEDULERS.join(", ")),
                })
        }
        SchedulerSource::Crate { name, version } => {
            let spec = SchedulerSpec {
                name: name.clone(),
                version: version.clone(),
            };
            match find_built(&spec)? {
                Some(b) => Ok(from(b.binary)),
                None => Err(RunError::SchedulerNotBuilt {
                    what: format!("`{spec}` (declared by `{}`)", decl.name()),
                    fix: format!("`ktstr scheduler build {spec}`"),
                }),
            }
        }
        SchedulerSource::Path { dir, package } => {
            let name = package.clone().unwrap_or_else(|| decl.name().to_owned());
            let spec = SchedulerSpec {
                name,
                version: None,
            };
            match find_built(&spec)? {
                Some(b) => Ok(from(b.binary)),
                None => Err(RunError::SchedulerNotBuilt {
                    what: format!("`{spec}` from `{}`", dir.display()),
                    fix: format!(
                        "`ktstr scheduler build {} --path {}`",
                        spec.name,
                        dir.display()
                    ),
                }),
            }
        }
        SchedulerSource::Binary { path } if path.is_file() => Ok(from(path.clone())),
        SchedulerSource::Binary { path } => {
            Err(RunError::SchedulerBinaryMissing { path: path.clone() })
        }
    }
}
