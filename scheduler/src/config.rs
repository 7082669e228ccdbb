//! Command-line flags and the `--config` file (a subset of upstream's
//! `KubeSchedulerConfiguration`).

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `bosun-scheduler`'s flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "bosun-scheduler",
    version,
    about = "Binds pending pods to nodes."
)]
pub struct Config {
    /// Kubeconfig of the cluster (default: $KUBECONFIG, ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Pods whose `spec.schedulerName` is this are scheduled by this process.
    #[arg(long, default_value = "default-scheduler")]
    pub scheduler_name: String,
    /// Only the holder of the Lease `kube-system/kube-scheduler` schedules.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub leader_elect: bool,
    /// A `KubeSchedulerConfiguration` file (YAML or JSON).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where `/livez`, `/readyz` and `/metrics` are served (plain HTTP);
    /// port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:10259")]
    pub healthz_bind_address: SocketAddr,
    /// Bindings in flight at once (below the apiserver's default 200
    /// mutating requests in flight, so bindings are not refused with 429).
    #[arg(long, default_value_t = 128)]
    pub parallel_binds: usize,
}

impl Config {
    /// Flags for `kubeconfig` with defaults otherwise (health on a free port).
    pub fn new(kubeconfig: Option<PathBuf>) -> Self {
        Self {
            kubeconfig,
            scheduler_name: "default-scheduler".into(),
            leader_elect: false,
            config: None,
            healthz_bind_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            parallel_binds: 128,
        }
    }
}

/// Why the configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable file.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a valid `KubeSchedulerConfiguration`.
    #[error("parsing {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The parts of `KubeSchedulerConfiguration` (`kubescheduler.config.k8s.io/v1`)
/// this scheduler honours.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileConfig {
    /// `apiVersion`.
    pub api_version: Option<String>,
    /// `kind`.
    pub kind: Option<String>,
    /// `percentageOfNodesToScore` (0 = adaptive).
    pub percentage_of_nodes_to_score: Option<i32>,
    /// `profiles`: the first one whose scheduler name matches is used.
    #[serde(default)]
    pub profiles: Vec<Profile>,
}

/// One scheduling profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// `schedulerName`.
    pub scheduler_name: Option<String>,
    /// `pluginConfig`.
    #[serde(default)]
    pub plugin_config: Vec<PluginConfig>,
}

/// Arguments of one plugin.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginConfig {
    /// Plugin name, e.g. `NodeResourcesFit`.
    pub name: String,
    /// Its arguments.
    #[serde(default)]
    pub args: serde_json::Value,
}

/// `NodeResourcesFitArgs.scoringStrategy`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScoringStrategy {
    /// `LeastAllocated` (default), `MostAllocated`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Resources and their weights.
    #[serde(default)]
    pub resources: Vec<ResourceWeight>,
}

/// One resource of a scoring strategy.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ResourceWeight {
    /// Resource name, e.g. `cpu`.
    pub name: String,
    /// Weight (default 1).
    #[serde(default = "one")]
    pub weight: i64,
}

fn one() -> i64 {
    1
}

impl FileConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses a configuration document (YAML, of which JSON is a subset).
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: FileConfig = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        if let Some(kind) = &config.kind
            && kind != "KubeSchedulerConfiguration"
        {
            return Err(format!("kind {kind:?} is not KubeSchedulerConfiguration"));
        }
        if let Some(p) = config.percentage_of_nodes_to_score
            && !(0..=100).contains(&p)
        {
            return Err(format!(
                "percentageOfNodesToScore: Invalid value: {p}: not in valid range [0-100]"
            ));
        }
        Ok(config)
    }

    /// The profile for `scheduler_name` (the first profile without a name
    /// stands for `default-scheduler`).
    pub fn profile(&self, scheduler_name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.scheduler_name.as_deref().unwrap_or("default-scheduler") == scheduler_name)
    }

    /// `VolumeBinding`'s `bindTimeoutSeconds` in the profile, if configured.
    pub fn bind_timeout_seconds(&self, scheduler_name: &str) -> Result<Option<u64>, String> {
        let Some(value) = self
            .profile(scheduler_name)
            .and_then(|p| p.plugin_config.iter().find(|p| p.name == "VolumeBinding"))
            .and_then(|p| p.args.get("bindTimeoutSeconds"))
        else {
            return Ok(None);
        };
        match value.as_i64() {
            Some(seconds) if seconds >= 0 => Ok(u64::try_from(seconds).ok()),
            Some(_) => Err(
                "VolumeBinding: bindTimeoutSeconds: Invalid value: invalid BindTimeoutSeconds, should not be a negative value"
                    .to_owned(),
            ),
            None => Err(format!(
                "VolumeBinding: bindTimeoutSeconds: Invalid value: {value}: not an integer"
            )),
        }
    }

    /// `NodeResourcesFit`'s scoring strategy in the profile, if configured.
    pub fn scoring_strategy(
        &self,
        scheduler_name: &str,
    ) -> Result<Option<ScoringStrategy>, String> {
        let Some(profile) = self.profile(scheduler_name) else {
            return Ok(None);
        };
        let Some(args) = profile
            .plugin_config
            .iter()
            .find(|p| p.name == "NodeResourcesFit")
            .and_then(|p| p.args.get("scoringStrategy"))
        else {
            return Ok(None);
        };
        let strategy: ScoringStrategy =
            serde_json::from_value(args.clone()).map_err(|e| format!("NodeResourcesFit: {e}"))?;
        match strategy.kind.as_deref() {
            None | Some("LeastAllocated") | Some("MostAllocated") => Ok(Some(strategy)),
            Some(other) => Err(format!(
                "NodeResourcesFit: scoringStrategy.type: Unsupported value: {other:?}: supported values: \"LeastAllocated\", \"MostAllocated\""
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_upstream_shaped_configuration() {
        let config = FileConfig::parse(
            "apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
        - name: cpu
          weight: 2
        - name: memory
",
        )
        .expect("parse");
        assert_eq!(config.percentage_of_nodes_to_score, Some(30));
        let strategy = config
            .scoring_strategy("default-scheduler")
            .expect("valid")
            .expect("set");
        assert_eq!(strategy.kind.as_deref(), Some("MostAllocated"));
        assert_eq!(strategy.resources[0].weight, 2);
        assert_eq!(strategy.resources[1].weight, 1);
        assert!(config.scoring_strategy("other").expect("valid").is_none());
        assert_eq!(config.bind_timeout_seconds("default-scheduler"), Ok(None));
    }

    #[test]
    fn volume_binding_takes_its_bind_timeout() {
        let config = FileConfig::parse(
            "profiles:\n- pluginConfig:\n  - name: VolumeBinding\n    args: {bindTimeoutSeconds: 30}\n",
        )
        .expect("parse");
        assert_eq!(
            config.bind_timeout_seconds("default-scheduler"),
            Ok(Some(30))
        );
        let negative = FileConfig::parse(
            "profiles:\n- pluginConfig:\n  - name: VolumeBinding\n    args: {bindTimeoutSeconds: -1}\n",
        )
        .expect("parse");
        assert!(negative.bind_timeout_seconds("default-scheduler").is_err());
    }

    #[test]
    fn refuses_bad_values() {
        assert!(FileConfig::parse("kind: Pod").is_err());
        assert!(FileConfig::parse("percentageOfNodesToScore: 120").is_err());
        let bad = FileConfig::parse(
            "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: Fancy}}\n",
        )
        .expect("parse");
        assert!(bad.scoring_strategy("default-scheduler").is_err());
    }
}
