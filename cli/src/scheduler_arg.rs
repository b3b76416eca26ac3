//! `--scheduler` values: `eevdf`, a cached `scx_*` scheduler by name, or a path,
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
    let name = if head.starts_with("scx_") {
        head.to_string()
    } else {
        format!("scx_{head}")
    };
    let path = kernel.scheduler(&name).ok_or_else(|| {
        Failure::usage(anyhow!(
            "unknown scheduler `{head}`\nhint: use `eevdf`, a path to a scheduler binary, or one built with the kernel: {}",
            SCHEDULERS.join(", ")
        ))
    })?;
    Ok(SchedulerArg {
        name,
        host_path: Some(path),
        args,
    })
}
