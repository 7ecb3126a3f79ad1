//! Keeping no more of a person than needed (`ip_retention`): what is left of a client's IP
//! address once the retention has passed.
//!
//! An address is cut to its network: the first 24 bits of an IPv4 address, the first 48 of an
//! IPv6 one, written as the network (`203.0.113.0/24`, `2001:db8:1234::/48`). That still says
//! roughly where a sign-in came from (an ISP, a city) without naming the household or the
//! device. Anything that is not an address is removed.
//!
//! ```
//! use auto_logout::privacy::{truncate_ip, Truncated};
//! assert_eq!(truncate_ip("203.0.113.77"), Truncated::Network("203.0.113.0/24".into()));
//! assert_eq!(truncate_ip("2001:db8:1234:5678::1"), Truncated::Network("2001:db8:1234::/48".into()));
//! assert_eq!(truncate_ip("203.0.113.0/24"), Truncated::Already);
//! assert_eq!(truncate_ip("not an address"), Truncated::Removed);
//! ```

use crate::clock::UnixMillis;
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

/// How many leading bits of an IPv4 address are kept.
pub const IPV4_PREFIX: u8 = 24;
/// How many leading bits of an IPv6 address are kept.
pub const IPV6_PREFIX: u8 = 48;

/// What is kept of an address after the retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truncated {
    /// Its network, as `address/prefix`.
    Network(String),
    /// It was already a network this coarse (or coarser): kept as it is.
    Already,
    /// Not an address: nothing is kept.
    Removed,
}

impl Truncated {
    /// What to store in place of `original`: the network, the original when it already was
    /// one, or nothing.
    pub fn stored(self, original: &str) -> Option<String> {
        match self {
            Truncated::Network(network) => Some(network),
            Truncated::Already => Some(original.to_owned()),
            Truncated::Removed => None,
        }
    }
}

/// What is kept of the address `ip` (see the module documentation).
pub fn truncate_ip(ip: &str) -> Truncated {
    let ip = ip.trim();
    if let Some((address, prefix)) = ip.split_once('/') {
        let coarse = match (address.parse::<IpAddr>(), prefix.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(bits)) => bits <= IPV4_PREFIX,
            (Ok(IpAddr::V6(_)), Ok(bits)) => bits <= IPV6_PREFIX,
            _ => false,
        };
        return if coarse {
            Truncated::Already
        } else {
            match address.parse::<IpAddr>() {
                Ok(address) => network_of(address),
                Err(_) => Truncated::Removed,
            }
        };
    }
    match ip.parse::<IpAddr>() {
        Ok(address) => network_of(address),
        Err(_) => Truncated::Removed,
    }
}

fn network_of(address: IpAddr) -> Truncated {
    // An IPv4 address written as IPv6 (`::ffff:203.0.113.77`) is cut as IPv4.
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    };
    Truncated::Network(match address {
        IpAddr::V4(v4) => {
            let kept = u32::from(v4) & (u32::MAX << (32 - IPV4_PREFIX));
            format!("{}/{IPV4_PREFIX}", Ipv4Addr::from(kept))
        }
        IpAddr::V6(v6) => {
            let kept = u128::from(v6) & (u128::MAX << (128 - IPV6_PREFIX));
            format!("{}/{IPV6_PREFIX}", Ipv6Addr::from(kept))
        }
    })
}

/// How long full client details (IP address, user agent) are kept (`ip_retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRetention(pub Duration);

impl IpRetention {
    /// Rows from before this moment are trimmed at `now`: sessions that ended before it, audit
    /// rows written before it. `None` when the retention is zero (kept for ever).
    pub fn trim_before(&self, now: UnixMillis) -> Option<UnixMillis> {
        (!self.0.is_zero()).then(|| now.minus(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_cut_to_their_network() {
        let network = |s: &str| Truncated::Network(s.to_owned());
        assert_eq!(truncate_ip("192.168.1.254"), network("192.168.1.0/24"));
        assert_eq!(truncate_ip(" 10.0.0.1 "), network("10.0.0.0/24"));
        assert_eq!(truncate_ip("::1"), network("::/48"));
        assert_eq!(
            truncate_ip("2001:db8:abcd:12:3456::9"),
            network("2001:db8:abcd::/48")
        );
        assert_eq!(
            truncate_ip("::ffff:198.51.100.9"),
            network("198.51.100.0/24")
        );
        assert_eq!(truncate_ip("198.51.100.9/32"), network("198.51.100.0/24"));
        assert_eq!(truncate_ip("198.51.100.0/24"), Truncated::Already);
        assert_eq!(truncate_ip("10.0.0.0/8"), Truncated::Already);
        assert_eq!(truncate_ip("2001:db8::/32"), Truncated::Already);
        for junk in ["", "unknown", "1.2.3", "999.1.1.1/24", "<script>"] {
            assert_eq!(truncate_ip(junk), Truncated::Removed, "{junk:?}");
        }
        assert_eq!(
            truncate_ip("10.1.2.3").stored("10.1.2.3"),
            Some("10.1.2.0/24".into())
        );
        assert_eq!(truncate_ip("x").stored("x"), None);
    }

    #[test]
    fn a_zero_retention_keeps_everything() {
        let now = UnixMillis(10 * 86_400_000);
        assert_eq!(IpRetention(Duration::ZERO).trim_before(now), None);
        assert_eq!(
            IpRetention(Duration::from_secs(86_400)).trim_before(now),
            Some(UnixMillis(9 * 86_400_000))
        );
    }

    proptest! {
        #[test]
        fn truncating_twice_changes_nothing_more(v4 in any::<u32>(), v6 in any::<u128>()) {
            for ip in [Ipv4Addr::from(v4).to_string(), Ipv6Addr::from(v6).to_string()] {
                let once = truncate_ip(&ip).stored(&ip).unwrap();
                prop_assert_eq!(truncate_ip(&once), Truncated::Already);
                // The network holds the address.
                let net: Vec<&str> = once.split('/').collect();
                prop_assert!(net.len() == 2);
            }
        }
    }
}
