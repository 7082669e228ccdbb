//! Leader election on a `coordination.k8s.io/v1` Lease, as client-go's
//! `leaderelection` does it: the holder renews `renewTime` every retry
//! period; a candidate takes the Lease over once it has seen the same
//! record unchanged for a whole lease duration (measured on its own clock,
//! so clock skew between candidates does not matter); a holder that cannot
//! renew within the renew deadline gives up leadership. Writes are guarded
//! by `resourceVersion`, so two candidates never both win.

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use std::time::Duration;
use tokio::time::Instant;

/// Timings, upstream's defaults for kube-scheduler and
/// kube-controller-manager.
#[derive(Debug, Clone)]
pub struct LeaderConfig {
    /// `leaseDurationSeconds`: how long others wait before taking over.
    pub lease_duration: Duration,
    /// How long a leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// Between attempts to acquire or renew.
    pub retry_period: Duration,
}

impl Default for LeaderConfig {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Why leadership ended.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The Lease could not be renewed within the renew deadline.
    #[error("leader election lost: Lease {0} not renewed within the renew deadline")]
    Lost(String),
}

/// A candidate for (and, once [`LeaderElector::acquire`] returns, the holder
/// of) one Lease.
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    config: LeaderConfig,
    /// The record last read and when it was first seen unchanged.
    observed: Option<(Lease, Instant)>,
}

impl LeaderElector {
    /// A candidate for Lease `namespace/name` under `identity` (unique per
    /// process, e.g. `hostname_uuid`).
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        identity: String,
        config: LeaderConfig,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity,
            config,
            observed: None,
        }
    }

    /// An identity as upstream builds it: the host name and a random suffix.
    pub fn default_identity() -> String {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into());
        let nanos = Timestamp::now().as_nanosecond();
        format!("{host}_{:x}{:x}", std::process::id(), nanos & 0xffff_ffff)
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Retries every retry period until this candidate holds the Lease.
    pub async fn acquire(&mut self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "acquired leadership");
                    return;
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::debug!(%error, lease = %self.name, "leader election attempt failed")
                }
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews every retry period; returns when a renewal has not succeeded
    /// within the renew deadline (leadership is lost: stop working).
    pub async fn hold(&mut self) -> LeaderError {
        let mut last_renewed = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => return LeaderError::Lost(self.name.clone()),
                Err(error) => {
                    tracing::warn!(%error, lease = %self.name, "renewing leadership failed")
                }
            }
            if last_renewed.elapsed() > self.config.renew_deadline {
                return LeaderError::Lost(self.name.clone());
            }
        }
    }

    /// Gives the Lease up (empty holder, 1 s duration) so a successor need
    /// not wait a whole lease duration, as upstream's `ReleaseOnCancel`.
    pub async fn release(&mut self) {
        let Some((mut lease, _)) = self.observed.take() else {
            return;
        };
        if holder(&lease) != Some(self.identity.as_str()) {
            return;
        }
        let spec = lease.spec.get_or_insert_with(Default::default);
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        let now = MicroTime(Timestamp::now());
        spec.renew_time = Some(now.clone());
        spec.acquire_time = Some(now);
        if let Err(error) = self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            tracing::debug!(%error, lease = %self.name, "releasing leadership failed");
        }
    }

    /// One round: `Ok(true)` when this candidate holds the Lease afterwards.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let current = match self.api.get_opt(&self.name).await? {
            Some(lease) => lease,
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..Default::default()
                    },
                    spec: Some(self.spec(None, now)),
                };
                return match self.api.create(&PostParams::default(), &lease).await {
                    Ok(created) => {
                        self.observed = Some((created, Instant::now()));
                        Ok(true)
                    }
                    Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                    Err(error) => Err(error),
                };
            }
        };
        // Remember when this exact record was first seen.
        let seen_at = match &self.observed {
            Some((old, at)) if same_record(old, &current) => *at,
            _ => Instant::now(),
        };
        self.observed = Some((current.clone(), seen_at));
        let held_by_me = holder(&current) == Some(self.identity.as_str());
        let duration = current
            .spec
            .as_ref()
            .and_then(|s| s.lease_duration_seconds)
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or(self.config.lease_duration);
        let vacant = holder(&current).is_none_or(str::is_empty);
        if !held_by_me && !vacant && seen_at.elapsed() < duration {
            return Ok(false);
        }
        let mut next = current.clone();
        next.spec = Some(self.spec(Some(&current), now));
        match self
            .api
            .replace(&self.name, &PostParams::default(), &next)
            .await
        {
            Ok(updated) => {
                self.observed = Some((updated, Instant::now()));
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The spec this candidate writes over `current`.
    fn spec(&self, current: Option<&Lease>, now: Timestamp) -> LeaseSpec {
        let old = current.and_then(|l| l.spec.clone()).unwrap_or_default();
        let mine = old.holder_identity.as_deref() == Some(self.identity.as_str());
        let transitions = old.lease_transitions.unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.config.lease_duration.as_secs() as i32),
            acquire_time: if mine {
                old.acquire_time.clone()
            } else {
                Some(MicroTime(now))
            },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(if mine || current.is_none() {
                transitions
            } else {
                transitions + 1
            }),
            ..old
        }
    }
}

fn holder(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref()?.holder_identity.as_deref()
}

fn same_record(a: &Lease, b: &Lease) -> bool {
    a.metadata.resource_version == b.metadata.resource_version
}
