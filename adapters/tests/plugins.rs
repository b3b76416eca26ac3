//! Loading real plugin files: the workspace's adapter plugins, the example third-party plugin,
//! and a deliberately incompatible one. The tests build the plugins with cargo (a no-op when
//! they are up to date) and load private copies of the libraries.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use ktstr_adapters::{
    AdapterInput, AdapterRegistry, Origin, PluginAdapter, PluginLoadError, Stream,
};

/// The workspace's plugin crates, built together so every test sees one build of each.
const PLUGINS: [&str; 4] = [
    "ktstr-adapter-json-plugin",
    "ktstr-adapter-exitcode-plugin",
    "ktstr-adapter-example-kv",
    "ktstr-adapter-test-incompatible",
];

/// Builds `package` (one of [`PLUGINS`]) with `features` and copies its library to a file of
/// this process named `copy_name`, so a later build with other features cannot change a
/// library while it is loaded.
fn build_plugin(package: &str, features: &[&str], copy_name: &str) -> PathBuf {
    static BUILD: Mutex<bool> = Mutex::new(false);
    let mut all_built = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    // The test binary is target/<profile>/deps/<name>: build into the same target directory.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    if !features.is_empty() || !*all_built {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap());
        if features.is_empty() {
            PLUGINS.iter().for_each(|p| _ = cmd.args(["-p", p]));
        } else {
            cmd.args(["-p", package, "--features", &features.join(",")]);
        }
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        assert!(cmd.status().unwrap().success(), "{cmd:?} failed");
        *all_built = features.is_empty();
    }
    let built = profile_dir.join(format!("lib{}.so", package.replace('-', "_")));
    let copy = copies_dir(&profile_dir).join(format!("{copy_name}.so"));
    std::fs::copy(&built, &copy).unwrap();
    copy
}

/// `plugin-test-copies/<pid>` under the profile directory, after removing the directories of
/// test processes that have exited.
fn copies_dir(profile_dir: &Path) -> PathBuf {
    let root = profile_dir.join("plugin-test-copies");
    for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let pid = entry.file_name();
        if !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = root.join(std::process::id().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("json/tests/data")
            .join(name),
    )
    .unwrap()
}

#[test]
fn json_plugin_extracts_fio_output() {
    let path = build_plugin("ktstr-adapter-json-plugin", &[], "json");
    let plugin = PluginAdapter::load(&path).unwrap();
    assert_eq!(plugin.info().name, "Json");
    assert_eq!(plugin.info().version, env!("CARGO_PKG_VERSION"));
    let stdout = data("fio_with_notes.txt");
    let start = stdout.find('{').unwrap();
    let input = AdapterInput {
        stdout,
        ..Default::default()
    };
    let out = plugin.try_extract(&input).unwrap();
    let iops = out
        .metrics
        .iter()
        .find(|m| m.name == "jobs.0.write.iops")
        .unwrap();
    assert!(iops.value > 0.0);
    assert_eq!(
        (iops.stream, iops.source.as_str()),
        (Stream::Stdout, "Json")
    );
    let expected = format!("stdout: read the JSON document at bytes {start}..");
    assert!(out.details[0].starts_with(&expected), "{:?}", out.details);
}

