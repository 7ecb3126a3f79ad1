//! Who is on the other end: client IP (socket peer, or X-Forwarded-For from a trusted proxy)
//! and user agent, put into the request's extensions as a [`ClientInfo`].

use auto_logout::server::ClientInfo;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

/// The longest user agent kept; longer ones are cut.
const MAX_USER_AGENT: usize = 512;

/// The client IP: the socket peer, unless the peer is a trusted proxy, in which case the
/// right-most X-Forwarded-For address that is not itself a trusted proxy.
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

/// Reads the client's IP and user agent into a [`ClientInfo`] extension.
pub async fn client_info(
    State(trusted): State<Arc<Vec<IpNet>>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, req.headers(), &trusted).map(|ip| ip.to_string());
    let user_agent = req.headers().get(axum::http::header::USER_AGENT).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .chars()
            .take(MAX_USER_AGENT)
            .collect()
    });
    req.extensions_mut().insert(ClientInfo { ip, user_agent });
    next.run(req).await
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
}
