//! Where things are: data directories, the default kubeconfig and the
//! component binaries.

use crate::error::{Error, Result};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// Checks a cluster name: it becomes part of paths and of the context name,
/// so it is held to DNS-label rules, as kind's are.
pub fn validate_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| ok_char(c) || c == '-')
        && name.starts_with(ok_char)
        && name.ends_with(ok_char);
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_owned()))
    }
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
}

fn home() -> Result<PathBuf> {
    env_path("HOME").ok_or(Error::NoHome)
}

/// The default data directory of cluster `name`: `$XDG_DATA_HOME/bosun/<name>`
/// when that variable is set, else `~/.bosun/<name>`.
pub fn default_data_dir(name: &str) -> Result<PathBuf> {
    match env_path("XDG_DATA_HOME") {
        Some(base) => Ok(base.join("bosun").join(name)),
        None => Ok(home()?.join(".bosun").join(name)),
    }
}

/// The data directory a command means: `--data-dir` (made absolute, since
/// it is recorded and handed to background processes) or the default.
pub fn data_dir(name: &str, given: Option<&Path>) -> Result<PathBuf> {
    match given {
        Some(dir) if dir.is_absolute() => Ok(dir.to_owned()),
        Some(dir) => {
            let cwd = std::env::current_dir().map_err(Error::io("."))?;
            Ok(cwd.join(dir))
        }
        None => default_data_dir(name),
    }
}

/// The kubeconfig `up` merges into without `--kubeconfig`, as kubectl and
/// kind choose it: the first path in `$KUBECONFIG`, else `~/.kube/config`.
pub fn default_kubeconfig() -> Result<PathBuf> {
    if let Some(list) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty())
    {
        return absolute(&first);
    }
    Ok(home()?.join(".kube").join("config"))
}

/// `path` made absolute against the current directory.
pub fn absolute(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_owned())
    } else {
        let cwd = std::env::current_dir().map_err(Error::io("."))?;
        Ok(cwd.join(path))
    }
}

/// The files inside a cluster's data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The data directory itself.
    pub root: PathBuf,
}

impl Layout {
    /// The layout of data directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `cluster.json`: what `up` started.
    pub fn record(&self) -> PathBuf {
        self.root.join("cluster.json")
    }

    /// The directory of the components' logs.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The node simulator's `--control-dir` (stop files of stopped nodes).
    pub fn node_control(&self) -> PathBuf {
        self.root.join("nodes")
    }

    /// The log file of `component`.
    pub fn log(&self, component: &str) -> PathBuf {
        self.logs().join(format!("{component}.log"))
    }

    /// The apiserver's `--data-dir`: embedded store and certificates.
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// The admin kubeconfig the apiserver writes, which the other
    /// components are given.
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The directories searched for component binaries, in order: `bin_dir`,
/// the directory of the running executable (and, when that is cargo's
/// `deps/`, its parent, so tests and benches find the workspace's binaries),
/// then `PATH`.
pub fn search_dirs(bin_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    dirs.extend(bin_dir.map(Path::to_path_buf));
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        dirs.push(dir.to_owned());
        if dir.file_name() == Some("deps".as_ref())
            && let Some(parent) = dir.parent()
        {
            dirs.push(parent.to_owned());
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    dirs.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
    dirs
}

/// Finds binary `name` in [`search_dirs`].
pub fn find_binary(name: &str, bin_dir: Option<&Path>) -> Option<PathBuf> {
    search_dirs(bin_dir)
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
        .map(|found| found.canonicalize().unwrap_or(found))
}

/// Like [`find_binary`], but a missing binary is an error naming where it
/// was looked for.
pub fn require_binary(name: &str, bin_dir: Option<&Path>) -> Result<PathBuf> {
    find_binary(name, bin_dir).ok_or_else(|| {
        let dirs = search_dirs(bin_dir);
        let shown: Vec<String> = dirs
            .iter()
            .take(3)
            .map(|d| d.display().to_string())
            .collect();
        Error::BinaryNotFound {
            binary: name.to_owned(),
            searched: if dirs.len() > 3 {
                format!("{} and PATH", shown.join(", "))
            } else {
                shown.join(", ")
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["bosun", "a", "dev-1", "x9"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a/b", "..", &"a".repeat(64)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn finds_binaries_on_path() {
        assert!(find_binary("sh", None).is_some());
        assert!(find_binary("bosun-no-such-binary", None).is_none());
        let err = require_binary("bosun-no-such-binary", None).expect_err("missing");
        assert!(err.to_string().contains("bosun-no-such-binary"), "{err}");
    }

    #[test]
    fn bin_dir_comes_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = dir.path().join("sh");
        std::fs::write(&fake, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let found = find_binary("sh", Some(dir.path())).expect("found");
        assert_eq!(found, fake.canonicalize().expect("canonical"));
    }

    #[test]
    fn relative_data_dir_is_made_absolute() {
        let dir = data_dir("x", Some(Path::new("rel/dir"))).expect("data dir");
        assert!(dir.is_absolute());
        assert!(dir.ends_with("rel/dir"));
    }
}
