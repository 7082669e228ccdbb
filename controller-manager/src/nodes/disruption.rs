//! Zone states across monitor rounds and the tainting rate each implies,
//! including upstream's "master disruption" mode: when no zone has a
//! ready node, the likeliest cause is that this controller lost the nodes
//! (a network partition), not that every node died, so tainting stops and
//! the taints already placed are taken off, until some node is ready again.

use super::zone::{ZoneState, zone_state};
use std::collections::BTreeMap;

/// The eviction rate flags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvictionRates {
    /// `--node-eviction-rate`: nodes a second in a healthy zone (and in a
    /// fully disrupted one while other zones are fine).
    pub normal: f64,
    /// `--secondary-node-eviction-rate`: nodes a second in a partially
    /// disrupted zone larger than `large_cluster_size`.
    pub secondary: f64,
    /// `--large-cluster-size-threshold`: a partially disrupted zone of at
    /// most this many nodes is not tainted at all.
    pub large_cluster_size: usize,
    /// `--unhealthy-zone-threshold`: the share of not-ready nodes (with
    /// more than two) that makes a zone partially disrupted.
    pub unhealthy_zone_threshold: f64,
}

impl Default for EvictionRates {
    /// Upstream's defaults.
    fn default() -> Self {
        Self {
            normal: 0.1,
            secondary: 0.01,
            large_cluster_size: 50,
            unhealthy_zone_threshold: 0.55,
        }
    }
}

impl EvictionRates {
    /// The tainting rate of a zone of `size` nodes in `state` (outside
    /// master disruption).
    pub fn rate(&self, state: ZoneState, size: usize) -> f64 {
        match state {
            ZoneState::PartialDisruption if size > self.large_cluster_size => self.secondary,
            ZoneState::PartialDisruption => 0.0,
            ZoneState::Initial | ZoneState::Normal | ZoneState::FullDisruption => self.normal,
        }
    }
}

/// One zone's health in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneHealth {
    /// Nodes counted (those not excluded from disruption checks).
    pub size: usize,
    /// How many of them are not ready.
    pub not_ready: usize,
    /// The state they put the zone in.
    pub state: ZoneState,
}

impl ZoneHealth {
    /// Percentage of ready nodes (`node_collector_zone_health`).
    pub fn percent_healthy(&self) -> f64 {
        if self.size == 0 {
            100.0
        } else {
            100.0 * (self.size - self.not_ready) as f64 / self.size as f64
        }
    }
}

/// Whether a round entered or left master disruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No change of mode.
    Unchanged,
    /// Every zone is fully disrupted now (and was not before): stop
    /// tainting and remove the `NoExecute` taints already placed.
    Entered,
    /// Some node is ready again after master disruption: resume, giving
    /// every node a fresh grace period.
    Left,
}

/// What a round decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Every zone with nodes, and its health.
    pub zones: BTreeMap<String, ZoneHealth>,
    /// Zones that no longer have nodes (their queues and metrics go).
    pub gone: Vec<String>,
    /// New tainting rates, for the zones whose rate may have changed.
    pub rates: BTreeMap<String, f64>,
    /// Whether master disruption began or ended.
    pub mode: Mode,
}

/// Zone states carried from round to round.
#[derive(Debug, Clone, Default)]
pub struct Disruption {
    states: BTreeMap<String, ZoneState>,
}

impl Disruption {
    /// The state a zone was left in by the last round.
    pub fn state(&self, zone: &str) -> Option<ZoneState> {
        self.states.get(zone).copied()
    }

    /// Whether the controller is in master disruption: zones are known
    /// and every one of them is fully disrupted.
    pub fn master_disruption(&self) -> bool {
        !self.states.is_empty()
            && self
                .states
                .values()
                .all(|s| *s == ZoneState::FullDisruption)
    }

