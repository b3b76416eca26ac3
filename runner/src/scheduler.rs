//! `--scheduler` values: `eevdf`, a kernel-tree or built production `scx_*`
//! scheduler by name (`scx_bpfland`, `bpfland@1.1.4`), or a path,
//! each optionally followed by arguments (`"scx_qmap -t 2"`).

use std::path::PathBuf;

use anyhow::anyhow;
use ktstr_kernel::{ResolvedKernel, SCHEDULERS};

use crate::failure::Failure;

/// The kernel's own scheduler: no sched_ext scheduler is started.
pub(crate) const EEVDF: &str = "eevdf";

/// A resolved `--scheduler`.
#[derive(Debug, Clone)]
pub(crate) struct SchedulerArg {
    /// Short name for reports (`eevdf`, `scx_simple`, or the file name).
    pub name: String,
    /// The binary on the host; `None` for EEVDF.
    pub host_path: Option<PathBuf>,
    /// Arguments.
    pub args: Vec<String>,
}

impl SchedulerArg {
    /// Name plus arguments, e.g. `scx_qmap -t 2`.
    pub(crate) fn label(&self) -> String {
        std::iter::once(self.name.clone())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Resolves one `--scheduler` value against the kernel's cached schedulers.
pub(crate) fn resolve(value: &str, kernel: &ResolvedKernel) -> Result<SchedulerArg, Failure> {
    let mut words = value.split_whitespace();
    let head = words
        .next()
        .ok_or_else(|| Failure::usage(anyhow!("empty `--scheduler` value")))?;
    let args: Vec<String> = words.map(str::to_string).collect();
    if head.eq_ignore_ascii_case(EEVDF) {
        if !args.is_empty() {
            return Err(Failure::usage(anyhow!("`eevdf` takes no arguments")));
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
            return Err(Failure::usage(anyhow!(
                "scheduler binary `{head}` does not exist"
            )));
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
    let spec: ktstr_scheduler::SchedulerSpec = head.parse().map_err(Failure::usage)?;
    if spec.version.is_none() {
        if let Some(path) = kernel.scheduler(&spec.name) {
            return Ok(SchedulerArg {
                name: spec.name,
                host_path: Some(path),
                args,
            });
        }
    }
    if let Some(built) = crate::scheduler_cmd::find_built(&spec)? {
        // Reports name the version that ran: `scx_bpfland@1.1.4`.
        return Ok(SchedulerArg {
            name: format!("{}@{}", built.name, built.version),
            host_path: Some(built.binary),
            args,
        });
    }
    Err(Failure::usage(anyhow!(
        "unknown scheduler `{head}`\nhint: use `eevdf`, a path to a scheduler binary, one built with the kernel ({}), or build it first: `ktstr scheduler build {spec}`",
        SCHEDULERS.join(", ")
    )))
}

/// Resolves a declaration's source to a binary (no arguments: each flag
/// profile brings its whole argument list).
pub(crate) fn resolve_decl(
    decl: &ktstr_scheduler::SchedulerDecl,
    kernel: &ResolvedKernel,
) -> Result<SchedulerArg, Failure> {
    use ktstr_scheduler::SchedulerSource;
    let from = |path: PathBuf| SchedulerArg {
        name: decl.name().to_owned(),
        host_path: Some(path),
        args: Vec::new(),
    };
    match decl.source() {
        SchedulerSource::Eevdf => resolve(EEVDF, kernel),
        SchedulerSource::KernelTree { name } => kernel.scheduler(name).map(from).ok_or_else(|| {
            Failure::usage(anyhow!(
                "the kernel has no tree scheduler `{name}` (declared by `{}`)\nhint: the kernel tree's schedulers are {}",
                decl.name(),
                SCHEDULERS.join(", ")
            ))
        }),
        SchedulerSource::Crate { name, version } => {
            let spec = ktstr_scheduler::SchedulerSpec {
                name: name.clone(),
                version: version.clone(),
            };
            match crate::scheduler_cmd::find_built(&spec)? {
                Some(b) => Ok(from(b.binary)),
                None => Err(Failure::usage(anyhow!(
                    "`{spec}` (declared by `{}`) is not built\nhint: `ktstr scheduler build {spec}`",
                    decl.name()
                ))),
            }
        }
        SchedulerSource::Path { dir, package } => {
            let name = package.clone().unwrap_or_else(|| decl.name().to_owned());
            let spec = ktstr_scheduler::SchedulerSpec { name, version: None };
            match crate::scheduler_cmd::find_built(&spec)? {
                Some(b) => Ok(from(b.binary)),
                None => Err(Failure::usage(anyhow!(
                    "`{spec}` from `{}` is not built\nhint: `ktstr scheduler build {} --path {}`",
                    dir.display(),
                    spec.name,
                    dir.display()
                ))),
            }
        }
        SchedulerSource::Binary { path } if path.is_file() => Ok(from(path.clone())),
        SchedulerSource::Binary { path } => Err(Failure::usage(anyhow!(
            "scheduler binary `{}` (declared by `{}`) does not exist",
            path.display(),
            decl.name()
        ))),
    }
}
