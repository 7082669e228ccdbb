//! Service ClusterIP and NodePort allocation. Each allocated address or port
//! is a key under `/registry/ranges/`, created with storage's create-if-absent,
//! so allocations never collide (even between apiservers sharing etcd),
//! survive restarts, and are released when the Service goes.

use super::Registry;
use crate::status::{ApiError, Cause};
use bosun_storage::{ListOptions, StorageError};
use bosun_types::resources::{ResourceInfo, find_by_plural};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::Ipv4Addr;

pub(super) const IP_PREFIX: &str = "/registry/ranges/serviceips/";
pub(super) const PORT_PREFIX: &str = "/registry/ranges/servicenodeports/";

/// The ranges Services draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceRanges {
    network: u32,
    prefix_len: u32,
    ports: (u16, u16),
}

impl Default for ServiceRanges {
    fn default() -> Self {
        Self {
            network: u32::from(Ipv4Addr::new(10, 96, 0, 0)),
            prefix_len: 12,
            ports: (30000, 32767),
        }
    }
}

impl ServiceRanges {
    /// Parses `10.96.0.0/12` and `30000-32767`.
    pub fn parse(cidr: &str, ports: &str) -> Result<Self, String> {
        let (base, bits) = cidr
            .split_once('/')
            .ok_or_else(|| format!("not a CIDR: {cidr}"))?;
        let ip: Ipv4Addr = base
            .parse()
            .map_err(|_| format!("not an IPv4 CIDR: {cidr}"))?;
        let prefix_len: u32 = bits
            .parse()
            .ok()
            .filter(|b| (8..=30).contains(b))
            .ok_or_else(|| format!("bad prefix length: {cidr}"))?;
        let mask = u32::MAX << (32 - prefix_len);
        let (lo, hi) = ports
            .split_once('-')
            .ok_or_else(|| format!("not a port range: {ports}"))?;
        let lo: u16 = lo
            .trim()
            .parse()
            .map_err(|_| format!("not a port range: {ports}"))?;
        let hi: u16 = hi
            .trim()
            .parse()
            .map_err(|_| format!("not a port range: {ports}"))?;
        if lo == 0 || lo > hi {
            return Err(format!("not a port range: {ports}"));
        }
        Ok(Self {
            network: u32::from(ip) & mask,
            prefix_len,
            ports: (lo, hi),
        })
    }

    /// The first usable address (the `kubernetes` Service's).
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix_len)
    }

    pub(super) fn contains(&self, ip: Ipv4Addr) -> bool {
        let v = u32::from(ip);
        v > self.network && v < self.network + self.size() - 1
    }

    fn cidr(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.network), self.prefix_len)
    }
}

pub(super) fn services() -> &'static ResourceInfo {
    find_by_plural("", "v1", "services").expect("the resource table has services")
}

fn invalid(name: &str, field: &str, message: String) -> ApiError {
    ApiError::invalid(
        services(),
        name,
        vec![Cause {
            reason: "FieldValueInvalid".into(),
            message,
            field: field.into(),
        }],
    )
}

/// A random starting offset so allocations spread over the range.
fn random_offset(modulo: u32) -> u32 {
    let bytes = uuid::Uuid::new_v4();
    let b = bytes.as_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) % modulo.max(1)
}

/// Node ports a Service type needs.
fn wants_node_ports(service: &Value) -> bool {
    matches!(
        service.pointer("/spec/type").and_then(Value::as_str),
        Some("NodePort" | "LoadBalancer")
    )
}

