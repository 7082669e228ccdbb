//! The node-lifecycle controller's metrics, named as upstream's
//! (`node_collector_*{zone}`).

use super::disruption::ZoneHealth;
use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};

/// The metrics, registered in one registry.
#[derive(Debug, Clone)]
pub struct NodeMetrics {
    /// `node_collector_zone_health{zone}`: percentage of ready nodes.
    pub zone_health: GaugeVec,
    /// `node_collector_zone_size{zone}`: nodes counted in the zone.
    pub zone_size: GaugeVec,
    /// `node_collector_unhealthy_nodes_in_zone{zone}`: not-ready nodes.
    pub unhealthy_nodes: GaugeVec,
    /// `node_collector_evictions_total{zone}`: nodes tainted `NoExecute`
    /// by this process.
    pub evictions: IntCounterVec,
}

impl NodeMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let gauge = |name: &str, help: &str| {
            GaugeVec::new(Opts::new(name, help).subsystem("node_collector"), &["zone"])
        };
        let zone_health = gauge("zone_health", "Percentage of Ready nodes in each zone.")?;
        let zone_size = gauge("zone_size", "Nodes registered in each zone.")?;
        let unhealthy_nodes = gauge(
            "unhealthy_nodes_in_zone",
            "Nodes in each zone whose Ready condition is not True.",
        )?;
        let evictions = IntCounterVec::new(
            Opts::new(
                "evictions_total",
                "Nodes tainted NoExecute (their pods evicted) per zone since this process started.",
            )
            .subsystem("node_collector"),
            &["zone"],
        )?;
        registry.register(Box::new(zone_health.clone()))?;
        registry.register(Box::new(zone_size.clone()))?;
        registry.register(Box::new(unhealthy_nodes.clone()))?;
        registry.register(Box::new(evictions.clone()))?;
        Ok(Self {
            zone_health,
            zone_size,
            unhealthy_nodes,
            evictions,
        })
    }

    /// Records a zone's health from a monitor round.
    pub fn zone(&self, zone: &str, health: &ZoneHealth) {
        self.zone_size
            .with_label_values(&[zone])
            .set(health.size as f64);
        self.zone_health
            .with_label_values(&[zone])
            .set(health.percent_healthy());
        self.unhealthy_nodes
            .with_label_values(&[zone])
            .set(health.not_ready as f64);
    }

    /// A zone seen for the first time: its eviction count starts at zero.
    pub fn new_zone(&self, zone: &str) {
        self.evictions.with_label_values(&[zone]).inc_by(0);
    }

    /// A zone without nodes any more: empty and healthy, as upstream
    /// reports it.
    pub fn zone_gone(&self, zone: &str) {
        self.zone_size.with_label_values(&[zone]).set(0.0);
        self.zone_health.with_label_values(&[zone]).set(100.0);
        self.unhealthy_nodes.with_label_values(&[zone]).set(0.0);
    }

    /// A node of `zone` was tainted `NoExecute`.
    pub fn evicted(&self, zone: &str) {
        self.evictions.with_label_values(&[zone]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::zone::ZoneState;
    use prometheus::Encoder;

    fn text(registry: &Registry) -> String {
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .expect("encode");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn zone_metrics_carry_upstream_names() {
        let registry = Registry::new();
        let metrics = NodeMetrics::new(&registry).expect("metrics");
        metrics.new_zone("z");
        metrics.zone(
            "z",
            &ZoneHealth {
                size: 4,
                not_ready: 1,
                state: ZoneState::Normal,
            },
        );
        metrics.evicted("z");
        let out = text(&registry);
        assert!(
            out.contains("node_collector_zone_health{zone=\"z\"} 75"),
            "{out}"
        );
        assert!(
            out.contains("node_collector_zone_size{zone=\"z\"} 4"),
            "{out}"
        );
        assert!(
            out.contains("node_collector_unhealthy_nodes_in_zone{zone=\"z\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("node_collector_evictions_total{zone=\"z\"} 1"),
            "{out}"
        );
        metrics.zone_gone("z");
        let out = text(&registry);
        assert!(
            out.contains("node_collector_zone_health{zone=\"z\"} 100"),
            "{out}"
        );
        assert!(
            out.contains("node_collector_zone_size{zone=\"z\"} 0"),
            "{out}"
        );
    }
}
