//! Where the dynamic loader looks for libraries: `/etc/ld.so.conf` (the directories
//! `ldconfig` put in the cache), the built-in defaults, and `$ORIGIN`-style tokens in
//! `DT_RUNPATH` / `DT_RPATH`.

use std::fs;
use std::path::{Component, Path, PathBuf};

/// glibc's built-in trusted directories on x86-64 Debian-style systems, plus `/lib64` for
/// Fedora-style layouts. Searched after the `ld.so.conf` directories.
const DEFAULT_DIRS: [&str; 4] = [
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib",
];

/// `$LIB` as a Debian multiarch glibc expands it.
const LIB_TOKEN: &str = "lib/x86_64-linux-gnu";
/// `$PLATFORM` on x86-64.
const PLATFORM_TOKEN: &str = "x86_64";

/// `ld.so.conf` files may include each other; a loop must not hang the build.
const MAX_INCLUDE_DEPTH: usize = 8;

/// The system directories in the order the host loader consults them (the cache built from
/// `ld.so.conf` first, then the defaults), without duplicates.
pub(crate) fn system_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    read_conf(Path::new("/etc/ld.so.conf"), &mut dirs, 0);
    dirs.extend(DEFAULT_DIRS.iter().map(PathBuf::from));
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// Appends the directories of one config file, following `include` lines. A missing or
/// unreadable file contributes nothing, as with `ldconfig`.
fn read_conf(path: &Path, dirs: &mut Vec<PathBuf>, depth: usize) {
    let Ok(text) = fs::read_to_string(path) else {
        return;
    };
    for line in parse_conf(&text) {
        match line {
            ConfLine::Dir(dir) => dirs.push(dir),
            ConfLine::Include(pattern) if depth < MAX_INCLUDE_DEPTH => {
                // Relative patterns are relative to the including file's directory.
                let pattern = path.parent().unwrap_or(Path::new("/")).join(pattern);
                for included in glob(&pattern) {
                    read_conf(&included, dirs, depth + 1);
                }
            }
            ConfLine::Include(_) => {}
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum ConfLine {
    Dir(PathBuf),
    Include(String),
}

/// Parses `ld.so.conf` syntax: `#` comments, `include PATTERN`, `hwcap` lines (ignored), and
/// directory lines, which may hold several directories and an old `=TYPE` suffix.
fn parse_conf(text: &str) -> Vec<ConfLine> {
    let mut lines = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(pattern) = line
            .strip_prefix("include")
            .filter(|r| r.starts_with([' ', '\t']))
        {
            lines.extend(
                pattern
                    .split_whitespace()
                    .map(|p| ConfLine::Include(p.to_owned())),
            );
        } else if !line.starts_with("hwcap") {
            let dirs = line.split(|c: char| c.is_whitespace() || c == ':' || c == ',');
            for dir in dirs.filter(|d| d.starts_with('/')) {
                let dir = dir.split('=').next().unwrap_or(dir);
                // `/` itself must not trim to an empty, cwd-relative path.
                let dir = match dir.trim_end_matches('/') {
                    "" => "/",
                    trimmed => trimmed,
                };
                lines.push(ConfLine::Dir(PathBuf::from(dir)));
            }
        }
    }
    lines
}

/// Expands a `*` / `?` pattern in the last component only, which is all `ld.so.conf` files
/// use in practice (`/etc/ld.so.conf.d/*.conf`). Results are sorted, as `glob(3)` sorts them.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else {
        return Vec::new();
    };
    let name = name.to_string_lossy();
    if !name.contains(['*', '?']) {
        return vec![pattern.to_owned()];
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut matches: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| wildcard_match(name.as_bytes(), e.file_name().as_encoded_bytes()))
        .map(|e| e.path())
        .collect();
    matches.sort();
    matches
}

fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            wildcard_match(rest, name) || (!name.is_empty() && wildcard_match(pattern, &name[1..]))
        }
        (Some((b'?', rest)), Some((_, name_rest))) => wildcard_match(rest, name_rest),
        (Some((p, rest)), Some((n, name_rest))) => p == n && wildcard_match(rest, name_rest),
        _ => false,
    }
}

/// Expands the dynamic string tokens of one `DT_RUNPATH` / `DT_RPATH` entry.
///
/// `$ORIGIN` becomes `origin`, the directory of the object that carries the entry. Returns
/// `None` for entries the loader would not use here: unknown tokens, and relative
/// directories, which would be relative to the process's working directory.
pub(crate) fn expand_tokens(entry: &str, origin: &Path) -> Option<PathBuf> {
    let origin = origin.to_str()?;
    let mut out = String::with_capacity(entry.len() + origin.len());
    let mut rest = entry;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (token, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}')?;
            (&braced[..end], &braced[end + 1..])
        } else {
            let end = after.find(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            after.split_at(end.unwrap_or(after.len()))
        };
        out.push_str(match token {
            "ORIGIN" => origin,
            "LIB" => LIB_TOKEN,
            "PLATFORM" => PLATFORM_TOKEN,
            _ => return None,
        });
        rest = tail;
    }
    out.push_str(rest);
    let path = PathBuf::from(out);
    path.is_absolute().then(|| lexical_normalize(&path))
}

