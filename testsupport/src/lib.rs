//! A `harness = false` test binary's `main` for tests with needs: each test
//! names the checks that say why it cannot run here (no cached kernel, no
//! QEMU, no KVM, a tool not installed). A test whose needs are not met is
//! listed as ignored (`cargo test` and nextest show it as such), its reason
//! goes to standard error, and running it anyway (`--ignored`) fails with the
//! reason. It never counts as passed.
//!
//! ```no_run
//! fn needs_tool() -> Option<String> {
//!     (!std::path::Path::new("/usr/bin/iasl").exists()).then(|| "iasl is not installed".into())
//! }
//! fn disassembles() { /* ... */ }
//! fn parses() {}
//!
//! fn main() {
//!     ktstr_test_support::main(ktstr_test_support::cases![
//!         [needs_tool] disassembles,
//!         [] parses,
//!     ]);
//! }
//! ```

/// A test and what it needs.
pub struct Case {
    /// The test's name.
    pub name: &'static str,
    /// Each returns why the test cannot run here, or `None`.
    pub needs: &'static [fn() -> Option<String>],
    /// The test; it panics to fail.
    pub run: fn(),
}

/// Runs `cases` with libtest-mimic (see the crate documentation).
pub fn main(cases: Vec<Case>) -> ! {
    let args = libtest_mimic::Arguments::from_args();
    let trials = cases
        .into_iter()
        .map(|case| {
            let reason = case.needs.iter().find_map(|need| need());
            if let (Some(r), false) = (&reason, args.list) {
                eprintln!("skipping {}: {r}", case.name);
            }
            let ignored = reason.is_some();
            libtest_mimic::Trial::test(case.name, move || match reason {
                Some(r) => Err(format!("cannot run here: {r}").into()),
                None => {
                    (case.run)();
                    Ok(())
                }
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

/// `cases![[need, ...] test_fn, ...]`: the [`Case`] list of a test binary.
#[macro_export]
macro_rules! cases {
    ($( [$($need:expr),*] $name:ident ),* $(,)?) => {
        vec![$( $crate::Case { name: stringify!($name), needs: &[$($need),*], run: $name } ),*]
    };
}
