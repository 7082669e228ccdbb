//! The plugin pipeline: filter statuses, the per-pod cycle state computed once
//! (upstream's PreFilter/PreScore), the filter chain in upstream's order (with
//! the nominated pods a node is expecting), the weighted scoring, and the
//! `FitError` diagnosis with upstream's message.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Toleration};

use super::config::Config;
use super::node_info::NodeInfo;
use super::nominator::CountedNominations;
use super::plugins::balanced_allocation::BalancedScorer;
use super::plugins::node_affinity::{self, NodeAffinityState};
use super::plugins::node_resources_fit::{self, FitScorer, IgnoredResources};
use super::plugins::normalize::{MAX_NODE_SCORE, default_normalize_score};
use super::plugins::pod_topology_spread::{self as pts, Inclusion, SpreadConstraint};
use super::plugins::volume_binding::{self, VolumeBindingState};
use super::plugins::{
    inter_pod_affinity as ipa, node_name, node_ports, node_unschedulable, taint_toleration,
};
use super::pod_info::{PodFacts, PodInfo};
use super::preemption::PreemptionError;
use super::snapshot::Snapshot;

/// How a node rejected a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// Rejected, but removing pods (preemption) may help.
    Unschedulable,
    /// Rejected for reasons preemption cannot fix.
    UnschedulableAndUnresolvable,
}

/// A filter verdict for one node: a code, the reasons shown to users, and the
/// plugin that decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Resolvable or not.
    pub code: Code,
    /// Reasons (upstream's strings), counted in the [`FitError`] message.
    pub reasons: Vec<Cow<'static, str>>,
    /// The plugin that rejected the node.
    pub plugin: &'static str,
}

impl Status {
    /// A resolvable rejection.
    pub fn unschedulable(plugin: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        Status {
            code: Code::Unschedulable,
            reasons: vec![reason.into()],
            plugin,
        }
    }

    /// An unresolvable rejection.
    pub fn unresolvable(plugin: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        Status {
            code: Code::UnschedulableAndUnresolvable,
            reasons: vec![reason.into()],
            plugin,
        }
    }
}

/// Why the nodes were rejected, per node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnosis {
    /// Explicit verdicts by node name.
    pub node_to_status: Vec<(String, Status)>,
    /// The verdict for every node not listed in `node_to_status`.
    pub absent_nodes_status: Option<Status>,
    /// A message from pre-filtering (pod-level rejection); replaces the per-node reasons.
    pub pre_filter_msg: Option<String>,
    /// A message from post-filtering (preemption), appended verbatim.
    pub post_filter_msg: Option<String>,
}

impl Diagnosis {
    /// The verdict for `node` (explicit, else the absent-nodes verdict).
    pub fn status_of(&self, node: &str) -> Option<&Status> {
        self.node_to_status
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, s)| s)
            .or(self.absent_nodes_status.as_ref())
    }
}

/// The pod fits no node. Displays exactly like upstream's `FitError.Error()`:
/// `0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.`
/// followed by the post-filter (preemption) message when one was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitError {
    /// Number of nodes in the snapshot.
    pub num_all_nodes: usize,
    /// Per-node verdicts (boxed to keep `Result`s small).
    pub diagnosis: Box<Diagnosis>,
    /// Where the next cycle should start scanning nodes.
    pub next_start_index: usize,
}

/// Upstream's message when the snapshot has no node.
pub const NO_NODES_AVAILABLE: &str = "no nodes available to schedule pods";

impl FitError {
    /// Records a failed preemption so the message ends with
    /// `preemption: 0/3 nodes are available: ...`, as upstream reports it.
    pub fn record_preemption_failure(&mut self, err: &PreemptionError) {
        self.diagnosis.post_filter_msg = Some(err.to_string());
    }