/// Resolves `.` and `..` textually. Right for guest paths, whose directories the builder
/// creates as real directories, so `..` cannot cross a symlink there.
pub(crate) fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn conf_lines_cover_includes_comments_and_hwcap() {
        let text = "# comment\ninclude /etc/ld.so.conf.d/*.conf\n\n/usr/local/lib # trailing\n\
                    hwcap 0 nosegneg\n/opt/a:/opt/b, /opt/c/\n/opt/d=libc6\nincluded_not_a_keyword\n\
                    /\n";
        assert_eq!(
            parse_conf(text),
            vec![
                ConfLine::Include("/etc/ld.so.conf.d/*.conf".into()),
                ConfLine::Dir("/usr/local/lib".into()),
                ConfLine::Dir("/opt/a".into()),
                ConfLine::Dir("/opt/b".into()),
                ConfLine::Dir("/opt/c".into()),
                ConfLine::Dir("/opt/d".into()),
                ConfLine::Dir("/".into()),
            ]
        );
    }

    #[test]
    fn includes_are_followed_relative_to_the_including_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("conf.d")).unwrap();
        fs::write(
            dir.path().join("main.conf"),
            "/first\ninclude conf.d/*.conf\n/last\n",
        )
        .unwrap();
        fs::write(dir.path().join("conf.d/b.conf"), "/b\n").unwrap();
        fs::write(
            dir.path().join("conf.d/a.conf"),
            "/a\ninclude ../main.conf\n",
        )
        .unwrap();
        fs::write(dir.path().join("conf.d/ignored.txt"), "/nope\n").unwrap();
        let mut dirs = Vec::new();
        read_conf(
            &dir.path().join("main.conf"),
            &mut dirs,
            MAX_INCLUDE_DEPTH - 1,
        );
        let names: Vec<_> = dirs.iter().map(|d| d.to_str().unwrap()).collect();
        // At the depth limit, the self-include in a.conf is not followed again.
        assert_eq!(names, ["/first", "/a", "/b", "/last"]);
    }

    #[test]
    fn system_dirs_end_with_the_defaults() {
        let dirs = system_dirs();
        for default in DEFAULT_DIRS {
            assert!(
                dirs.contains(&PathBuf::from(default)),
                "{default} missing from {dirs:?}"
            );
        }
    }

    #[test]
    fn wildcards_match_like_glob() {
        assert!(wildcard_match(b"*.conf", b"libc.conf"));
        assert!(wildcard_match(b"*.conf", b".conf"));
        assert!(!wildcard_match(b"*.conf", b"libc.conf.bak"));
        assert!(wildcard_match(b"lib?.conf", b"libc.conf"));
        assert!(!wildcard_match(b"lib?.conf", b"lib.conf"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// `DT_RUNPATH` / `DT_RPATH` entries come from the binary: any string expands or is
        /// dropped. The alphabet is weighted towards the token syntax.
        #[test]
        fn any_runpath_entry_expands_or_is_dropped(
            entry in "([$/{}.]|ORIGIN|LIB|PLATFORM|[a-z_]|\\PC){0,40}",
        ) {
            if let Some(path) = expand_tokens(&entry, Path::new("/o/bin")) {
                prop_assert!(path.is_absolute());
            }
        }

        #[test]
        fn any_conf_text_parses(text in "(include|hwcap|[ \t\n#=:,/*?]|[a-z]|\\PC){0,80}") {
            for line in parse_conf(&text) {
                if let ConfLine::Dir(dir) = line {
                    prop_assert!(dir.to_string_lossy().starts_with('/'));
                }
            }
        }

        #[test]
        fn wildcards_match_or_not(pattern in "[*?ab]{0,8}", name in "[ab.]{0,12}") {
            let _ = wildcard_match(pattern.as_bytes(), name.as_bytes());
        }
    }

    #[test]
    fn tokens_expand_and_relative_entries_are_dropped() {
        let origin = Path::new("/opt/app/bin");
        let expand = |entry| expand_tokens(entry, origin).map(|p| p.display().to_string());
        assert_eq!(expand("$ORIGIN/../lib").as_deref(), Some("/opt/app/lib"));
        assert_eq!(expand("${ORIGIN}/x").as_deref(), Some("/opt/app/bin/x"));
        assert_eq!(
            expand("/usr/$LIB/app").as_deref(),
            Some("/usr/lib/x86_64-linux-gnu/app")
        );
        assert_eq!(expand("/p/$PLATFORM").as_deref(), Some("/p/x86_64"));
        assert_eq!(expand("/plain").as_deref(), Some("/plain"));
        assert_eq!(expand("lib"), None);
        assert_eq!(expand(""), None);
        assert_eq!(expand("$UNKNOWN/lib"), None);
        assert_eq!(expand("${ORIGIN/lib"), None);
    }
}
