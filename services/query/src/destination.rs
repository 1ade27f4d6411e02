//! Where webhooks may go. A shipper names the callback URL, so without a check any shipper could
//! make the server POST to itself, to the cluster's private services or to a cloud metadata
//! endpoint (SSRF). A destination is refused when its host is, or resolves to, a loopback,
//! private, shared (CGNAT), link-local, unspecified, broadcast, multicast or unique-local address —
//! IPv4-mapped, -compatible and NAT64 IPv6 addresses judged by the IPv4 address inside. The URL
//! parser has already turned every spelling of an address (`2130706433`, `0x7f.0.0.1`, `127.1`)
//! into its canonical form.
//!
//! The check runs when a subscription is created and again at every connection: names are
//! resolved by [`GuardedResolver`], which hands the HTTP client only allowed addresses, so a name
//! that resolves elsewhere later (DNS rebinding) cannot reach a forbidden address either.
//!
//! `--webhook-allow HOST_OR_CIDR` (repeatable; `KOUAN_WEBHOOK_ALLOW`, comma-separated) allows named
//! hosts (whatever they resolve to) or networks, for receivers on premises.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// What may be reached besides public addresses.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    hosts: Vec<String>,
    networks: Vec<IpNet>,
}

impl DestinationPolicy {
    /// From `--webhook-allow` values: each a CIDR network, an address, or a host name.
    pub fn new(allow: &[String]) -> Result<Self, String> {
        let mut policy = DestinationPolicy::default();
        for entry in allow.iter().flat_map(|e| e.split(',')).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            if let Ok(network) = entry.parse::<IpNet>() {
                policy.networks.push(network);
            } else if let Ok(address) = entry.parse::<IpAddr>() {
                policy.networks.push(IpNet::from(address));
            } else if entry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                policy.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "--webhook-allow: `{entry}` is neither a host name, an address nor a CIDR network"
                ));
            }
        }
        Ok(policy)
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether `address` may be connected to.
    pub fn address_allowed(&self, address: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(&address)) || is_public(address)
    }

    /// The check of a callback URL's host: `Err` with the reason when it may not be reached.
    /// Names are resolved (asynchronously); an allowed name passes whatever it resolves to.
    pub async fn check(&self, url: &reqwest::Url) -> Result<(), String> {
        match url.host() {
            None => Err("has no host".into()),
            Some(url::Host::Ipv4(v4)) => self.check_address(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => self.check_address(IpAddr::V6(v6)),
            Some(url::Host::Domain(name)) => {
                if self.host_allowed(name) {
                    return Ok(());
                }
                let port = url.port_or_known_default().unwrap_or(80);
                let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                    .await
                    .map_err(|error| format!("host `{name}` does not resolve: {error}"))?
                    .collect();
                if addresses.is_empty() {
                    return Err(format!("host `{name}` does not resolve"));
                }
                addresses
                    .iter()
                    .try_for_each(|address| self.check_address(address.ip()))
            }
        }
    }

    fn check_address(&self, address: IpAddr) -> Result<(), String> {
        if self.address_allowed(address) {
            Ok(())
        } else {
            Err(format!(
                "{address} is not a public address (loopback, private, link-local and the like are refused; --webhook-allow admits them)"
            ))
        }
    }
}

/// A public, unicast address: none of the ranges in the module's description.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    let shared = a == 100 && (64..128).contains(&b);
    let this_network = a == 0;
    let reserved = a >= 240;
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || shared
        || this_network
        || reserved)
}

fn is_public_v6(v6: Ipv6Addr) -> bool {
    let first = v6.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || unique_local || link_local)
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) or
/// NAT64 (`64:ff9b::a.b.c.d`) IPv6 address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let compatible = s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified();
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    (mapped || compatible || nat64).then_some(low)
}

/// The HTTP client's resolver: system resolution, then only the addresses the policy allows. A
/// name with none left fails to connect, with the reason.
pub struct GuardedResolver {
    policy: Arc<DestinationPolicy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<DestinationPolicy>) -> Self {
        GuardedResolver { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = if policy.host_allowed(&host) {
                resolved
            } else {
                resolved
                    .into_iter()
                    .filter(|address| policy.address_allowed(address.ip()))
                    .collect()
            };
            if allowed.is_empty() {
                return Err(format!("webhook host `{host}` resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).unwrap()
    }

    #[tokio::test]
    async fn every_spelling_of_loopback_and_private_ranges_is_refused() {
        let policy = DestinationPolicy::default();
        for refused in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://localhost/",
        ] {
            assert!(policy.check(&url(refused)).await.is_err(), "{refused}");
        }
        for allowed in ["http://93.184.216.34/", "http://[2606:2800:220:1::1]/"] {
            assert!(policy.check(&url(allowed)).await.is_ok(), "{allowed}");
        }
    }

    #[tokio::test]
    async fn the_allow_list_admits_networks_and_names() {
        let policy =
            DestinationPolicy::new(&["127.0.0.0/8, receiver.internal".into(), "10.0.0.7".into()])
                .unwrap();
        assert!(policy.check(&url("http://127.0.0.1:9/")).await.is_ok());
        assert!(policy.check(&url("http://10.0.0.7/")).await.is_ok());
        assert!(policy.check(&url("http://10.0.0.8/")).await.is_err());
        assert!(policy
            .check(&url("http://receiver.internal/"))
            .await
            .is_ok());
        assert!(DestinationPolicy::new(&["not a host!".into()]).is_err());
    }
}
