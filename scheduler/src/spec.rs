//! `NAME[@VERSION]` values and the checks on names and versions.

use crate::SchedulerError;

/// A scheduler asked for by name: `scx_bpfland` or `scx_bpfland@1.1.4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerSpec {
    /// The name, always with the `scx_` prefix (`bpfland` becomes `scx_bpfland`).
    pub name: String,
    /// An exact version, if one was given.
    pub version: Option<String>,
}

impl std::str::FromStr for SchedulerSpec {
    type Err = SchedulerError;

    /// ```
    /// use ktstr_scheduler::SchedulerSpec;
    ///
    /// let s: SchedulerSpec = "bpfland@1.1.4".parse().unwrap();
    /// assert_eq!(s.name, "scx_bpfland");
    /// assert_eq!(s.version.as_deref(), Some("1.1.4"));
    /// assert!("scx_x@".parse::<SchedulerSpec>().is_err());
    /// ```
    fn from_str(spec: &str) -> Result<SchedulerSpec, SchedulerError> {
        let bad = |reason: String| SchedulerError::BadSpec {
            spec: spec.to_owned(),
            reason,
        };
        let (name, version) = match spec.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (spec, None),
        };
        check_name(name).map_err(bad)?;
        if let Some(v) = version {
            check_version(v).map_err(bad)?;
        }
        let name = if name.starts_with("scx_") {
            name.to_owned()
        } else {
            format!("scx_{name}")
        };
        Ok(SchedulerSpec {
            name,
            version: version.map(str::to_owned),
        })
    }
}

impl std::fmt::Display for SchedulerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}@{v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A crate or binary name: letters, digits, `-`, `_`, at most 64 characters.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".to_owned());
    }
    if name.len() > 64 {
        return Err("the name is longer than 64 characters".to_owned());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "`{name}` may only hold letters, digits, `-` and `_`"
        ));
    }
    Ok(())
}

/// An exact semver version: `MAJOR.MINOR.PATCH` with an optional
/// `-pre` / `+build` suffix.
pub(crate) fn check_version(version: &str) -> Result<(), String> {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let tail_ok = version[core.len()..]
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.'));
    if numeric && tail_ok {
        Ok(())
    } else {
        Err(format!("`{version}` is not an exact version like `1.1.4`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        let s: SchedulerSpec = "scx_lavd".parse().unwrap();
        assert_eq!((s.name.as_str(), s.version), ("scx_lavd", None));
        assert_eq!(
            "scx_rusty@1.1.0-rc.1"
                .parse::<SchedulerSpec>()
                .unwrap()
                .to_string(),
            "scx_rusty@1.1.0-rc.1"
        );
        for bad in [
            "",
            "@1.1.4",
            "scx_a@1.1",
            "scx_a@x.y.z",
            "scx a",
            "../x",
            "scx_a@1.2.3;rm",
        ] {
            let err = bad.parse::<SchedulerSpec>().unwrap_err().to_string();
            assert!(err.contains("hint:"), "{bad}: {err}");
        }
    }
}
