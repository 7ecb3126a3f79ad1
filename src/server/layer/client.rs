//! Who is on the other end of a request: its IP (the socket peer, or `X-Forwarded-For` from a
//! trusted proxy) and its user agent.

use super::super::sessions::ClientInfo;
use axum::http::{header, HeaderMap};
use ipnet::IpNet;
use std::net::IpAddr;

/// The longest user agent kept; longer ones are cut.
pub const MAX_USER_AGENT: usize = 512;

/// The client IP: the socket peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` address that is not itself a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !is_trusted(ip))
            .unwrap_or(peer),
    )
}

/// The request's [`ClientInfo`]: [`client_ip`] and the user agent (lossy UTF-8, at most
/// [`MAX_USER_AGENT`] characters).
pub fn client_info(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> ClientInfo {
    ClientInfo {
        ip: client_ip(peer, headers, trusted),
        user_agent: headers
            .get(header::USER_AGENT)
            .map(|v| bounded_user_agent(v.as_bytes())),
    }
}

/// `raw` as text (invalid UTF-8 replaced) cut to [`MAX_USER_AGENT`] characters. The usual
/// header, valid and short, is copied as it is.
fn bounded_user_agent(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        // At most that many bytes is at most that many characters.
        Ok(text) if text.len() <= MAX_USER_AGENT => text.to_owned(),
        _ => String::from_utf8_lossy(raw)
            .chars()
            .take(MAX_USER_AGENT)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let ip = client_ip(
            Some("203.0.113.9".parse().unwrap()),
            &headers("1.2.3.4"),
            &[],
        );
        assert_eq!(ip, Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let ip = client_ip(
            Some("10.0.0.2".parse().unwrap()),
            &headers("6.6.6.6, 198.51.100.7, 10.0.0.3"),
            &trusted,
        );
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn long_user_agents_are_cut() {
        let mut h = HeaderMap::new();
        h.insert(header::USER_AGENT, "x".repeat(2000).parse().unwrap());
        let info = client_info(None, &h, &[]);
        assert_eq!(info.user_agent.unwrap().len(), MAX_USER_AGENT);
        assert_eq!(info.ip, None);
    }

    #[test]
    fn user_agents_are_counted_in_characters_and_bad_bytes_replaced() {
        // 300 two-byte characters: 600 bytes, kept whole.
        assert_eq!(
            bounded_user_agent("é".repeat(300).as_bytes()),
            "é".repeat(300)
        );
        assert_eq!(
            bounded_user_agent("é".repeat(600).as_bytes())
                .chars()
                .count(),
            MAX_USER_AGENT
        );
        assert_eq!(
            bounded_user_agent(b"Mozilla/5.0 \xff"),
            "Mozilla/5.0 \u{fffd}"
        );
        assert_eq!(bounded_user_agent(b"curl/8.5.0"), "curl/8.5.0");
    }
}
