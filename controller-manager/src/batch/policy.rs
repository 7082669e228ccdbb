//! `spec.podFailurePolicy` and `spec.successPolicy`.

use super::indexes::Indexes;
use k8s_openapi::api::batch::v1::{
    PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern, SuccessPolicy,
};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodCondition};

/// What a matching pod failure policy rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureAction {
    /// Fail the whole Job.
    FailJob,
    /// Fail the pod's index (`backoffLimitPerIndex`).
    FailIndex,
    /// Do not count the failure.
    Ignore,
    /// Count the failure (the default).
    Count,
}

impl FailureAction {
    fn parse(action: &str) -> Option<Self> {
        match action {
            "FailJob" => Some(Self::FailJob),
            "FailIndex" => Some(Self::FailIndex),
            "Ignore" => Some(Self::Ignore),
            "Count" => Some(Self::Count),
            _ => None,
        }
    }
}

/// The outcome of matching one failed pod against the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureMatch {
    /// The action of the first matching rule, if one matched.
    pub action: Option<FailureAction>,
    /// Whether the failure counts towards the backoff limits.
    pub counts: bool,
    /// For `FailJob`: the Job's failure message.
    pub fail_job_message: Option<String>,
}

impl FailureMatch {
    const NO_MATCH: FailureMatch = FailureMatch {
        action: None,
        counts: true,
        fail_job_message: None,
    };
}

fn terminated_exit_code(status: &ContainerStatus) -> Option<i32> {
    status
        .state
        .as_ref()?
        .terminated
        .as_ref()
        .map(|t| t.exit_code)
}

fn exit_code_matches(rule: &PodFailurePolicyOnExitCodesRequirement, code: i32) -> bool {
    match rule.operator.as_str() {
        "In" => rule.values.contains(&code),
        "NotIn" => !rule.values.contains(&code),
        _ => false,
    }
}

/// The first terminated container (regular, then init) with a non-zero
/// exit code the requirement matches.
fn match_exit_codes<'a>(
    pod: &'a Pod,
    rule: &PodFailurePolicyOnExitCodesRequirement,
) -> Option<(&'a str, i32)> {
    let status = pod.status.as_ref()?;
    let lists = [
        status.container_statuses.as_deref().unwrap_or_default(),
        status
            .init_container_statuses
            .as_deref()
            .unwrap_or_default(),
    ];
    lists.into_iter().find_map(|list| {
        list.iter().find_map(|c| {
            let code = terminated_exit_code(c)?;
            let named = rule.container_name.as_deref().is_none_or(|n| n == c.name);
            (named && code != 0 && exit_code_matches(rule, code)).then_some((c.name.as_str(), code))
        })
    })
}

fn match_conditions<'a>(
    pod: &'a Pod,
    patterns: &[PodFailurePolicyOnPodConditionsPattern],
) -> Option<&'a PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| {
        patterns
            .iter()
            .any(|p| p.type_ == c.type_ && p.status == c.status)
    })
}

/// Matches a failed pod against the rules, in order; the first rule
/// whose exit-code requirement or pod-condition patterns match decides.
pub fn match_pod_failure_policy(policy: &PodFailurePolicy, pod: &Pod) -> FailureMatch {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    for (index, rule) in policy.rules.iter().enumerate() {
        let Some(action) = FailureAction::parse(&rule.action) else {
            continue;
        };
        let message = if let Some(codes) = &rule.on_exit_codes {
            match match_exit_codes(pod, codes) {
                Some((container, code)) => format!(
                    "Container {container} for pod {namespace}/{name} failed with exit code {code} matching {} rule at index {index}",
                    rule.action
                ),
                None => continue,
            }
        } else if let Some(patterns) = &rule.on_pod_conditions {
            match match_conditions(pod, patterns) {
                Some(condition) => format!(
                    "Pod {namespace}/{name} has condition {} matching {} rule at index {index}",
                    condition.type_, rule.action
                ),
                None => continue,
            }
        } else {
            continue;
        };
        return FailureMatch {
            action: Some(action),
            counts: action != FailureAction::Ignore,
            fail_job_message: (action == FailureAction::FailJob).then_some(message),
        };
    }
    FailureMatch::NO_MATCH
}

/// [`match_pod_failure_policy`] when the Job has a policy; otherwise the
/// failure simply counts.
pub fn match_optional(policy: Option<&PodFailurePolicy>, pod: &Pod) -> FailureMatch {
    policy.map_or(FailureMatch::NO_MATCH, |p| match_pod_failure_policy(p, pod))
}

