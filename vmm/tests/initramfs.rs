//! The initramfs builder checked against real tools: GNU `cpio` must read the archive, and
//! the extracted loader must run the packed binaries using only the packed libraries.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ktstr_vmm::initramfs::{parse_newc, InitramfsBuilder};

const LOADER: &str = "lib64/ld-linux-x86-64.so.2";

/// Runs `cpio` with `args` in `cwd`, feeding it `archive` on stdin.
fn cpio(args: &[&str], cwd: &Path, archive: &[u8]) -> Output {
    let mut child = Command::new("cpio")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cpio (Debian package `cpio`)");
    child.stdin.take().unwrap().write_all(archive).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "cpio {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn extract(archive: &[u8]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    cpio(&["-idm", "--quiet"], root.path(), archive);
    root
}

/// Directories of the packed shared libraries whose name passes `keep`, as `--library-path`
/// for the extracted loader.
fn library_path(root: &Path, archive: &[u8], keep: impl Fn(&str) -> bool) -> String {
    let dirs: BTreeSet<PathBuf> = parse_newc(archive)
        .unwrap()
        .iter()
        .filter(|e| e.is_file() && e.name.contains(".so") && e.name != LOADER && keep(&e.name))
        .filter_map(|e| Path::new(&e.name).parent().map(|d| root.join(d)))
        .collect();
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Runs an extracted binary through the extracted loader, ignoring the host's
/// `ld.so.cache`, so a library missing from the archive makes it fail.
fn run_extracted(root: &Path, library_path: &str, binary: &str, extra: &[&str]) -> Output {
    Command::new(root.join(LOADER))
        .arg("--inhibit-cache")
        .arg("--library-path")
        .arg(library_path)
        .args(extra)
        .arg(root.join(binary))
        .output()
        .unwrap()
}

#[test]
fn cpio_lists_the_binaries_loader_and_libc() {
    let archive = InitramfsBuilder::new()
        .init_binary("/usr/bin/env")
        .binary("/usr/bin/true", "/usr/bin/true")
        .file("/etc/motd", "hello\n", 0o644)
        .build()
        .unwrap();
    let listing = cpio(&["-t", "--quiet"], Path::new("/"), &archive);
    let names: Vec<String> = String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    for expected in ["init", "usr/bin/true", "etc/motd", LOADER] {
        assert!(
            names.iter().any(|n| n == expected),
            "`{expected}` not in {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n.ends_with("/libc.so.6")),
        "no libc in {names:?}"
    );
}

#[test]
fn extracted_closure_runs_without_host_libraries() {
    let archive = InitramfsBuilder::new()
        .init_binary("/usr/bin/env")
        .binary("/usr/bin/true", "/usr/bin/true")
        .build()
        .unwrap();
    let root = extract(&archive);
    assert!(!fs::symlink_metadata(root.path().join(LOADER))
        .unwrap()
        .is_symlink());

    let libs = library_path(root.path(), &archive, |_| true);
    let status = run_extracted(root.path(), &libs, "usr/bin/true", &[]).status;
    assert!(status.success(), "extracted true: {status}");

    // Every library the loader maps must come from the extracted tree.
    let listed = run_extracted(root.path(), &libs, "init", &["--list"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed = String::from_utf8(listed.stdout).unwrap();
    for line in listed.lines().filter(|l| l.contains("=>")) {
        assert!(
            line.contains(&*root.path().to_string_lossy()),
            "resolved outside the archive: {line}"
        );
    }
}

/// `$ORIGIN/../lib` must be resolved against where the binary is packed, not where it was
/// built. Needs a C compiler, which any host that links Rust has.
#[test]
fn origin_runpath_follows_the_guest_path() {
    let src = tempfile::tempdir().unwrap();
    let (lib_dir, bin_dir) = (src.path().join("build/lib"), src.path().join("build/bin"));
    fs::create_dir_all(&lib_dir).unwrap();
    fs::create_dir_all(&bin_dir).unwrap();
    fs::write(src.path().join("foo.c"), "int foo(void) { return 7; }\n").unwrap();
    fs::write(
        src.path().join("app.c"),
        "int foo(void);\nint main(void) { return foo(); }\n",
    )
    .unwrap();
    let cc = |args: &[&str]| {
        let out = Command::new("cc")
            .args(args)
            .current_dir(src.path())
            .output()
            .expect("run cc");
        assert!(
            out.status.success(),
            "cc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    cc(&["-shared", "-fPIC", "-o", "build/lib/libfoo.so", "foo.c"]);
    cc(&[
        "-o",
        "build/bin/app",
        "app.c",
        "-Lbuild/lib",
        "-lfoo",
        "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib",
    ]);

    let archive = InitramfsBuilder::new()
        .binary(bin_dir.join("app"), "/opt/app/bin/app")
        .build()
        .unwrap();
    let names: Vec<String> = parse_newc(&archive)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(
        names.iter().any(|n| n == "opt/app/lib/libfoo.so"),
        "{names:?}"
    );

    let root = extract(&archive);
    // Only libc's directory is given, so libfoo can be found through the RUNPATH alone.
    let libs = library_path(root.path(), &archive, |name| !name.starts_with("opt/"));
    let status = run_extracted(root.path(), &libs, "opt/app/bin/app", &[]).status;
    assert_eq!(status.code(), Some(7), "app should return foo()'s 7");
}
