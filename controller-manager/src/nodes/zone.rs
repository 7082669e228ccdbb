//! Zones: which zone a node is in, and how healthy a zone is.

use std::collections::BTreeMap;

/// The node label naming its zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The node label naming its region.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// The deprecated zone label, read when the GA one is absent.
pub const BETA_ZONE_LABEL: &str = "failure-domain.beta.kubernetes.io/zone";
/// The deprecated region label, read when the GA one is absent.
pub const BETA_REGION_LABEL: &str = "failure-domain.beta.kubernetes.io/region";
/// Nodes with this label (any value) do not count towards their zone's
/// health.
pub const EXCLUDE_DISRUPTION_LABEL: &str = "node.kubernetes.io/exclude-disruption";

/// The key of the zone a node with `labels` is in: empty without zone or
/// region labels, otherwise region and zone joined as upstream's
/// `GetZoneKey` joins them (so metrics label zones the same way).
pub fn zone_key(labels: Option<&BTreeMap<String, String>>) -> String {
    let Some(labels) = labels else {
        return String::new();
    };
    let read = |ga: &str, beta: &str| {
        labels
            .get(ga)
            .or_else(|| labels.get(beta))
            .map(String::as_str)
            .unwrap_or("")
    };
    let region = read(REGION_LABEL, BETA_REGION_LABEL);
    let zone = read(ZONE_LABEL, BETA_ZONE_LABEL);
    if region.is_empty() && zone.is_empty() {
        return String::new();
    }
    format!("{region}:\u{0}:{zone}")
}

/// Whether a node with `labels` is left out of zone health.
pub fn excluded_from_disruption(labels: Option<&BTreeMap<String, String>>) -> bool {
    labels.is_some_and(|l| l.contains_key(EXCLUDE_DISRUPTION_LABEL))
}

/// How disrupted a zone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneState {
    /// Not assessed yet (a zone seen for the first time).
    Initial,
    /// Few nodes are not ready: taint at the normal rate.
    Normal,
    /// Many nodes are not ready: taint at the secondary rate, or not at
    /// all in a small zone.
    PartialDisruption,
    /// No node is ready.
    FullDisruption,
}

impl ZoneState {
    /// The state's name, as upstream logs it.
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneState::Initial => "Initial",
            ZoneState::Normal => "Normal",
            ZoneState::PartialDisruption => "PartialDisruption",
            ZoneState::FullDisruption => "FullDisruption",
        }
    }
}

/// A zone's health from its nodes' readiness (`true`: Ready=True; a node
/// without a Ready condition counts as not ready): how many are not ready,
/// and the state. All not ready is a full disruption; more than two not
/// ready making up at least `unhealthy_threshold` of the zone is a partial
/// one.
pub fn zone_state(ready: &[bool], unhealthy_threshold: f64) -> (usize, ZoneState) {
    let ready_count = ready.iter().filter(|r| **r).count();
    let not_ready = ready.len() - ready_count;
    let state = if ready_count == 0 && not_ready > 0 {
        ZoneState::FullDisruption
    } else if not_ready > 2 && not_ready as f64 / ready.len() as f64 >= unhealthy_threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    };
    (not_ready, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn zone_key_joins_region_and_zone_and_falls_back_to_beta_labels() {
        assert_eq!(zone_key(None), "");
        assert_eq!(zone_key(Some(&labels(&[("app", "x")]))), "");
        let ga = labels(&[(REGION_LABEL, "eu"), (ZONE_LABEL, "eu-1")]);
        assert_eq!(zone_key(Some(&ga)), "eu:\u{0}:eu-1");
        let beta = labels(&[(BETA_REGION_LABEL, "eu"), (BETA_ZONE_LABEL, "eu-1")]);
        assert_eq!(zone_key(Some(&beta)), zone_key(Some(&ga)));
        let zone_only = labels(&[(ZONE_LABEL, "a")]);
        assert_eq!(zone_key(Some(&zone_only)), ":\u{0}:a");
        let both = labels(&[(ZONE_LABEL, "ga"), (BETA_ZONE_LABEL, "beta")]);
        assert_eq!(zone_key(Some(&both)), ":\u{0}:ga");
    }

    #[test]
    fn exclusion_label_is_honoured_whatever_its_value() {
        assert!(excluded_from_disruption(Some(&labels(&[(
            EXCLUDE_DISRUPTION_LABEL,
            ""
        )]))));
        assert!(!excluded_from_disruption(Some(&labels(&[("a", "b")]))));
        assert!(!excluded_from_disruption(None));
    }

    #[test]
    fn all_not_ready_is_a_full_disruption() {
        assert_eq!(zone_state(&[false], 0.55), (1, ZoneState::FullDisruption));
        assert_eq!(
            zone_state(&[false, false, false], 0.55),
            (3, ZoneState::FullDisruption)
        );
    }

    #[test]
    fn partial_disruption_needs_more_than_two_not_ready_and_the_threshold() {
        // 2 of 3 not ready: not more than two, so normal.
        assert_eq!(
            zone_state(&[true, false, false], 0.55),
            (2, ZoneState::Normal)
        );
        // 3 of 5 = 0.6 >= 0.55.
        let five = [true, true, false, false, false];
        assert_eq!(zone_state(&five, 0.55), (3, ZoneState::PartialDisruption));
        // 3 of 6 = 0.5 < 0.55.
        let six = [true, true, true, false, false, false];
        assert_eq!(zone_state(&six, 0.55), (3, ZoneState::Normal));
        // Exactly at the threshold counts.
        assert_eq!(zone_state(&six, 0.5), (3, ZoneState::PartialDisruption));
    }

    #[test]
    fn an_empty_or_healthy_zone_is_normal() {
        assert_eq!(zone_state(&[], 0.55), (0, ZoneState::Normal));
        assert_eq!(zone_state(&[true, true], 0.55), (0, ZoneState::Normal));
        // One stopped node of three (the e2e case) stays normal.
        assert_eq!(
            zone_state(&[false, true, true], 0.55),
            (1, ZoneState::Normal)
        );
    }
}
