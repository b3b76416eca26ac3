//! `ktstr scheduler build|list|profiles`: production schedulers in the cache.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use ktstr_scheduler::{
    BuildRequest, BuildSettings, BuiltFrom, BuiltScheduler, SchedulerCache, SchedulerDecl,
    SchedulerSpec,
};

use crate::failure::{Failure, OrUsage};
use crate::CmdResult;

#[derive(Subcommand)]
pub(crate) enum SchedulerCommand {
    /// Build a scheduler from crates.io (NAME[@VERSION]) or a local tree (--path) into the cache.
    Build {
        /// The scheduler, e.g. `scx_bpfland` or `scx_bpfland@1.1.4`; with --path, the package
        /// to build (optional when the directory holds one scheduler).
        name: Option<String>,
        /// A local Cargo project: an scx checkout or one scheduler's crate directory.
        #[arg(long)]
        path: Option<PathBuf>,
        /// Rebuild a crates.io version even if it is cached.
        #[arg(long)]
        force: bool,
        /// Parallel jobs for cargo (default: all CPUs).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
        jobs: Option<u16>,
    },
    /// List the built schedulers (name, version, source, sha256, build time).
    List {
        /// Print JSON (a list of the cache's `meta.json` records).
        #[arg(long)]
        json: bool,
    },
    /// Show the flag profiles a scheduler declaration allows.
    Profiles {
        /// A declaration file (`.toml`) or the name of a built-in declaration
        /// (`scx_bpfland`, `scx_lavd`, `scx_rusty`).
        declaration: String,
        /// At most this many profiles.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=4096))]
        max: u16,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: SchedulerCommand) -> CmdResult {
    match cmd {
        SchedulerCommand::Build {
            name,
            path,
            force,
            jobs,
        } => {
            let request = match (path, name) {
                (Some(dir), package) => BuildRequest::Path { dir, package },
                (None, Some(name)) => BuildRequest::Crate(name.parse().or_usage()?),
                (None, None) => {
                    return Err(Failure::usage(anyhow::anyhow!(
                        "`ktstr scheduler build` needs a scheduler name or --path DIR\nhint: e.g. `ktstr scheduler build scx_bpfland`"
                    )))
                }
            };
            let settings = BuildSettings {
                force,
                jobs: jobs.map(usize::from),
            };
            let cache = SchedulerCache::default_location().or_usage()?;
            let mut progress = ktstr_kernel::indicatif_progress();
            let built = cache
                .build(&request, &settings, &mut progress)
                .map_err(Failure::build)?;
            drop(progress);
            if ktstr_vmm::stop_requested() {
                return Err(Failure::interrupted());
            }
            println!(
                "{} cached as {} — built in {:.0} s, sha256 {}",
                built.label(),
                built.binary.display(),
                built.build_seconds,
                built.sha256
            );
        }
        SchedulerCommand::List { json } => {
            let cache = SchedulerCache::default_location().or_usage()?;
            let list = cache.list().or_usage()?;
            if json {
                crate::failure::print_json(&list)?;
            } else {
                print!("{}", render_list(&list, cache.dir()));
            }
        }
        SchedulerCommand::Profiles {
            declaration,
            max,
            json,
        } => {
            let decl = declaration_of(&declaration)?;
            let profiles = decl.profiles(usize::from(max));
            if json {
                crate::failure::print_json(&profiles)?;
            } else {
                print!("{}", render_profiles(decl.name(), &profiles));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A declaration from a file, or ktstr's built-in one of that name.
pub(crate) fn declaration_of(value: &str) -> Result<SchedulerDecl, Failure> {
    let path = std::path::Path::new(value);
    if value.ends_with(".toml") || path.is_file() {
        return SchedulerDecl::load(path).or_usage();
    }
    let spec: SchedulerSpec = value.parse().or_usage()?;
    ktstr_scheduler::known(&spec.name).ok_or_else(|| {
        Failure::usage(anyhow::anyhow!(
            "no declaration of `{value}`: not a file, and ktstr ships declarations only for {}\nhint: write a TOML declaration (see the ktstr_scheduler docs) and pass its path",
            ktstr_scheduler::known_names().join(", ")
        ))
    })
}

/// The human list of `ktstr scheduler profiles`: each profile's name and
/// the command line it runs.
fn render_profiles(scheduler: &str, profiles: &[ktstr_scheduler::FlagProfile]) -> String {
    profiles
        .iter()
        .map(|p| {
            let cmd = std::iter::once(scheduler.to_owned())
                .chain(p.args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ");
            format!("{:<32} {cmd}\n", p.name())
        })
        .collect()
}

/// The human table of `ktstr scheduler list`.
fn render_list(list: &[BuiltScheduler], dir: &std::path::Path) -> String {
    if list.is_empty() {
        return format!(
            "no schedulers built in {}; run `ktstr scheduler build scx_bpfland`\n",
            dir.display()
        );
    }
    let mut out = format!(
        "{:<16} {:<10} {:<40} {:<14} {:>7}\n",
        "NAME", "VERSION", "SOURCE", "SHA256", "BUILD"
    );
    for s in list {
        let source = match &s.source {
            BuiltFrom::CratesIo => "crates.io".to_owned(),
            BuiltFrom::Path {
                dir,
                git_commit,
                git_dirty,
            } => {
                let commit = git_commit
                    .as_deref()
                    .map(|c| {
                        format!(
                            " @{}{}",
                            &c[..c.len().min(10)],
                            if *git_dirty { "+dirty" } else { "" }
                        )
                    })
                    .unwrap_or_default();
                format!("{}{commit}", dir.display())
            }
        };
        out += &format!(
            "{:<16} {:<10} {:<40} {:<14} {:>6.0}s\n",
            s.name,
            s.version,
            source,
            &s.sha256[..s.sha256.len().min(12)],
            s.build_seconds
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_snapshot() {
        let decl = ktstr_scheduler::known("scx_lavd").unwrap();
        let expected = "\
default                          scx_lavd
performance                      scx_lavd --performance
powersave                        scx_lavd --powersave
";
        assert_eq!(render_profiles(decl.name(), &decl.profiles(3)), expected);
    }

    #[test]
    fn list_renders_crates_and_local_trees() {
        let list = vec![
            BuiltScheduler {
                name: "scx_bpfland".into(),
                version: "1.1.4".into(),
                source: BuiltFrom::CratesIo,
                sha256: "0123456789abcdef".repeat(4),
                build_seconds: 241.4,
                created_unix: 2,
                binary: PathBuf::from("/c/scx_bpfland-1.1.4/bin/scx_bpfland"),
            },
            BuiltScheduler {
                name: "scx_lavd".into(),
                version: "1.1.5".into(),
                source: BuiltFrom::Path {
                    dir: PathBuf::from("/home/me/scx"),
                    git_commit: Some("abcdef0123456789abcdef0123456789abcdef01".into()),
                    git_dirty: true,
                },
                sha256: "fedcba9876543210".repeat(4),
                build_seconds: 30.0,
                created_unix: 1,
                binary: PathBuf::from("/c/x/bin/scx_lavd"),
            },
        ];
        let expected = "\
NAME             VERSION    SOURCE                                   SHA256           BUILD
scx_bpfland      1.1.4      crates.io                                0123456789ab      241s
scx_lavd         1.1.5      /home/me/scx @abcdef0123+dirty           fedcba987654       30s
";
        assert_eq!(render_list(&list, std::path::Path::new("/c")), expected);
        assert!(render_list(&[], std::path::Path::new("/c")).contains("ktstr scheduler build"));
    }
}