/// The node ports a Service holds.
pub fn node_ports(service: &Value) -> Vec<u16> {
    service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| {
                    p.get("nodePort")
                        .and_then(Value::as_u64)
                        .and_then(|n| u16::try_from(n).ok())
                })
                .filter(|n| *n > 0)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn cluster_ip(service: &Value) -> Option<Ipv4Addr> {
    service
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

impl Registry {
    async fn used(&self, prefix: &str) -> Result<HashSet<String>, ApiError> {
        let page = self
            .storage
            .list(ListOptions {
                prefix: prefix.as_bytes().to_vec(),
                ..ListOptions::default()
            })
            .await
            .map_err(|e| ApiError::from_storage(e, services(), ""))?;
        Ok(page
            .kvs
            .iter()
            .filter_map(|kv| kv.key.strip_prefix(prefix.as_bytes()))
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect())
    }

    /// Reserves one key; false if someone holds it.
    async fn reserve(&self, prefix: &str, item: &str, owner: &str) -> Result<bool, ApiError> {
        let key = format!("{prefix}{item}");
        match self
            .storage
            .create(key.as_bytes(), owner.as_bytes().to_vec())
            .await
        {
            Ok(_) => Ok(true),
            Err(StorageError::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(ApiError::from_storage(e, services(), "")),
        }
    }

    async fn release(&self, prefix: &str, item: &str) {
        let key = format!("{prefix}{item}");
        if let Err(e) = self.storage.delete(key.as_bytes(), None).await
            && !matches!(e, StorageError::NotFound { .. })
        {
            tracing::warn!(error = %e, key, "releasing a service allocation failed");
        }
    }

    /// Allocates the ClusterIP and node ports of a new Service, writing them
    /// into it. On error nothing stays reserved.
    pub(super) async fn allocate_service(
        &self,
        service: &mut Value,
        owner: &str,
    ) -> Result<(), ApiError> {
        let name = service
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let ranges = self.ranges;
        let kind = service
            .pointer("/spec/type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_owned();
        let requested = service
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut taken_ip = None;
        if kind != "ExternalName" && requested != "None" {
            let ip = if requested.is_empty() {
                self.allocate_ip(owner).await?
            } else {
                let ip: Ipv4Addr = requested.parse().map_err(|_| {
                    invalid(
                        &name,
                        "spec.clusterIPs",
                        format!(
                            "Invalid value: []string{{\"{requested}\"}}: must be a valid IP address"
                        ),
                    )
                })?;
                if !ranges.contains(ip) {
                    return Err(invalid(
                        &name,
                        "spec.clusterIPs",
                        format!(
                            "Invalid value: []string{{\"{ip}\"}}: failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                            ranges.cidr()
                        ),
                    ));
                }
                if !self.reserve(IP_PREFIX, &ip.to_string(), owner).await? {
                    return Err(invalid(
                        &name,
                        "spec.clusterIPs",
                        format!(
                            "Invalid value: []string{{\"{ip}\"}}: failed to allocate IP {ip}: provided IP is already allocated"
                        ),
                    ));
                }
                ip
            };
            taken_ip = Some(ip);
            if let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("clusterIP".into(), json!(ip.to_string()));
                spec.insert("clusterIPs".into(), json!([ip.to_string()]));
                spec.insert("ipFamilies".into(), json!(["IPv4"]));
                spec.insert("ipFamilyPolicy".into(), json!("SingleStack"));
            }
        } else if requested == "None"
            && let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut)
        {
            spec.insert("clusterIPs".into(), json!(["None"]));
            spec.insert("ipFamilies".into(), json!(["IPv4"]));
            spec.insert("ipFamilyPolicy".into(), json!("SingleStack"));
        }
        if wants_node_ports(service)
            && let Err(e) = self.allocate_node_ports(service, &name, owner, &[]).await
        {
            if let Some(ip) = taken_ip {
                self.release(IP_PREFIX, &ip.to_string()).await;
            }
            return Err(e);
        }
        Ok(())
    }

    async fn allocate_ip(&self, owner: &str) -> Result<Ipv4Addr, ApiError> {
        let ranges = self.ranges;
        let used = self.used(IP_PREFIX).await?;
        let usable = ranges.size().saturating_sub(2);
        let start = random_offset(usable);
        for i in 0..usable {
            let ip = Ipv4Addr::from(ranges.network + 1 + (start + i) % usable);
            if used.contains(&ip.to_string()) || ip == ranges.first_ip() {
                continue;
            }
            if self.reserve(IP_PREFIX, &ip.to_string(), owner).await? {
                return Ok(ip);
            }
        }
        Err(ApiError::internal(
            "range is full: no ClusterIP left to allocate",
        ))
    }

    /// Allocates node ports for ports lacking one (and reserves the ones set
    /// explicitly, except those in `already_held`).
    async fn allocate_node_ports(
        &self,
        service: &mut Value,
        name: &str,
        owner: &str,
        already_held: &[u16],
    ) -> Result<(), ApiError> {
        let (lo, hi) = self.ranges.ports;
        let count = u32::from(hi - lo) + 1;
        let mut reserved: Vec<u16> = Vec::new();
        let Some(ports) = service
            .pointer_mut("/spec/ports")
            .and_then(Value::as_array_mut)
        else {
            return Ok(());
        };
        let mut outcome = Ok(());
        'ports: for (index, port) in ports.iter_mut().enumerate() {
            let explicit = port
                .get("nodePort")
                .and_then(Value::as_u64)
                .filter(|n| *n > 0);
            if let Some(n) = explicit {
                let Some(n16) = u16::try_from(n).ok().filter(|n| (lo..=hi).contains(n)) else {
                    outcome = Err(invalid(
                        name,
                        &format!("spec.ports[{index}].nodePort"),
                        format!(
                            "Invalid value: {n}: provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
                        ),
                    ));
                    break;
                };
                if already_held.contains(&n16) {
                    continue;
                }
                match self.reserve(PORT_PREFIX, &n16.to_string(), owner).await {
                    Ok(true) => reserved.push(n16),
                    Ok(false) => {
                        outcome = Err(invalid(
                            name,
                            &format!("spec.ports[{index}].nodePort"),
                            format!("Invalid value: {n16}: provided port is already allocated"),
                        ));
                        break;
                    }
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
                continue;
            }
            let used = match self.used(PORT_PREFIX).await {
                Ok(u) => u,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            let start = random_offset(count);
            for i in 0..count {
                let candidate = lo + u16::try_from((start + i) % count).unwrap_or(0);
                if used.contains(&candidate.to_string()) {
                    continue;
                }
                match self
                    .reserve(PORT_PREFIX, &candidate.to_string(), owner)
                    .await
                {
                    Ok(true) => {
                        reserved.push(candidate);
                        if let Some(map) = port.as_object_mut() {
                            map.insert("nodePort".into(), json!(candidate));
                        }
                        continue 'ports;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        outcome = Err(e);
                        break 'ports;
                    }
                }
            }
            outcome = Err(ApiError::internal(
                "range is full: no NodePort left to allocate",
            ));
            break;
        }
        if outcome.is_err() {
            for port in reserved {
                self.release(PORT_PREFIX, &port.to_string()).await;
            }
        }
        outcome
    }

    /// Releases everything a deleted (or failed-to-create) Service held.
    pub(super) async fn release_service(&self, service: &Value) {
        if let Some(ip) = cluster_ip(service)
            && self.ranges.contains(ip)
        {
            self.release(IP_PREFIX, &ip.to_string()).await;
        }
        for port in node_ports(service) {
            self.release(PORT_PREFIX, &port.to_string()).await;
        }
    }

    /// Releases node ports an update reserved but failed to store.
    pub(super) async fn release_new_node_ports(&self, new: &Value, old: &Value) {
        let held = node_ports(old);
        for port in node_ports(new).into_iter().filter(|p| !held.contains(p)) {
            self.release(PORT_PREFIX, &port.to_string()).await;
        }
    }

    /// On update: allocates node ports the new spec needs and releases the
    /// ones it dropped.
    pub(super) async fn reallocate_node_ports(
        &self,
        new: &mut Value,
        old: &Value,
        owner: &str,
    ) -> Result<(), ApiError> {
        let held = node_ports(old);
        if wants_node_ports(new) {
            let name = new
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            self.allocate_node_ports(new, &name, owner, &held).await?;
        } else if let Some(ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for port in ports {
                if let Some(map) = port.as_object_mut() {
                    map.remove("nodePort");
                }
            }
        }
        let kept = node_ports(new);
        for port in held.into_iter().filter(|p| !kept.contains(p)) {
            self.release(PORT_PREFIX, &port.to_string()).await;
        }
        Ok(())
    }
}

/// Copies what an update may leave out from the stored Service, as upstream
/// does: the ClusterIP fields, and node ports of ports that stay.
pub fn preserve_allocations(new: &mut Value, old: &Value) {
    let Some(old_spec) = old.get("spec") else {
        return;
    };
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let empty_ip = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    if empty_ip {
        for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if let Some(v) = old_spec.get(field) {
                spec.insert(field.into(), v.clone());
            }
        }
    }
    let old_ports = old_spec
        .get("ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports {
            let has = port
                .get("nodePort")
                .and_then(Value::as_u64)
                .is_some_and(|n| n > 0);
            if has {
                continue;
            }
            let same = old_ports.iter().find(|o| {
                o.get("port") == port.get("port")
                    && o.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                        == port
                            .get("protocol")
                            .and_then(Value::as_str)
                            .unwrap_or("TCP")
            });
            if let (Some(node_port), Some(map)) =
                (same.and_then(|o| o.get("nodePort")), port.as_object_mut())
            {
                map.insert("nodePort".into(), node_port.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_bound_addresses() {
        let r = ServiceRanges::parse("10.96.0.0/12", "30000-32767").expect("valid");
        assert_eq!(r.first_ip(), Ipv4Addr::new(10, 96, 0, 1));
        assert!(r.contains(Ipv4Addr::new(10, 111, 255, 254)));
        assert!(!r.contains(Ipv4Addr::new(10, 112, 0, 1)));
        assert!(!r.contains(Ipv4Addr::new(10, 96, 0, 0)));
        assert!(ServiceRanges::parse("10.96.0.0", "1-2").is_err());
        assert!(ServiceRanges::parse("10.96.0.0/12", "5-1").is_err());
    }
}
