//! DefaultPreemption: for a pod that fits nowhere, find a node where evicting
//! lower-priority pods makes it fit, with the fewest and least important
//! victims, respecting PodDisruptionBudgets as far as possible. Pods
//! nominated to a candidate node with equal or higher priority are counted
//! there; those of lower priority lose their nomination to the preemptor.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use bosun_types::labels::Selector;
use bosun_types::labels::wire::selector_from_wire;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use super::config::Config;
use super::framework::{Code, CycleState, Diagnosis, DynamicState, FitError, Status};
use super::node_info::NodeInfo;
use super::pod_info::{PodInfo, more_important, pod_labels, pod_name, pod_namespace, pod_priority};
use super::rng::XorShiftRng;
use super::snapshot::Snapshot;

/// Plugin name.
pub const NAME: &str = "DefaultPreemption";
/// Reason for nodes without lower-priority pods.
pub const ERR_REASON_NO_VICTIMS: &str = "No preemption victims found for incoming pod";
/// Reason for nodes where preemption was not attempted (unresolvable failures).
pub const ERR_REASON_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// Message for pods with `preemptionPolicy: Never`.
pub const MSG_POLICY_NEVER: &str = "not eligible due to preemptionPolicy=Never.";
/// Message when victims of an earlier preemption are still terminating.
pub const MSG_TERMINATING_ON_NOMINATED: &str =
    "not eligible due to a terminating pod on the nominated node.";

/// The chosen preemption.
#[derive(Clone, Debug)]
pub struct Preemption {
    /// Node to nominate the pod to.
    pub node_name: String,
    /// Pods to evict, most important first.
    pub victims: Vec<Arc<Pod>>,
    /// How many victims violate a PodDisruptionBudget.
    pub num_pdb_violations: usize,
    /// Pods of lower priority nominated to the node: they may no longer fit
    /// there, so their nomination is cleared (upstream's
    /// `getLowerPriorityNominatedPods`).
    pub nominations_to_clear: Vec<Arc<Pod>>,
}

/// Why preemption cannot help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreemptionError {
    /// The pod may not preempt (policy Never, or earlier victims still terminating).
    NotEligible(String),
    /// No node can be made to fit; the per-node verdicts.
    NoCandidates(Box<FitError>),
}

impl fmt::Display for PreemptionError {
    /// Upstream's post-filter message, e.g.
    /// `preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreemptionError::NotEligible(msg) => write!(f, "preemption: {msg}"),
            PreemptionError::NoCandidates(e) => write!(f, "preemption: {e}"),
        }
    }
}

impl std::error::Error for PreemptionError {}

struct Budget<'a> {
    namespace: &'a str,
    selector: Option<Selector>,
    allowed: i64,
    disrupted: BTreeSet<&'a str>,
}

fn budgets(pdbs: &[PodDisruptionBudget]) -> Vec<Budget<'_>> {
    pdbs.iter()
        .map(|pdb| Budget {
            namespace: pdb.metadata.namespace.as_deref().unwrap_or("default"),
            // An invalid, nil or empty selector matches nothing.
            selector: pdb
                .spec
                .as_ref()
                .and_then(|s| selector_from_wire(s.selector.as_ref()).ok())
                .filter(|s| !s.is_empty() && !s.matches_nothing()),
            allowed: pdb
                .status
                .as_ref()
                .map_or(0, |s| i64::from(s.disruptions_allowed)),
            disrupted: pdb
                .status
                .as_ref()
                .and_then(|s| s.disrupted_pods.as_ref())
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default(),
        })
        .collect()
}

/// Splits pods (order preserved) into those whose eviction would exceed a
/// PDB's remaining budget and the rest.
fn split_by_pdb_violation(
    pods: Vec<Arc<PodInfo>>,
    budgets: &[Budget<'_>],
) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let mut allowed: Vec<i64> = budgets.iter().map(|b| b.allowed).collect();
    let (mut violating, mut fine) = (Vec::new(), Vec::new());
    for p in pods {
        let labels = pod_labels(&p.pod);
        let mut violated = false;
        if !labels.is_empty() {
            for (i, b) in budgets.iter().enumerate() {
                let Some(sel) = &b.selector else { continue };
                if b.namespace != pod_namespace(&p.pod)
                    || !sel.matches(labels)
                    || b.disrupted.contains(pod_name(&p.pod))
                {
                    continue;
                }
                allowed[i] -= 1;
                if allowed[i] < 0 {
                    violated = true;
                }
            }
        }
        if violated {
            violating.push(p);
        } else {
            fine.push(p);
        }
    }
    (violating, fine)
}