    /// One round: each zone's nodes' readiness (`true`: ready) in, the
    /// new states kept and what to change out.
    pub fn observe(
        &mut self,
        readiness: &BTreeMap<String, Vec<bool>>,
        rates: &EvictionRates,
    ) -> Decision {
        let zones: BTreeMap<String, ZoneHealth> = readiness
            .iter()
            .map(|(zone, ready)| {
                let (not_ready, state) = zone_state(ready, rates.unhealthy_zone_threshold);
                let health = ZoneHealth {
                    size: ready.len(),
                    not_ready,
                    state,
                };
                (zone.clone(), health)
            })
            .collect();
        let gone: Vec<String> = self
            .states
            .keys()
            .filter(|z| !zones.contains_key(*z))
            .cloned()
            .collect();
        for zone in &gone {
            self.states.remove(zone);
        }
        let was_master = self.master_disruption();
        for zone in zones.keys() {
            self.states
                .entry(zone.clone())
                .or_insert(ZoneState::Initial);
        }
        let all_disrupted = zones.values().all(|h| h.state == ZoneState::FullDisruption);
        // A zone first seen while in master disruption is Initial, so
        // `was_master` stays true only if nothing new appeared.
        let was_all_disrupted = was_master
            && self
                .states
                .values()
                .all(|s| *s == ZoneState::FullDisruption);
        let mut rates_out = BTreeMap::new();
        let mode = if zones.is_empty() || (all_disrupted && was_all_disrupted) {
            Mode::Unchanged
        } else if all_disrupted {
            for (zone, state) in self.states.iter_mut() {
                *state = ZoneState::FullDisruption;
                rates_out.insert(zone.clone(), 0.0);
            }
            Mode::Entered
        } else if was_all_disrupted {
            for (zone, health) in &zones {
                self.states.insert(zone.clone(), health.state);
                rates_out.insert(zone.clone(), rates.rate(health.state, health.size));
            }
            Mode::Left
        } else {
            for (zone, health) in &zones {
                let old = self.states.insert(zone.clone(), health.state);
                if old != Some(health.state) {
                    rates_out.insert(zone.clone(), rates.rate(health.state, health.size));
                }
            }
            Mode::Unchanged
        };
        Decision {
            zones,
            gone,
            rates: rates_out,
            mode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(zones: &[(&str, &[bool])]) -> BTreeMap<String, Vec<bool>> {
        zones
            .iter()
            .map(|(z, r)| ((*z).to_owned(), r.to_vec()))
            .collect()
    }

    const RATES: EvictionRates = EvictionRates {
        normal: 0.1,
        secondary: 0.01,
        large_cluster_size: 50,
        unhealthy_zone_threshold: 0.55,
    };

    #[test]
    fn rate_follows_the_zone_state_and_size() {
        assert_eq!(RATES.rate(ZoneState::Normal, 3), 0.1);
        assert_eq!(RATES.rate(ZoneState::FullDisruption, 3), 0.1);
        assert_eq!(RATES.rate(ZoneState::PartialDisruption, 50), 0.0);
        assert_eq!(RATES.rate(ZoneState::PartialDisruption, 51), 0.01);
        assert_eq!(EvictionRates::default(), RATES);
    }

    #[test]
    fn first_round_sets_every_zone_rate_and_later_rounds_only_changes() {
        let mut d = Disruption::default();
        let first = d.observe(
            &round(&[("a", &[true, true]), ("b", &[true, false])]),
            &RATES,
        );
        assert_eq!(first.mode, Mode::Unchanged);
        assert_eq!(first.rates.len(), 2);
        assert_eq!(d.state("a"), Some(ZoneState::Normal));
        let second = d.observe(
            &round(&[("a", &[true, true]), ("b", &[true, false])]),
            &RATES,
        );
        assert!(second.rates.is_empty());
        assert_eq!(second.zones["b"].not_ready, 1);
        assert_eq!(second.zones["b"].percent_healthy(), 50.0);
    }

    #[test]
    fn partial_disruption_in_a_small_zone_stops_its_tainting() {
        let mut d = Disruption::default();
        d.observe(&round(&[("a", &[true; 5])]), &RATES);
        let partial = d.observe(&round(&[("a", &[true, true, false, false, false])]), &RATES);
        assert_eq!(d.state("a"), Some(ZoneState::PartialDisruption));
        assert_eq!(partial.rates["a"], 0.0);
        let big: Vec<bool> = (0..60).map(|i| i < 20).collect();
        let large = d.observe(&round(&[("a", &big)]), &RATES);
        // Still partial: the rate is recomputed only on a state change.
        assert!(large.rates.is_empty());
        let mut fresh = Disruption::default();
        let large = fresh.observe(&round(&[("a", &big)]), &RATES);
        assert_eq!(large.rates["a"], 0.01);
    }

    #[test]
    fn one_fully_disrupted_zone_among_healthy_ones_keeps_the_normal_rate() {
        let mut d = Disruption::default();
        d.observe(&round(&[("a", &[true]), ("b", &[true])]), &RATES);
        let out = d.observe(&round(&[("a", &[false]), ("b", &[true])]), &RATES);
        assert_eq!(out.mode, Mode::Unchanged);
        assert_eq!(d.state("a"), Some(ZoneState::FullDisruption));
        assert_eq!(out.rates["a"], 0.1);
        assert!(!d.master_disruption());
    }

    #[test]
    fn every_zone_fully_disrupted_enters_master_disruption_once() {
        let mut d = Disruption::default();
        d.observe(&round(&[("a", &[true]), ("b", &[true, true])]), &RATES);
        let all_down = round(&[("a", &[false]), ("b", &[false, false])]);
        let entered = d.observe(&all_down, &RATES);
        assert_eq!(entered.mode, Mode::Entered);
        assert_eq!(entered.rates["a"], 0.0);
        assert_eq!(entered.rates["b"], 0.0);
        assert!(d.master_disruption());
        let again = d.observe(&all_down, &RATES);
        assert_eq!(again.mode, Mode::Unchanged);
        assert!(again.rates.is_empty(), "rates stay stopped");
    }

    #[test]
    fn the_very_first_round_with_everything_down_is_master_disruption() {
        let mut d = Disruption::default();
        let out = d.observe(&round(&[("", &[false, false, false])]), &RATES);
        assert_eq!(out.mode, Mode::Entered);
        assert_eq!(out.rates[""], 0.0);
    }

    #[test]
    fn a_ready_node_leaves_master_disruption_and_resets_every_rate() {
        let mut d = Disruption::default();
        d.observe(&round(&[("a", &[false]), ("b", &[false, false])]), &RATES);
        assert!(d.master_disruption());
        let out = d.observe(&round(&[("a", &[false]), ("b", &[true, false])]), &RATES);
        assert_eq!(out.mode, Mode::Left);
        assert_eq!(out.rates["a"], 0.1, "a fully disrupted zone: normal rate");
        assert_eq!(out.rates["b"], 0.1);
        assert_eq!(d.state("b"), Some(ZoneState::Normal));
        assert!(!d.master_disruption());
    }

    #[test]
    fn a_new_zone_while_in_master_disruption_is_assessed_again() {
        let mut d = Disruption::default();
        d.observe(&round(&[("a", &[false])]), &RATES);
        let out = d.observe(&round(&[("a", &[false]), ("b", &[false])]), &RATES);
        assert_eq!(out.mode, Mode::Entered, "taints are removed again");
        let out = d.observe(&round(&[("a", &[false]), ("b", &[true])]), &RATES);
        assert_eq!(out.mode, Mode::Left);
    }

    #[test]
    fn zones_without_nodes_are_forgotten() {
        let mut d = Disruption::default();
        d.observe(&round(&[("a", &[true]), ("b", &[true])]), &RATES);
        let out = d.observe(&round(&[("a", &[true])]), &RATES);
        assert_eq!(out.gone, vec!["b".to_owned()]);
        assert_eq!(d.state("b"), None);
        let empty = d.observe(&BTreeMap::new(), &RATES);
        assert_eq!(empty.mode, Mode::Unchanged);
        assert!(!d.master_disruption());
    }
}
