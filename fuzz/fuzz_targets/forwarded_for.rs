//! The client IP from X-Forwarded-For behind trusted proxies.
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use auto_logout::server::layer::client::client_ip;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let (peer_byte, rest) = data.split_first().unwrap_or((&0, &[]));
    let peer: IpAddr = if peer_byte % 2 == 0 {
        "10.0.0.1".parse().unwrap()
    } else {
        "203.0.113.5".parse().unwrap()
    };
    let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
    let mut headers = HeaderMap::new();
    for part in rest.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append("x-forwarded-for", value);
        }
    }
    let ip = client_ip(Some(peer), &headers, &trusted).expect("a peer always gives an IP");
    if !trusted.iter().any(|net| net.contains(&peer)) {
        assert_eq!(ip, peer, "an untrusted peer is never overridden");
    } else if ip != peer {
        assert!(!trusted.iter().any(|net| net.contains(&ip)), "a proxy is never the client");
    }
});