struct Candidate {
    node: usize,
    victims: Vec<Arc<PodInfo>>,
    num_pdb_violations: usize,
}

/// Upstream's `SelectVictimsOnNode` on a copy of the node: remove every
/// lower-priority pod, check the pod fits, then add back (reprieve) as many
/// as possible, most important first, PDB-protected pods before the others.
fn select_victims(
    cs: &CycleState<'_>,
    base: &DynamicState,
    node: &NodeInfo,
    budgets: &[Budget<'_>],
) -> Result<(Vec<Arc<PodInfo>>, usize), Status> {
    let mut state = base.clone();
    let mut ni = node.clone();
    let mut potential: Vec<Arc<PodInfo>> = node
        .pods()
        .iter()
        .filter(|p| p.facts.priority < cs.facts.priority)
        .cloned()
        .collect();
    if potential.is_empty() {
        return Err(Status::unresolvable(NAME, ERR_REASON_NO_VICTIMS));
    }
    for p in &potential {
        ni.remove_pod(&p.facts.key);
        cs.update_dynamic(&mut state, p, &ni, -1);
    }
    if let Some(st) = cs.filter_with_nominated(&state, &ni) {
        return Err(st);
    }
    potential.sort_by(|a, b| more_important(&a.facts, &b.facts));
    let (violating, fine) = split_by_pdb_violation(potential, budgets);
    let mixed = !violating.is_empty() && !fine.is_empty();
    let mut victims = Vec::new();
    let mut num_violating = 0;
    let mut reprieve = |p: Arc<PodInfo>, ni: &mut NodeInfo, state: &mut DynamicState| -> bool {
        ni.add_pod_info(Arc::clone(&p));
        cs.update_dynamic(state, &p, ni, 1);
        if cs.filter_with_nominated(state, ni).is_none() {
            return true;
        }
        ni.remove_pod(&p.facts.key);
        cs.update_dynamic(state, &p, ni, -1);
        victims.push(p);
        false
    };
    for p in violating {
        if !reprieve(p, &mut ni, &mut state) {
            num_violating += 1;
        }
    }
    for p in fine {
        reprieve(p, &mut ni, &mut state);
    }
    if mixed {
        victims.sort_by(|a, b| more_important(&a.facts, &b.facts));
    }
    Ok((victims, num_violating))
}

fn terminating_by_preemption(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_some()
        && p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "DisruptionTarget"))
            .is_some_and(|c| {
                c.status == "True" && c.reason.as_deref() == Some("PreemptionByScheduler")
            })
}

fn eligibility(
    pod: &Pod,
    snapshot: &Snapshot,
    fit_error: &FitError,
) -> Result<(), PreemptionError> {
    if pod
        .spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref())
        == Some("Never")
    {
        return Err(PreemptionError::NotEligible(MSG_POLICY_NEVER.to_owned()));
    }
    let Some(nominated) = snapshot.nominated_node(pod) else {
        return Ok(());
    };
    if fit_error
        .diagnosis
        .status_of(nominated)
        .is_some_and(|s| s.code == Code::UnschedulableAndUnresolvable)
    {
        return Ok(());
    }
    let priority = pod_priority(pod);
    if let Some(node) = snapshot.node_info(nominated)
        && node
            .pods()
            .iter()
            .any(|p| p.facts.priority < priority && terminating_by_preemption(&p.pod))
    {
        return Err(PreemptionError::NotEligible(
            MSG_TERMINATING_ON_NOMINATED.to_owned(),
        ));
    }
    Ok(())
}

/// Number of candidates the dry run looks for (upstream's `calculateNumCandidates`).
pub fn num_candidates(config: &Config, num_nodes: usize) -> usize {
    (num_nodes * config.min_candidate_nodes_percentage / 100)
        .max(config.min_candidate_nodes_absolute)
        .min(num_nodes)
}

fn start_nanos(p: &PodInfo) -> i128 {
    // No start time means "now": later than any recorded start.
    p.facts.start_time.map_or(i128::MAX, |t| t.as_nanosecond())
}

