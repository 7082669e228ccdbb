//! The user's kubeconfig: adding a cluster's context as `bosun-<name>` (and
//! making it current), and removing it again, as kind does.
//!
//! Files are parsed and rendered with kube's [`Kubeconfig`], which keeps
//! fields it does not model, so merging never drops anything the user had.
//! Writers hold `<file>.lock` (created exclusively, as client-go's kubectl
//! does) and replace the file atomically with the same permissions (0600
//! for a new one).

use crate::error::{Error, Result};
use kube::config::{Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for another writer's lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The context, cluster and user name of cluster `name`.
pub fn context_name(name: &str) -> String {
    format!("bosun-{name}")
}

fn invalid(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Kubeconfig {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// Reads and parses a kubeconfig; a missing or empty file is an empty one.
pub fn read(path: &Path) -> Result<Kubeconfig> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    // `from_yaml`, unlike `read_from`, leaves relative file references as
    // they are, so writing the file back does not rewrite them.
    Kubeconfig::from_yaml(&text).map_err(|e| invalid(path, e))
}

/// Renders a kubeconfig as YAML the way kubectl writes one: keys sorted
/// (through a JSON value, as kubectl's JSON-to-YAML conversion sorts them)
/// and long values such as certificates as plain one-line scalars.
pub fn render(config: &Kubeconfig, path: &Path) -> Result<String> {
    let value =
        serde_json::to_value(config).map_err(|e| invalid(path, format!("rendering: {e}")))?;
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    serde_saphyr::to_string_with_options(&value, options)
        .map_err(|e| invalid(path, format!("rendering YAML: {e}")))
}

/// The current context's cluster, user and context from `admin` (the
/// kubeconfig the apiserver writes), renamed to `name`, with `name` current.
pub fn renamed(admin: &Kubeconfig, name: &str, path: &Path) -> Result<Kubeconfig> {
    let context = admin
        .current_context
        .as_deref()
        .and_then(|current| admin.contexts.iter().find(|c| c.name == current))
        .or_else(|| admin.contexts.first())
        .ok_or_else(|| invalid(path, "no context"))?;
    let inner = context
        .context
        .clone()
        .ok_or_else(|| invalid(path, "context without a cluster"))?;
    let cluster = admin
        .clusters
        .iter()
        .find(|c| c.name == inner.cluster)
        .ok_or_else(|| invalid(path, format!("no cluster {:?}", inner.cluster)))?;
    let user_name = inner.user.clone().unwrap_or_default();
    let user = admin
        .auth_infos
        .iter()
        .find(|u| u.name == user_name)
        .ok_or_else(|| invalid(path, format!("no user {user_name:?}")))?;
    let mut inner = inner;
    inner.cluster = name.to_owned();
    inner.user = Some(name.to_owned());
    Ok(Kubeconfig {
        clusters: vec![NamedCluster {
            name: name.to_owned(),
            ..cluster.clone()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: name.to_owned(),
            ..user.clone()
        }],
        contexts: vec![NamedContext {
            name: name.to_owned(),
            context: Some(inner),
            ..context.clone()
        }],
        current_context: Some(name.to_owned()),
        kind: Some("Config".to_owned()),
        api_version: Some("v1".to_owned()),
        ..Kubeconfig::default()
    })
}

/// Holds `<file>.lock` while a kubeconfig is rewritten.
struct Lock(PathBuf);

impl Lock {
    fn acquire(path: &Path) -> Result<Self> {
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(_) => return Ok(Self(lock)),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    if Instant::now() >= deadline {
                        return Err(invalid(
                            path,
                            format!("locked by {} (remove it if stale)", lock.display()),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(source) => return Err(Error::Io { path: lock, source }),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The file to really write: a symlinked kubeconfig is updated where the
/// link points, not replaced by a file.
fn resolve(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// Writes `contents` to `path` atomically, keeping its permissions (0600
/// for a new file, since kubeconfigs hold credentials).
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mode = std::fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    let file_name = path
        .file_name()
        .map_or_else(|| "kubeconfig".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{file_name}.bosun-{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    };
    if let Err(source) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io { path: tmp, source });
    }
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}

/// Merges `entries` (as made by [`renamed`]) into the kubeconfig at `path`,
/// replacing same-named clusters, users and contexts, and makes its context
/// current. The file is created when missing.
pub fn merge_into(path: &Path, entries: &Kubeconfig) -> Result<()> {
    let path = resolve(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    }
    let _lock = Lock::acquire(&path)?;
    let mut config = read(&path)?;
    for cluster in &entries.clusters {
        config.clusters.retain(|c| c.name != cluster.name);
        config.clusters.push(cluster.clone());
    }
    for user in &entries.auth_infos {
        config.auth_infos.retain(|u| u.name != user.name);
        config.auth_infos.push(user.clone());
    }
    for context in &entries.contexts {
        config.contexts.retain(|c| c.name != context.name);
        config.contexts.push(context.clone());
    }
    if entries.current_context.is_some() {
        config.current_context.clone_from(&entries.current_context);
    }
    config.api_version.get_or_insert_with(|| "v1".to_owned());
    config.kind.get_or_insert_with(|| "Config".to_owned());
    write_atomic(&path, &render(&config, &path)?)
}

/// Removes the cluster, user and context called `name` from the kubeconfig
/// at `path`, and unsets the current context if it was that one. Returns
/// whether anything was removed; a missing file is left missing.
pub fn remove_from(path: &Path, name: &str) -> Result<bool> {
    let path = resolve(path);
    if !path.exists() {
        return Ok(false);
    }
    let _lock = Lock::acquire(&path)?;
    let mut config = read(&path)?;
    let before = config.clusters.len() + config.auth_infos.len() + config.contexts.len();
    config.clusters.retain(|c| c.name != name);
    config.auth_infos.retain(|u| u.name != name);
    config.contexts.retain(|c| c.name != name);
    let after = config.clusters.len() + config.auth_infos.len() + config.contexts.len();
    let was_current = config.current_context.as_deref() == Some(name);
    if was_current {
        config.current_context = None;
    }
    if before == after && !was_current {
        return Ok(false);
    }
    write_atomic(&path, &render(&config, &path)?)?;
    Ok(true)
}

/// The API server URL of `config`'s current context.
pub fn server_url(config: &Kubeconfig) -> Option<String> {
    let current = config.current_context.as_deref()?;
    let context = config.contexts.iter().find(|c| c.name == current)?;
    let cluster_name = &context.context.as_ref()?.cluster;
    let cluster = config.clusters.iter().find(|c| &c.name == cluster_name)?;
    cluster.cluster.as_ref()?.server.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: bosun\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: Q0E=\nusers:\n- name: bosun-admin\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\ncontexts:\n- name: bosun\n  context:\n    cluster: bosun\n    user: bosun-admin\ncurrent-context: bosun\npreferences: {}\n";

    const USERS: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://prod.example:443\n    certificate-authority: ca.crt\n    some-future-field: kept\ncontexts:\n- name: prod\n  context:\n    cluster: prod\n    user: me\n    namespace: web\ncurrent-context: prod\nusers:\n- name: me\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: get-token\n      args: [--fast]\n      interactiveMode: Never\npreferences: {}\nextensions:\n- name: mine\n  extension: {a: 1}\n";

    #[test]
    fn merge_then_remove_keeps_everything_else() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config");
        std::fs::write(&path, USERS).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let admin = Kubeconfig::from_yaml(ADMIN).expect("admin");
        let entries = renamed(&admin, "bosun-dev", &path).expect("rename");
        merge_into(&path, &entries).expect("merge");
        // Twice: replaced, not duplicated.
        merge_into(&path, &entries).expect("merge again");

        let merged = read(&path).expect("read");
        assert_eq!(merged.current_context.as_deref(), Some("bosun-dev"));
        assert_eq!(merged.clusters.len(), 2);
        assert_eq!(merged.auth_infos.len(), 2);
        assert_eq!(merged.contexts.len(), 2);
        assert_eq!(
            server_url(&merged).as_deref(),
            Some("https://127.0.0.1:6443")
        );
        let text = std::fs::read_to_string(&path).expect("read");
        for kept in [
            "some-future-field: kept",
            "certificate-authority: ca.crt",
            "namespace: web",
            "command: get-token",
            "interactiveMode: Never",
            "client-key-data: S0VZ",
            "name: mine",
        ] {
            assert!(text.contains(kept), "{kept} lost:\n{text}");
        }
        assert!(!text.contains("bosun-admin"), "{text}");
        assert!(text.starts_with("apiVersion: v1\nclusters:\n"), "{text}");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "mode kept");

        assert!(remove_from(&path, "bosun-dev").expect("remove"));
        assert!(!remove_from(&path, "bosun-dev").expect("remove again"));
        let after = read(&path).expect("read");
        assert_eq!(after.current_context, None);
        assert_eq!(after.clusters.len(), 1);
        assert_eq!(after.clusters[0].name, "prod");
        assert_eq!(after.contexts[0].name, "prod");
        assert_eq!(after.auth_infos[0].name, "me");
        assert!(!dir.path().join("config.lock").exists());
    }

    #[test]
    fn new_file_is_private_and_complete() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub/kubeconfig");
        let admin = Kubeconfig::from_yaml(ADMIN).expect("admin");
        merge_into(&path, &renamed(&admin, "bosun-x", &path).expect("rename")).expect("merge");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let written = read(&path).expect("read");
        assert_eq!(written.api_version.as_deref(), Some("v1"));
        assert_eq!(written.kind.as_deref(), Some("Config"));
        assert_eq!(written.current_context.as_deref(), Some("bosun-x"));
        let user = written.auth_infos[0].auth_info.as_ref().expect("user");
        assert_eq!(user.client_certificate_data.as_deref(), Some("Q0VSVA=="));
        // Removing from a missing file leaves it missing.
        assert!(!remove_from(&dir.path().join("none"), "bosun-x").expect("remove"));
        assert!(!dir.path().join("none").exists());
    }

    #[test]
    fn symlinked_config_is_updated_in_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().join("real");
        let link = dir.path().join("link");
        std::fs::write(&real, USERS).expect("write");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let admin = Kubeconfig::from_yaml(ADMIN).expect("admin");
        merge_into(&link, &renamed(&admin, "bosun-l", &link).expect("rename")).expect("merge");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::read_to_string(&real)
                .expect("read")
                .contains("bosun-l")
        );
    }
}
