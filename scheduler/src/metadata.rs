//! What a local Cargo project holds (`cargo metadata`) and its git state.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::SchedulerError;

/// The (name, version) of the package in `dir` that has a binary named
/// like itself: `package` if given, else the only such package.
pub(crate) fn binary_package(
    cargo: &Command,
    dir: &Path,
    package: Option<&str>,
) -> Result<(String, String), SchedulerError> {
    let mut cmd = Command::new(cargo.get_program());
    for (k, v) in cargo.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.arg("metadata")
        .arg("--no-deps")
        .arg("--format-version")
        .arg("1")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .stdin(Stdio::null());
    let no_package = |found: Vec<String>| SchedulerError::NoPackage {
        dir: dir.to_owned(),
        name: package.map(str::to_owned),
        found,
    };
    let output = cmd.output().map_err(|source| SchedulerError::Spawn {
        program: "cargo".to_owned(),
        source,
    })?;
    if !output.status.success() {
        return Err(no_package(Vec::new()));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|_| no_package(Vec::new()))?;
    let packages = json["packages"].as_array().cloned().unwrap_or_default();
    let binaries: Vec<(String, String)> = packages
        .iter()
        .filter_map(|p| {
            let name = p["name"].as_str()?;
            let has_bin = p["targets"].as_array()?.iter().any(|t| {
                t["name"].as_str() == Some(name)
                    && t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "bin"))
            });
            has_bin.then(|| {
                (
                    name.to_owned(),
                    p["version"].as_str().unwrap_or("0.0.0").to_owned(),
                )
            })
        })
        .collect();
    let names = || binaries.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    match package {
        Some(want) => binaries
            .iter()
            .find(|(n, _)| n == want)
            .cloned()
            .ok_or_else(|| no_package(names())),
        None if binaries.len() == 1 => Ok(binaries[0].clone()),
        None => Err(no_package(names())),
    }
}

/// `(HEAD commit, has uncommitted changes)` of the git tree holding `dir`;
/// `(None, false)` outside git.
pub(crate) fn git_state(dir: &Path) -> (Option<String>, bool) {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]);
    let dirty = commit.is_some()
        && git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    (commit, dirty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_state_of_a_plain_directory_is_empty() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(git_state(tmp.path()), (None, false));
    }

    #[test]
    fn git_state_sees_a_commit_and_a_dirty_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(tmp.path())
                .args(args)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            assert!(ok, "git {args:?}");
        };
        run(&["init", "-q"]);
        std::fs::write(tmp.path().join("f"), "1").unwrap();
        run(&["add", "f"]);
        run(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "x",
        ]);
        let (commit, dirty) = git_state(tmp.path());
        assert_eq!(commit.as_deref().map(str::len), Some(40));
        assert!(!dirty);
        std::fs::write(tmp.path().join("f"), "2").unwrap();
        assert!(git_state(tmp.path()).1);
    }
}