/// Upstream's `pickOneNodeForPreemption`: fewest PDB violations, then lowest
/// highest-victim priority, smallest priority sum, fewest victims, latest
/// start of the most important victims, then the first candidate.
fn pick_one(candidates: &[Candidate]) -> usize {
    let criteria: [&dyn Fn(&Candidate) -> i128; 5] = [
        &|c| -(c.num_pdb_violations as i128),
        &|c| {
            -c.victims
                .first()
                .map_or(0, |v| i128::from(v.facts.priority))
        },
        &|c| {
            -c.victims
                .iter()
                .map(|v| i128::from(v.facts.priority) + i128::from(i32::MAX) + 1)
                .sum::<i128>()
        },
        &|c| -(c.victims.len() as i128),
        &|c| {
            let top = c
                .victims
                .iter()
                .map(|v| v.facts.priority)
                .max()
                .unwrap_or(0);
            c.victims
                .iter()
                .filter(|v| v.facts.priority == top)
                .map(|v| start_nanos(v))
                .min()
                .unwrap_or(i128::MIN)
        },
    ];
    let mut remaining: Vec<usize> = (0..candidates.len()).collect();
    for f in criteria {
        let best = remaining
            .iter()
            .map(|&i| f(&candidates[i]))
            .max()
            .unwrap_or(0);
        remaining.retain(|&i| f(&candidates[i]) == best);
        if remaining.len() == 1 {
            break;
        }
    }
    remaining.first().copied().unwrap_or(0)
}

/// Finds the node and victims whose eviction lets `pod` schedule, given the
/// [`FitError`] of its failed scheduling attempt. Only nodes whose rejection
/// was resolvable ([`Code::Unschedulable`]) are considered. The dry run starts
/// at a random node (from `rng`) and stops once enough candidates are found.
///
/// # Errors
///
/// [`PreemptionError`]; its `Display` is upstream's post-filter message, and
/// [`FitError::record_preemption_failure`] appends it to the scheduling error.
pub fn preempt(
    pod: &Pod,
    snapshot: &Snapshot,
    fit_error: &FitError,
    pdbs: &[PodDisruptionBudget],
    config: &Config,
    rng: &mut XorShiftRng,
) -> Result<Preemption, PreemptionError> {
    eligibility(pod, snapshot, fit_error)?;
    let no_candidates = |node_to_status: Vec<(String, Status)>| {
        PreemptionError::NoCandidates(Box::new(FitError {
            num_all_nodes: snapshot.num_nodes(),
            diagnosis: Box::new(Diagnosis {
                node_to_status,
                absent_nodes_status: Some(Status::unresolvable(NAME, ERR_REASON_NOT_HELPFUL)),
                ..Default::default()
            }),
            next_start_index: fit_error.next_start_index,
        }))
    };

    let codes: HashMap<&str, Code> = fit_error
        .diagnosis
        .node_to_status
        .iter()
        .map(|(n, s)| (n.as_str(), s.code))
        .collect();
    let absent_code = fit_error
        .diagnosis
        .absent_nodes_status
        .as_ref()
        .map(|s| s.code);
    let potential: Vec<usize> = snapshot
        .iteration_order()
        .iter()
        .copied()
        .filter(|&i| {
            codes
                .get(snapshot.nodes()[i].name())
                .copied()
                .or(absent_code)
                == Some(Code::Unschedulable)
        })
        .collect();
    if potential.is_empty() {
        return Err(no_candidates(Vec::new()));
    }
    let Ok((cs, dynamic)) = CycleState::prefilter(pod, snapshot, config) else {
        return Err(no_candidates(Vec::new()));
    };

    let budgets = budgets(pdbs);
    let wanted = num_candidates(config, potential.len());
    let offset = rng.below(potential.len());
    let (mut fine, mut violating) = (Vec::new(), Vec::new());
    let mut statuses = Vec::new();
    for i in 0..potential.len() {
        let idx = potential[(offset + i) % potential.len()];
        let node = &snapshot.nodes()[idx];
        match select_victims(&cs, &dynamic, node, &budgets) {
            Ok((victims, violations)) if !victims.is_empty() => {
                let c = Candidate {
                    node: idx,
                    victims,
                    num_pdb_violations: violations,
                };
                if violations == 0 {
                    fine.push(c);
                } else {
                    violating.push(c);
                }
                if !fine.is_empty() && fine.len() + violating.len() >= wanted {
                    break;
                }
            }
            Ok(_) => statuses.push((
                node.name().to_owned(),
                Status::unschedulable(NAME, "expected at least one victim pod on node"),
            )),
            Err(st) => statuses.push((node.name().to_owned(), st)),
        }
    }
    fine.extend(violating);
    if fine.is_empty() {
        return Err(no_candidates(statuses));
    }
    let best = fine.swap_remove(pick_one(&fine));
    let node_name = snapshot.nodes()[best.node].name();
    let nominations_to_clear = snapshot
        .nominator()
        .pods_on(node_name)
        .iter()
        .filter(|p| p.facts.priority < cs.facts.priority && p.facts.key != cs.facts.key)
        .map(|p| Arc::clone(&p.pod))
        .collect();
    Ok(Preemption {
        node_name: node_name.to_owned(),
        victims: best.victims.iter().map(|v| Arc::clone(&v.pod)).collect(),
        num_pdb_violations: best.num_pdb_violations,
        nominations_to_clear,
    })
}