    /// Per-reason node counts, as used in the message.
    pub fn reason_counts(&self) -> BTreeMap<String, usize> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (_, st) in &self.diagnosis.node_to_status {
            for r in &st.reasons {
                *counts.entry(r.to_string()).or_insert(0) += 1;
            }
        }
        let explicit = self.diagnosis.node_to_status.len();
        if explicit < self.num_all_nodes
            && let Some(st) = &self.diagnosis.absent_nodes_status
        {
            for r in &st.reasons {
                *counts.entry(r.to_string()).or_insert(0) += self.num_all_nodes - explicit;
            }
        }
        counts
    }
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num_all_nodes == 0 && self.diagnosis.pre_filter_msg.is_none() {
            return f.write_str(NO_NODES_AVAILABLE);
        }
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        match &self.diagnosis.pre_filter_msg {
            Some(msg) => write!(f, " {msg}.")?,
            None => {
                let mut parts: Vec<String> = self
                    .reason_counts()
                    .into_iter()
                    .map(|(reason, n)| format!("{n} {reason}"))
                    .collect();
                parts.sort();
                if !parts.is_empty() {
                    write!(f, " {}.", parts.join(", "))?;
                }
            }
        }
        if let Some(msg) = &self.diagnosis.post_filter_msg {
            write!(f, " {msg}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FitError {}

/// Pseudo-plugin rejecting nodes whose own object is unusable.
pub const NODE_VALIDITY: &str = "NodeValidity";
/// Reason for nodes whose allocatable cannot be parsed.
pub const ERR_REASON_INVALID_NODE: &str = "node(s) had unparseable allocatable resources";
/// Pseudo-plugin for pod-level rejections found before filtering.
pub const POD_VALIDITY: &str = "PodValidity";

/// The parts of the cycle state that preemption mutates per candidate node.
#[derive(Clone, Debug, Default)]
pub(crate) struct DynamicState {
    pub(crate) spread: Option<pts::FilterState>,
    pub(crate) affinity: Option<ipa::FilterState>,
}

/// Everything computed once per pod before looking at nodes.
pub(crate) struct CycleState<'a> {
    pub(crate) pod: &'a Pod,
    pub(crate) facts: PodFacts,
    pub(crate) tolerations: &'a [Toleration],
    pub(crate) node_affinity: NodeAffinityState,
    pub(crate) ignored: IgnoredResources,
    pub(crate) soft_spread: (Vec<SpreadConstraint>, bool),
    /// VolumeBinding's claims; `None` for pods without claims.
    pub(crate) volumes: Option<VolumeBindingState>,
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) config: &'a Config,
    /// The nominated pods this pod must leave room for; `None` when there
    /// are none, so that filtering does no extra work per node.
    pub(crate) nominated: Option<CountedNominations<'a>>,
}

impl<'a> CycleState<'a> {
    /// Upstream's PreFilter phase. An `Err` is a pod-level rejection message
    /// (invalid spec, conflicting terms) that applies to every node.
    pub(crate) fn prefilter(
        pod: &'a Pod,
        snapshot: &'a Snapshot,
        config: &'a Config,
    ) -> Result<(Self, DynamicState), String> {
        let facts = PodFacts::new(pod);
        if let Some(problem) = facts.problems.first() {
            return Err(format!("invalid pod: {problem}"));
        }
        let tolerations = pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or(&[]);
        taint_toleration::validate_tolerations(tolerations)
            .map_err(|e| format!("invalid pod: {e}"))?;
        let node_affinity = node_affinity::prefilter(pod).map_err(|e| {
            if e == node_affinity::ERR_REASON_CONFLICT {
                e
            } else {
                format!("invalid pod: {e}")
            }
        })?;
        let volumes = volume_binding::prefilter(pod, snapshot.volumes())?;
        let invalid = |e: String| format!("invalid pod: {e}");
        let (hard, _) =
            pts::constraints_for(pod, snapshot, config, pts::DO_NOT_SCHEDULE).map_err(invalid)?;
        let soft_spread =
            pts::constraints_for(pod, snapshot, config, pts::SCHEDULE_ANYWAY).map_err(invalid)?;
        let inclusion = Inclusion {
            required: &node_affinity.required,
            tolerations,
        };
        let spread = pts::FilterState::new(pod, hard, inclusion, snapshot);
        let affinity = ipa::FilterState::new(pod, &facts, snapshot);
        let nominated = CountedNominations::new(snapshot, &facts);
        Ok((
            CycleState {
                pod,
                facts,
                tolerations,
                node_affinity,
                ignored: IgnoredResources::from_config(config),
                soft_spread,
                volumes,
                snapshot,
                config,
                nominated,
            },
            DynamicState { spread, affinity },
        ))
    }

