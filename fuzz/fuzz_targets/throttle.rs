//! The sign-in throttle's keys and rule over any input: a typed name of any size gives a key of
//! fixed size, any client address a bounded key, and a refusal never asks for a wait longer
//! than the window.
#![no_main]

use auto_logout::{
    server::login_attempts::{ip_key, net_key},
    throttle::{decide_with_network, Attempt, ThrottleDecision, ThrottlePolicy},
    UnixMillis,
};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ip = ip_key(Some(&text));
    assert!(ip.len() <= 45, "{ip}");
    if let Some(net) = net_key(Some(&text)) {
        assert!(net.ends_with("::/48"), "{net}");
    }
    let policy = ThrottlePolicy {
        max_per_user: u32::from(data.first().copied().unwrap_or(5) % 8),
        max_per_ip: u32::from(data.get(1).copied().unwrap_or(50) % 16),
        window: Duration::from_secs(900),
    };
    let now = UnixMillis(1_800_000_000_000);
    let attempts: Vec<Attempt> = data
        .chunks(3)
        .map(|c| Attempt {
            at: UnixMillis(now.as_millis() - i64::from(c[0]) * 10_000),
            failed: c.get(1).is_some_and(|b| b % 2 == 0),
        })
        .collect();
    let third = attempts.len() / 3;
    let (user, rest) = attempts.split_at(third);
    let (ip_attempts, net) = rest.split_at(third);
    if let ThrottleDecision::Throttled { until, .. } =
        decide_with_network(&policy, user, ip_attempts, net, now)
    {
        assert!(until > now && until.as_millis() - now.as_millis() <= 900_000);
    }
});