#[test]
fn exitcode_plugin_reports_the_exit_code() {
    let path = build_plugin("ktstr-adapter-exitcode-plugin", &[], "exitcode");
    let mut registry = AdapterRegistry::new();
    assert_eq!(registry.load_plugin(&path).unwrap().name, "ExitCode");
    let out = registry
        .extract(
            "exitcode",
            &AdapterInput {
                exit_code: Some(-9),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (out.metrics[0].name.as_str(), out.metrics[0].value),
        ("exit_code", -9.0)
    );
    assert_eq!(out.metrics[0].stream, Stream::Exit);
    assert_eq!(registry.find("ExitCode").unwrap().1, Origin::Plugin(&path));
}

#[test]
fn third_party_example_plugin_loads_by_path_and_gets_hint_units() {
    let path = build_plugin("ktstr-adapter-example-kv", &[], "example-kv");
    let mut registry = AdapterRegistry::new();
    registry.load_plugin(&path).unwrap();
    let input = AdapterInput {
        stdout: "Running in process mode with 10 groups\nTime: 0.153\navg = 12.5 ms\n".into(),
        hints: vec!["Time:lower:s".parse().unwrap()],
        ..Default::default()
    };
    let out = registry.extract("KeyValue", &input).unwrap();
    let got: Vec<_> = out
        .metrics
        .iter()
        .map(|m| (m.name.as_str(), m.value, m.unit.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![("Time", 0.153, Some("s")), ("avg", 12.5, Some("ms"))]
    );
    // The optional `try_extract` entry crosses the boundary too (here the default: `extract`).
    assert_eq!(registry.try_extract("KeyValue", &input).unwrap(), Ok(out));
}

#[test]
fn plugin_with_a_different_layout_is_refused_with_a_clear_error() {
    let path = build_plugin(
        "ktstr-adapter-test-incompatible",
        &[],
        "incompatible-layout",
    );
    let err = PluginAdapter::load(&path).unwrap_err();
    let PluginLoadError::Incompatible {
        problem, report, ..
    } = &err
    else {
        panic!("expected Incompatible, got {err}")
    };
    assert!(
        problem.starts_with("the layout of its interface types differs: "),
        "{problem}"
    );
    assert!(
        problem.contains("ktstr-adapter-test-incompatible"),
        "{problem}"
    );
    assert!(!report.is_empty());
    let message = err.to_string();
    eprintln!("{message}");
    assert!(
        message.contains(&format!(
            "adapter plugin `{}` is incompatible",
            path.display()
        )),
        "{message}"
    );
    assert!(
        message.ends_with("hint: rebuild the plugin against ktstr-adapters 0.1"),
        "{message}"
    );
}

#[test]
fn plugin_built_against_another_major_version_is_refused() {
    let path = build_plugin(
        "ktstr-adapter-test-incompatible",
        &["newer-major"],
        "incompatible-version",
    );
    let err = PluginAdapter::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "adapter plugin `{}` is incompatible with this ktstr: it was built against ktstr-adapters 1.0.0, \
             this ktstr uses {}\nhint: rebuild the plugin against ktstr-adapters 0.1",
            path.display(),
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn directory_loading_keeps_the_good_plugins_and_reports_the_bad() {
    let dir = std::env::temp_dir().join(format!("ktstr-adapter-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (package, name) in [
        ("ktstr-adapter-json-plugin", "a-json"),
        ("ktstr-adapter-example-kv", "b-kv"),
        ("ktstr-adapter-test-incompatible", "c-bad"),
    ] {
        let built = build_plugin(package, &[], &format!("dir-{name}"));
        std::fs::copy(built, dir.join(format!("{name}.so"))).unwrap();
    }
    std::fs::write(dir.join("README.txt"), "not a plugin, not loaded").unwrap();
    let mut registry = AdapterRegistry::new();
    let list = format!("{}:{}", dir.display(), dir.join("missing.so").display());
    let errors = registry.load_search_path(list.as_ref());
    let names: Vec<_> = registry
        .adapters()
        .map(|(info, _)| info.name.clone())
        .collect();
    assert_eq!(names, vec!["Json", "KeyValue"]);
    let failed: Vec<_> = errors
        .iter()
        .map(|e| e.path().file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(failed, vec!["c-bad.so", "missing.so"]);
    assert!(matches!(errors[0], PluginLoadError::Incompatible { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_shared_library_without_the_module_is_not_a_plugin() {
    let candidates = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
    ];
    let libm = candidates
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("every glibc system has libm.so.6 at one of these paths");
    let err = PluginAdapter::load(libm).unwrap_err();
    assert!(matches!(err, PluginLoadError::NotAPlugin { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("hint: export one with `ktstr_adapters::export_adapter!`"));
}