/// The message of the first success policy rule the succeeded indexes
/// satisfy (`Matched rules at index <i>`), if any.
pub fn match_success_policy(
    policy: Option<&SuccessPolicy>,
    completions: i32,
    succeeded: &Indexes,
) -> Option<String> {
    let policy = policy?;
    if succeeded.is_empty() {
        return None;
    }
    for (index, rule) in policy.rules.iter().enumerate() {
        let matched = match (&rule.succeeded_indexes, rule.succeeded_count) {
            (Some(text), count) => {
                let required = Indexes::parse(text, completions);
                if required.is_empty() {
                    continue;
                }
                let overlap = required.overlap(succeeded);
                overlap == required.total() || count.is_some_and(|c| overlap >= c)
            }
            (None, Some(count)) => succeeded.total() >= count,
            (None, None) => false,
        };
        if matched {
            return Some(format!("Matched rules at index {index}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::test_support::{finished_pod, pod};
    use k8s_openapi::api::batch::v1::{PodFailurePolicyRule, SuccessPolicyRule};

    fn exit_rule(action: &str, op: &str, values: &[i32]) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.into(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: None,
                operator: op.into(),
                values: values.to_vec(),
            }),
            on_pod_conditions: None,
        }
    }

    fn condition_rule(action: &str, type_: &str) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.into(),
            on_exit_codes: None,
            on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                type_: type_.into(),
                status: "True".into(),
            }]),
        }
    }

    #[test]
    fn exit_code_rules_in_order() {
        let policy = PodFailurePolicy {
            rules: vec![
                exit_rule("FailJob", "In", &[42]),
                exit_rule("Ignore", "NotIn", &[1, 2]),
                exit_rule("Count", "In", &[1]),
            ],
        };
        let fatal = finished_pod("a", "Failed", 42, 5);
        let m = match_pod_failure_policy(&policy, &fatal);
        assert_eq!(m.action, Some(FailureAction::FailJob));
        assert!(m.counts);
        assert_eq!(
            m.fail_job_message.as_deref(),
            Some(
                "Container main for pod default/a failed with exit code 42 matching FailJob rule at index 0"
            )
        );
        let ignored = finished_pod("b", "Failed", 7, 5);
        let m = match_pod_failure_policy(&policy, &ignored);
        assert_eq!((m.action, m.counts), (Some(FailureAction::Ignore), false));
        let counted = finished_pod("c", "Failed", 1, 5);
        assert_eq!(
            match_pod_failure_policy(&policy, &counted).action,
            Some(FailureAction::Count)
        );
        // Exit code 0 never matches, even with NotIn.
        let zero = finished_pod("d", "Failed", 0, 5);
        let m = match_pod_failure_policy(&policy, &zero);
        assert_eq!((m.action, m.counts), (None, true));
    }

    #[test]
    fn container_name_restricts_exit_code_rules() {
        let mut rule = exit_rule("FailJob", "In", &[3]);
        if let Some(codes) = rule.on_exit_codes.as_mut() {
            codes.container_name = Some("other".into());
        }
        let policy = PodFailurePolicy { rules: vec![rule] };
        assert_eq!(
            match_pod_failure_policy(&policy, &finished_pod("a", "Failed", 3, 1)).action,
            None
        );
    }

    #[test]
    fn pod_condition_rules() {
        let policy = PodFailurePolicy {
            rules: vec![
                condition_rule("Ignore", "DisruptionTarget"),
                condition_rule("FailJob", "ConfigIssue"),
            ],
        };
        let mut disrupted = pod("a", "Failed");
        disrupted.status.get_or_insert_default().conditions = Some(vec![PodCondition {
            type_: "DisruptionTarget".into(),
            status: "True".into(),
            ..PodCondition::default()
        }]);
        let m = match_pod_failure_policy(&policy, &disrupted);
        assert_eq!((m.action, m.counts), (Some(FailureAction::Ignore), false));
        let mut broken = pod("b", "Failed");
        broken.status.get_or_insert_default().conditions = Some(vec![PodCondition {
            type_: "ConfigIssue".into(),
            status: "True".into(),
            ..PodCondition::default()
        }]);
        assert_eq!(
            match_pod_failure_policy(&policy, &broken)
                .fail_job_message
                .as_deref(),
            Some("Pod default/b has condition ConfigIssue matching FailJob rule at index 1")
        );
        let mut false_condition = broken.clone();
        false_condition.status.get_or_insert_default().conditions = Some(vec![PodCondition {
            type_: "ConfigIssue".into(),
            status: "False".into(),
            ..PodCondition::default()
        }]);
        assert_eq!(
            match_pod_failure_policy(&policy, &false_condition).action,
            None
        );
    }

    #[test]
    fn success_policy_rules() {
        let policy = SuccessPolicy {
            rules: vec![
                SuccessPolicyRule {
                    succeeded_indexes: Some("0,2-4".into()),
                    succeeded_count: None,
                },
                SuccessPolicyRule {
                    succeeded_indexes: Some("5-9".into()),
                    succeeded_count: Some(2),
                },
                SuccessPolicyRule {
                    succeeded_indexes: None,
                    succeeded_count: Some(8),
                },
            ],
        };
        let succeeded = |s: &str| Indexes::parse(s, 10);
        assert_eq!(
            match_success_policy(Some(&policy), 10, &succeeded("0,2-4")).as_deref(),
            Some("Matched rules at index 0")
        );
        assert_eq!(
            match_success_policy(Some(&policy), 10, &succeeded("0,6,8")).as_deref(),
            Some("Matched rules at index 1")
        );
        assert_eq!(
            match_success_policy(Some(&policy), 10, &succeeded("0,1,2,3,6")),
            None
        );
        assert_eq!(
            match_success_policy(Some(&policy), 10, &succeeded("0-3,5,7")).as_deref(),
            Some("Matched rules at index 1")
        );
        assert_eq!(match_success_policy(None, 10, &succeeded("0-9")), None);
        assert_eq!(
            match_success_policy(Some(&policy), 10, &Indexes::new()),
            None
        );
    }
}