    /// Runs the filters in upstream's order and returns the first rejection.
    pub(crate) fn filter(&self, dynamic: &DynamicState, node: &NodeInfo) -> Option<Status> {
        if node.problem().is_some() {
            return Some(Status::unresolvable(NODE_VALIDITY, ERR_REASON_INVALID_NODE));
        }
        node_unschedulable::filter(self.tolerations, node)
            .or_else(|| node_name::filter(self.pod, node))
            .or_else(|| taint_toleration::filter(self.tolerations, node))
            .or_else(|| node_affinity::filter(&self.node_affinity, node))
            .or_else(|| node_ports::filter(&self.facts.host_ports, node))
            .or_else(|| {
                node_resources_fit::filter(&self.facts.resources.requested, &self.ignored, node)
            })
            .or_else(|| {
                self.volumes
                    .as_ref()
                    .and_then(|v| volume_binding::filter(v, node, self.snapshot.volumes()))
            })
            .or_else(|| {
                dynamic
                    .spread
                    .as_ref()
                    .and_then(|s| s.filter_at(self.pod, node, self.snapshot.position_of(node)))
            })
            .or_else(|| {
                dynamic.affinity.as_ref().and_then(|s| {
                    s.filter(
                        self.pod,
                        &self.facts,
                        node,
                        self.snapshot.namespace_labels(),
                    )
                })
            })
    }

    /// Upstream's `RunFilterPluginsWithNominatedPods`. On a node expecting
    /// nominated pods this pod must leave room for, the filters run first
    /// with those pods added to the node (resources, ports, pod count) and
    /// to the spreading and affinity counts; if the pod fits, they run again
    /// without them, since a nominated pod that satisfies this pod's
    /// affinity may never arrive. Elsewhere this is [`filter`](Self::filter).
    pub(crate) fn filter_with_nominated(
        &self,
        dynamic: &DynamicState,
        node: &NodeInfo,
    ) -> Option<Status> {
        let Some(nominated) = &self.nominated else {
            return self.filter(dynamic, node);
        };
        let mut pods = nominated.on(self.snapshot, node).peekable();
        if pods.peek().is_none() {
            return self.filter(dynamic, node);
        }
        let mut with_nominated = node.clone();
        let mut state = dynamic.clone();
        for p in pods {
            with_nominated.add_pod_info(Arc::clone(p));
            self.update_dynamic(&mut state, p, &with_nominated, 1);
        }
        self.filter(&state, &with_nominated)
            .or_else(|| self.filter(dynamic, node))
    }

    /// Preemption support: updates the dynamic state for `other` being added
    /// (`delta` 1) to or removed (-1) from `node`.
    pub(crate) fn update_dynamic(
        &self,
        dynamic: &mut DynamicState,
        other: &PodInfo,
        node: &NodeInfo,
        delta: i64,
    ) {
        if let Some(s) = dynamic.spread.as_mut() {
            let inclusion = Inclusion {
                required: &self.node_affinity.required,
                tolerations: self.tolerations,
            };
            s.update_with_pod(self.pod, inclusion, other, node, delta);
        }
        if let Some(s) = dynamic.affinity.as_mut() {
            s.update_with_pod(
                self.pod,
                &self.facts,
                other,
                node,
                delta,
                self.snapshot.namespace_labels(),
            );
        }
    }

