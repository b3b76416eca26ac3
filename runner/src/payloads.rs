//! Payload binaries on the host: where they are and where they go in the guest.

use std::path::{Path, PathBuf};

use ktstr_model::Scenario;

use crate::RunError;

/// Resolves every payload's binary on the host (absolute path, or `PATH`
/// lookup), rewrites the scenario to the absolute path (the guest has no
/// `PATH` search of its own) and returns the (host, guest) pairs to pack.
pub(crate) fn resolve(scenario: &mut Scenario) -> Result<Vec<(PathBuf, String)>, RunError> {
    let mut out = Vec::new();
    for p in &mut scenario.payloads {
        let host = find(&p.binary).ok_or_else(|| RunError::PayloadBinaryMissing {
            payload: p.name.clone(),
            binary: p.binary.clone(),
        })?;
        let guest = host.to_string_lossy().into_owned();
        p.binary = guest.clone();
        out.push((host, guest));
    }
    Ok(out)
}

fn find(binary: &str) -> Option<PathBuf> {
    if binary.contains('/') {
        let p = Path::new(binary);
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(binary))
        .find(|p| p.is_file())
}
