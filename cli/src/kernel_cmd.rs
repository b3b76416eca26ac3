//! `ktstr kernel build|list|clean`, and kernel resolution for the other commands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use ktstr_kernel::{indicatif_progress, BuildOptions, Flavor, KernelCache, KernelSource};

use crate::failure::{Failure, OrUsage};
use crate::CmdResult;

#[derive(Subcommand)]
pub(crate) enum KernelCommand {
    /// Build a sched_ext kernel and the kernel tree's example schedulers, and cache them.
    Build {
        /// A kernel source tree (default: Debian's linux-source-6.12 tarball).
        #[arg(long)]
        source: Option<PathBuf>,
        /// Rebuild even if this source and fragment are cached.
        #[arg(long)]
        force: bool,
        /// Parallel make jobs (default: all CPUs).
        #[arg(long)]
        jobs: Option<usize>,
        /// `default` (lean, what production schedulers need) or `debug`
        /// (adds lockdep and sleep-in-atomic checks).
        #[arg(long, default_value = "default")]
        flavor: Flavor,
    },
    /// List cached kernels.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove cached kernels (all, or the one with this id prefix) and build trees.
    Clean {
        /// Id prefix of the kernel to remove.
        id: Option<String>,
    },
}

/// The kernel cache at its default location.
pub(crate) fn cache() -> Result<KernelCache, Failure> {
    KernelCache::default_location()
        .context("failed to locate the ktstr cache")
        .or_usage()
}

pub(crate) fn run(cmd: KernelCommand) -> CmdResult {
    let cache = cache()?;
    match cmd {
        KernelCommand::Build {
            source,
            force,
            jobs,
            flavor,
        } => {
            let mut opts = BuildOptions {
                force,
                flavor,
                ..BuildOptions::default()
            };
            if let Some(dir) = source {
                opts.source = KernelSource::Tree(dir);
            }
            if let Some(j) = jobs {
                opts.jobs = j;
            }
            let mut progress = indicatif_progress();
            let k = cache.build(&opts, &mut progress).map_err(Failure::build)?;
            println!(
                "kernel {} ({}, {}) cached in {} — built in {:.0} s (kernel {:.0} s, schedulers {:.0} s), bzImage {:.1} MB, schedulers: {}",
                k.id,
                k.meta.version,
                k.meta.flavor,
                k.dir.display(),
                k.meta.build_seconds,
                k.meta.kernel_build_seconds,
                k.meta.scheduler_build_seconds,
                k.meta.bzimage_bytes as f64 / 1e6,
                k.meta.schedulers.join(", ")
            );
        }
        KernelCommand::List { json } => {
            let list = cache.list().or_usage()?;
            if json {
                let entries: Vec<_> = list.iter().map(ListedKernel::of).collect();
                crate::failure::print_json(&entries)?;
            } else if list.is_empty() {
                println!(
                    "no cached kernels in {}; run `ktstr kernel build`",
                    cache.root().display()
                );
            } else {
                for k in &list {
                    println!("{}", list_row(k));
                }
            }
        }
        KernelCommand::Clean { id } => {
            let removed = cache.clean(id.as_deref()).or_usage()?;
            println!(
                "removed {} entr{}",
                removed.len(),
                if removed.len() == 1 { "y" } else { "ies" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One entry of `ktstr kernel list --json`: the cache entry, its `.config`
/// options and which of the flavour's required options it misses (empty for
/// every entry the builder installed).
#[derive(serde::Serialize)]
struct ListedKernel<'a> {
    #[serde(flatten)]
    kernel: &'a ktstr_kernel::CachedKernel,
    config: std::collections::BTreeMap<String, String>,
    unmet_requirements: Vec<String>,
}

impl<'a> ListedKernel<'a> {
    fn of(kernel: &'a ktstr_kernel::CachedKernel) -> ListedKernel<'a> {
        let text = std::fs::read_to_string(kernel.config()).unwrap_or_default();
        let unmet_requirements = match ktstr_kernel::check_flavor_config(kernel.meta.flavor, &text)
        {
            Ok(()) => Vec::new(),
            Err(ktstr_kernel::KernelError::MissingOptions(missing)) => missing,
            Err(other) => vec![other.to_string()],
        };
        ListedKernel {
            kernel,
            config: ktstr_kernel::parse_config(&text),
            unmet_requirements,
        }
    }
}

/// One line of `ktstr kernel list`: id, release, flavour, image size,
/// source and schedulers.
fn list_row(k: &ktstr_kernel::CachedKernel) -> String {
    format!(
        "{}  {:<12} {:<7} {:>6.1} MB  {}  [{}]",
        k.id,
        k.meta.version,
        k.meta.flavor,
        k.meta.bzimage_bytes as f64 / 1e6,
        k.meta.source,
        k.meta.schedulers.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_row_snapshot() {
        let meta: ktstr_kernel::KernelMeta = serde_json::from_value(serde_json::json!({
            "id": "c9b923246074", "version": "6.12.117", "source": "debian-tarball linux-source-6.12.tar.xz",
            "fragment_sha256": "00", "flavor": "debug", "build_seconds": 1.0, "kernel_build_seconds": 1.0,
            "scheduler_build_seconds": 1.0, "created_unix": 1, "bzimage_bytes": 9_400_000,
            "schedulers": ["scx_simple", "scx_ktstr_fault"]
        }))
        .unwrap();
        let k = ktstr_kernel::CachedKernel {
            id: meta.id.clone(),
            dir: "/c/kernels/c9b923246074".into(),
            meta,
        };
        assert_eq!(
            list_row(&k),
            "c9b923246074  6.12.117     debug      9.4 MB  debian-tarball linux-source-6.12.tar.xz  [scx_simple scx_ktstr_fault]"
        );
    }
}
