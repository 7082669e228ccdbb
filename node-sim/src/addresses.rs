//! Synthetic addresses: each node's InternalIP and pod CIDR, and the pool
//! that hands out pod IPs from a node's CIDR.
//!
//! Node `i` gets InternalIP `172.18.0.0/16` host `i + 2` (as in a kind
//! network, `.1` being the gateway) and pod CIDR `10.S.T.0/24` with
//! `S = (244 + i / 256) mod 256`, `T = i mod 256`: the first 256 nodes get
//! exactly kind's `10.244.<i>.0/24`, later ones continue through
//! `10.245.0.0/16` … `10.255.0.0/16` and then wrap to `10.0.0.0/16` …
//! `10.243.0.0/16`, unique for up to 65,536 nodes. No traffic is ever sent
//! to these addresses.

use std::net::Ipv4Addr;

/// The most nodes one simulator registers (the InternalIP range's size).
pub const MAX_NODES: u32 = 65_533;

/// The InternalIP of node number `index`.
pub fn internal_ip(index: u32) -> Ipv4Addr {
    let host = index.wrapping_add(2) & 0xffff;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(172, 18, 0, 0)) | host)
}

/// The pod CIDR of node number `index`.
pub fn pod_cidr(index: u32) -> Cidr {
    let second = ((244 + index / 256) % 256) as u8;
    let third = (index % 256) as u8;
    Cidr {
        base: Ipv4Addr::new(10, second, third, 0),
        prefix: 24,
    }
}

/// An IPv4 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The network address.
    pub base: Ipv4Addr,
    /// The prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/p` (IPv4 only); host bits are cleared.
    pub fn parse(text: &str) -> Option<Self> {
        let (ip, prefix) = text.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        if prefix > 32 {
            return None;
        }
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        Some(Self {
            base: Ipv4Addr::from(u32::from(ip) & mask),
            prefix,
        })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// Pod IPs of one node: offsets into its CIDR, skipping the network
/// address, the gateway (`.1`) and the broadcast address. At most the first
/// 65,536 addresses of a wider CIDR are used.
#[derive(Debug)]
pub struct IpPool {
    cidr: Cidr,
    base: u32,
    size: u32,
    used: Vec<u64>,
    cursor: u32,
}

impl IpPool {
    /// An empty pool over `cidr`.
    pub fn new(cidr: Cidr) -> Self {
        let size = if cidr.prefix >= 16 {
            1u32 << (32 - u32::from(cidr.prefix))
        } else {
            1 << 16
        };
        Self {
            cidr,
            base: u32::from(cidr.base),
            size,
            used: vec![0; size.div_ceil(64) as usize],
            cursor: 2,
        }
    }

    /// The CIDR the pool hands out addresses of.
    pub fn cidr(&self) -> Cidr {
        self.cidr
    }

    fn usable(&self, offset: u32) -> bool {
        offset >= 2 && offset + 1 < self.size
    }

    fn bit(&self, offset: u32) -> (usize, u64) {
        ((offset / 64) as usize, 1u64 << (offset % 64))
    }

    /// Takes a free address (rotating, so a released one is not reused at
    /// once), or `None` when the CIDR is full.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        for step in 0..self.size {
            let offset = (self.cursor + step) % self.size;
            if !self.usable(offset) {
                continue;
            }
            let (word, mask) = self.bit(offset);
            if self.used[word] & mask == 0 {
                self.used[word] |= mask;
                self.cursor = (offset + 1) % self.size;
                return Some(Ipv4Addr::from(self.base + offset));
            }
        }
        None
    }

    /// Marks `ip` as taken (a pod that already had it); false when it is
    /// outside the pool or already taken.
    pub fn claim(&mut self, ip: Ipv4Addr) -> bool {
        let Some(offset) = self.offset(ip) else {
            return false;
        };
        let (word, mask) = self.bit(offset);
        if self.used[word] & mask != 0 {
            return false;
        }
        self.used[word] |= mask;
        true
    }

    /// Returns `ip` to the pool.
    pub fn release(&mut self, ip: Ipv4Addr) {
        if let Some(offset) = self.offset(ip) {
            let (word, mask) = self.bit(offset);
            self.used[word] &= !mask;
        }
    }

    fn offset(&self, ip: Ipv4Addr) -> Option<u32> {
        let offset = u32::from(ip).checked_sub(self.base)?;
        (offset < self.size && self.usable(offset)).then_some(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn node_addresses_are_unique_for_all_nodes() {
        let mut cidrs = HashSet::new();
        let mut ips = HashSet::new();
        for i in 0..MAX_NODES {
            assert!(cidrs.insert(pod_cidr(i)), "cidr of {i}");
            assert!(ips.insert(internal_ip(i)), "ip of {i}");
        }
        assert_eq!(pod_cidr(0).to_string(), "10.244.0.0/24");
        assert_eq!(pod_cidr(255).to_string(), "10.244.255.0/24");
        assert_eq!(pod_cidr(256).to_string(), "10.245.0.0/24");
        assert_eq!(pod_cidr(12 * 256).to_string(), "10.0.0.0/24");
        assert_eq!(internal_ip(0), Ipv4Addr::new(172, 18, 0, 2));
        assert_eq!(internal_ip(300), Ipv4Addr::new(172, 18, 1, 46));
        assert_eq!(internal_ip(MAX_NODES - 1), Ipv4Addr::new(172, 18, 255, 254));
    }

    #[test]
    fn cidrs_parse_and_print() {
        let cidr = Cidr::parse("10.244.3.7/24");
        assert_eq!(
            cidr.map(|c| c.to_string()).as_deref(),
            Some("10.244.3.0/24")
        );
        assert!(Cidr::parse("fd00::/64").is_none());
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("10.0.0.0").is_none());
    }

    #[test]
    fn pool_hands_out_each_usable_address_once() {
        let mut pool = IpPool::new(pod_cidr(0));
        let mut seen = HashSet::new();
        while let Some(ip) = pool.allocate() {
            assert!(seen.insert(ip));
        }
        assert_eq!(seen.len(), 253);
        assert!(!seen.contains(&Ipv4Addr::new(10, 244, 0, 0)));
        assert!(!seen.contains(&Ipv4Addr::new(10, 244, 0, 1)));
        assert!(!seen.contains(&Ipv4Addr::new(10, 244, 0, 255)));
        pool.release(Ipv4Addr::new(10, 244, 0, 9));
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 244, 0, 9)));
    }

    #[test]
    fn pool_claims_existing_addresses() {
        let mut pool = IpPool::new(pod_cidr(1));
        assert!(pool.claim(Ipv4Addr::new(10, 244, 1, 2)));
        assert!(!pool.claim(Ipv4Addr::new(10, 244, 1, 2)));
        assert!(!pool.claim(Ipv4Addr::new(10, 244, 2, 2)));
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 244, 1, 3)));
    }
}