    /// Upstream's PreScore + Score + NormalizeScore: the weighted total per
    /// feasible node.
    pub(crate) fn score(&self, feasible: &[&NodeInfo]) -> Vec<i64> {
        let w = &self.config.weights;
        let mut totals = vec![0i64; feasible.len()];
        let mut add = |weight: i64, scores: &[i64]| {
            for (t, s) in totals.iter_mut().zip(scores) {
                *t += weight * s;
            }
        };
        let mut raw = vec![0i64; feasible.len()];
        let fill = |raw: &mut Vec<i64>, f: &dyn Fn(usize, &NodeInfo) -> i64| {
            for (j, n) in feasible.iter().enumerate() {
                raw[j] = f(j, n);
            }
        };

        if w.taint_toleration != 0 {
            let prefer = taint_toleration::prefer_no_schedule_tolerations(self.tolerations);
            fill(&mut raw, &|_, n| taint_toleration::score(&prefer, n));
            default_normalize_score(MAX_NODE_SCORE, true, &mut raw);
            add(w.taint_toleration, &raw);
        }
        if w.node_affinity != 0 && !self.node_affinity.preferred.is_empty() {
            fill(&mut raw, &|_, n| {
                node_affinity::score(&self.node_affinity, n)
            });
            default_normalize_score(MAX_NODE_SCORE, false, &mut raw);
            add(w.node_affinity, &raw);
        }
        if w.node_resources_fit != 0 {
            let scorer = FitScorer::new(&self.config.scoring_strategy, &self.facts.resources);
            fill(&mut raw, &|_, n| scorer.score(n));
            add(w.node_resources_fit, &raw);
        }
        if w.balanced_allocation != 0
            && let Some(scorer) = BalancedScorer::new(
                &self.config.balanced_allocation_resources,
                &self.facts.resources,
            )
        {
            fill(&mut raw, &|_, n| scorer.score(n));
            add(w.balanced_allocation, &raw);
        }
        if w.pod_topology_spread != 0 {
            let inclusion = Inclusion {
                required: &self.node_affinity.required,
                tolerations: self.tolerations,
            };
            let (constraints, require_all) = &self.soft_spread;
            if let Some(state) = pts::ScoreState::new(
                self.pod,
                constraints.clone(),
                *require_all,
                inclusion,
                feasible,
                self.snapshot,
            ) {
                fill(&mut raw, &|j, n| state.score(j, n));
                state.normalize(&mut raw);
                add(w.pod_topology_spread, &raw);
            }
        }
        if w.inter_pod_affinity != 0
            && let Some(state) = ipa::ScoreState::new(
                self.pod,
                &self.facts,
                self.snapshot,
                self.config.hard_pod_affinity_weight,
            )
        {
            fill(&mut raw, &|_, n| state.score(n));
            ipa::ScoreState::normalize(&mut raw);
            add(w.inter_pod_affinity, &raw);
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit_error(statuses: &[(&str, Status)], n: usize) -> FitError {
        FitError {
            num_all_nodes: n,
            diagnosis: Box::new(Diagnosis {
                node_to_status: statuses
                    .iter()
                    .map(|(n, s)| ((*n).to_owned(), s.clone()))
                    .collect(),
                ..Default::default()
            }),
            next_start_index: 0,
        }
    }

    #[test]
    fn message_counts_and_sorts_reasons() {
        let cpu = Status::unschedulable("NodeResourcesFit", "Insufficient cpu");
        let e = fit_error(&[("a", cpu.clone()), ("b", cpu.clone()), ("c", cpu)], 3);
        assert_eq!(
            e.to_string(),
            "0/3 nodes are available: 3 Insufficient cpu."
        );
        let both = Status {
            code: Code::Unschedulable,
            reasons: vec!["Insufficient cpu".into(), "Insufficient memory".into()],
            plugin: "NodeResourcesFit",
        };
        let e = fit_error(
            &[
                ("a", both),
                (
                    "b",
                    Status::unresolvable("NodeUnschedulable", "node(s) were unschedulable"),
                ),
                (
                    "c",
                    Status::unresolvable("TaintToleration", "node(s) had untolerated taint(s)"),
                ),
            ],
            3,
        );
        assert_eq!(
            e.to_string(),
            "0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, \
             1 node(s) had untolerated taint(s), 1 node(s) were unschedulable."
        );
    }

    #[test]
    fn sorting_is_lexicographic_on_the_counted_strings() {
        // Upstream sorts "count reason" strings, so "10 x" sorts before "2 y".
        let mut statuses = Vec::new();
        let names: Vec<String> = (0..12).map(|i| format!("n{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            let reason = if i < 10 { "b reason" } else { "a reason" };
            statuses.push((n.as_str(), Status::unschedulable("x", reason)));
        }
        let e = fit_error(&statuses, 12);
        assert_eq!(
            e.to_string(),
            "0/12 nodes are available: 10 b reason, 2 a reason."
        );
    }

    #[test]
    fn absent_nodes_prefilter_and_postfilter() {
        let mut e = fit_error(
            &[(
                "a",
                Status::unschedulable("NodeResourcesFit", "Insufficient cpu"),
            )],
            4,
        );
        e.diagnosis.absent_nodes_status = Some(Status::unresolvable(
            "NodeAffinity",
            "node(s) didn't satisfy plugin(s) [NodeAffinity]",
        ));
        assert_eq!(
            e.to_string(),
            "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity]."
        );
        let mut e = fit_error(&[], 2);
        e.diagnosis.pre_filter_msg = Some("pod affinity terms conflict".into());
        e.diagnosis.post_filter_msg = Some(
            "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
                .into(),
        );
        assert_eq!(
            e.to_string(),
            "0/2 nodes are available: pod affinity terms conflict. \
             preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
        );
        assert_eq!(fit_error(&[], 0).to_string(), NO_NODES_AVAILABLE);
    }
}