#[cfg(test)]
mod tests {
    use super::super::pod_info::pod_name;
    use super::super::schedule::schedule;
    use super::super::test_util::{node, pod};
    use super::*;
    use serde_json::json;

    fn running(
        name: &str,
        node: &str,
        cpu: &str,
        priority: i32,
        labels: serde_json::Value,
        started: &str,
    ) -> Pod {
        pod(
            json!({"metadata": {"name": name, "uid": name, "labels": labels},
            "spec": {"nodeName": node, "priority": priority,
                "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"startTime": started}}),
        )
    }

    fn preemptor(cpu: &str, priority: i32) -> Pod {
        pod(
            json!({"metadata": {"name": "vip", "uid": "vip"}, "spec": {"priority": priority,
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}}),
        )
    }

    fn pdb(app: &str, allowed: i32) -> PodDisruptionBudget {
        serde_json::from_value(json!({"metadata": {"name": format!("{app}-pdb"), "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": app}}},
            "status": {"disruptionsAllowed": allowed, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1}}))
        .expect("pdb")
    }

    fn run(
        s: &Snapshot,
        p: &Pod,
        pdbs: &[PodDisruptionBudget],
    ) -> (FitError, Result<Preemption, PreemptionError>) {
        let cfg = Config::default();
        let mut rng = XorShiftRng::new(11);
        let err = schedule(p, s, &cfg, &mut rng, 0).expect_err("must not fit");
        let res = preempt(p, s, &err, pdbs, &cfg, &mut rng);
        (err, res)
    }

    fn victim_names(p: &Preemption) -> Vec<&str> {
        p.victims.iter().map(|v| pod_name(v)).collect()
    }

    const T0: &str = "2024-01-01T00:00:00Z";
    const T1: &str = "2024-01-02T00:00:00Z";

    #[test]
    fn picks_the_node_with_the_lowest_priority_victim() {
        let mut s = Snapshot::new();
        for n in ["n1", "n2"] {
            s.upsert_node(node(n, "2", "8Gi", 110)).expect("node");
        }
        for p in [
            running("mid", "n1", "2", 50, json!({}), T0),
            running("low", "n2", "2", 10, json!({}), T0),
        ] {
            s.add_pod(Arc::new(p)).expect("pod");
        }
        let (_, res) = run(&s, &preemptor("1", 100), &[]);
        let pre = res.expect("preempts");
        assert_eq!(pre.node_name, "n2");
        assert_eq!(victim_names(&pre), ["low"]);
    }

    #[test]
    fn minimal_victim_set_reprieves_higher_priority_pods() {
        let mut s = Snapshot::new();
        s.upsert_node(node("n1", "3", "8Gi", 110)).expect("node");
        for p in [
            running("a", "n1", "1", 30, json!({}), T0),
            running("b", "n1", "1", 20, json!({}), T0),
            running("c", "n1", "1", 10, json!({}), T0),
        ] {
            s.add_pod(Arc::new(p)).expect("pod");
        }
        let (_, res) = run(&s, &preemptor("1", 100), &[]);
        assert_eq!(victim_names(&res.expect("preempts")), ["c"]);
        let (_, res) = run(&s, &preemptor("2", 100), &[]);
        assert_eq!(victim_names(&res.expect("preempts")), ["b", "c"]);
    }

    #[test]
    fn pdb_protected_pods_are_reprieved_first_and_nodes_without_violations_win() {
        let mut s = Snapshot::new();
        s.upsert_node(node("n1", "2", "8Gi", 110)).expect("node");
        for p in [
            running("guarded", "n1", "1", 10, json!({"app": "db"}), T0),
            running("free", "n1", "1", 20, json!({"app": "web"}), T0),
        ] {
            s.add_pod(Arc::new(p)).expect("pod");
        }
        // Without a PDB the lower-priority pod goes.
        let (_, res) = run(&s, &preemptor("1", 100), &[]);
        assert_eq!(victim_names(&res.expect("preempts")), ["guarded"]);
        // With an exhausted PDB on it, the other pod is evicted instead.
        let (_, res) = run(&s, &preemptor("1", 100), &[pdb("db", 0)]);
        let pre = res.expect("preempts");
        assert_eq!(victim_names(&pre), ["free"]);
        assert_eq!(pre.num_pdb_violations, 0);
        // When only the guarded pod can go, the violation is reported.
        let (_, res) = run(&s, &preemptor("2", 100), &[pdb("db", 0)]);
        let pre = res.expect("preempts");
        assert_eq!(pre.num_pdb_violations, 1);
        assert_eq!(victim_names(&pre), ["free", "guarded"]);

        // Across nodes: a node needing no PDB violation is preferred.
        let mut s = Snapshot::new();
        for n in ["n1", "n2"] {
            s.upsert_node(node(n, "1", "8Gi", 110)).expect("node");
        }
        s.add_pod(Arc::new(running(
            "guarded",
            "n1",
            "1",
            5,
            json!({"app": "db"}),
            T0,
        )))
        .expect("pod");
        s.add_pod(Arc::new(running(
            "free",
            "n2",
            "1",
            50,
            json!({"app": "web"}),
            T0,
        )))
        .expect("pod");
        let (_, res) = run(&s, &preemptor("1", 100), &[pdb("db", 0)]);
        assert_eq!(res.expect("preempts").node_name, "n2");
    }

    #[test]
    fn later_start_time_breaks_ties() {
        let mut s = Snapshot::new();
        for n in ["n1", "n2"] {
            s.upsert_node(node(n, "1", "8Gi", 110)).expect("node");
        }
        s.add_pod(Arc::new(running("old", "n1", "1", 10, json!({}), T0)))
            .expect("pod");
        s.add_pod(Arc::new(running("young", "n2", "1", 10, json!({}), T1)))
            .expect("pod");
        let (_, res) = run(&s, &preemptor("1", 100), &[]);
        assert_eq!(victim_names(&res.expect("preempts")), ["young"]);
    }

    #[test]
    fn preemption_policy_never_is_respected() {
        let mut s = Snapshot::new();
        s.upsert_node(node("n1", "1", "8Gi", 110)).expect("node");
        s.add_pod(Arc::new(running("low", "n1", "1", 1, json!({}), T0)))
            .expect("pod");
        let mut p = preemptor("1", 100);
        if let Some(spec) = p.spec.as_mut() {
            spec.preemption_policy = Some("Never".into());
        }
        let (mut err, res) = run(&s, &p, &[]);
        let e = res.expect_err("not eligible");
        assert_eq!(e, PreemptionError::NotEligible(MSG_POLICY_NEVER.into()));
        err.record_preemption_failure(&e);
        assert_eq!(
            err.to_string(),
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
        );
    }

    #[test]
    fn messages_when_preemption_cannot_help() {
        let mut s = Snapshot::new();
        for n in ["n1", "n2", "n3"] {
            s.upsert_node(node(n, "1", "8Gi", 110)).expect("node");
            s.add_pod(Arc::new(running(
                &format!("{n}-p"),
                n,
                "1",
                500,
                json!({}),
                T0,
            )))
            .expect("pod");
        }
        let (mut err, res) = run(&s, &preemptor("1", 100), &[]);
        let e = res.expect_err("no victims");
        err.record_preemption_failure(&e);
        assert_eq!(
            err.to_string(),
            "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: \
             3 No preemption victims found for incoming pod."
        );
        // Unresolvable failures are not even tried.
        let (_, res) = run(&s, &preemptor("2", 1000), &[]);
        assert_eq!(
            res.expect_err("too big").to_string(),
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn anti_affinity_victims_can_be_preempted() {
        let mut s = Snapshot::new();
        s.upsert_node(node("n1", "8", "8Gi", 110)).expect("node");
        s.add_pod(Arc::new(running(
            "web-old",
            "n1",
            "100m",
            1,
            json!({"app": "web"}),
            T0,
        )))
        .expect("pod");
        let p = pod(
            json!({"metadata": {"name": "vip", "uid": "vip", "labels": {"app": "web"}},
            "spec": {"priority": 100, "containers": [{"name": "c"}], "affinity": {"podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": {"app": "web"}}}]}}}}),
        );
        let (err, res) = run(&s, &p, &[]);
        assert_eq!(
            err.to_string(),
            "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules."
        );
        assert_eq!(victim_names(&res.expect("preempts")), ["web-old"]);
    }

    #[test]
    fn candidate_count_follows_upstream() {
        let cfg = Config::default();
        assert_eq!(num_candidates(&cfg, 50), 50);
        assert_eq!(num_candidates(&cfg, 500), 100);
        assert_eq!(num_candidates(&cfg, 5000), 500);
    }
}
