//! The open-tabs load of `make bench-tabs` (scripts/bench-tabs.sh): signs in one session per
//! simulated tab, then lets every tab read its status (`GET /api/v1/session`, passive) on the
//! countdown's normal schedule — every 2 s, phases spread evenly — for a while, and reports
//! what that cost the server: database statements per request (from its `/metrics`), its CPU
//! time (from `/proc`), and the requests' latency.
//!   tabs BASE_URL SERVER_PID [TABS] [SECONDS]   (defaults: 5000 tabs, 60 s)
//!
//! The sign-in password is read from the `TABS_PASSWORD` environment variable, the username
//! from `TABS_USER` (default `bench`). The account must allow as many sessions as tabs.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

/// The countdown's refresh period (app/src/components/countdown/live.rs, `REFRESH_MS`).
const POLL_EVERY: Duration = Duration::from_secs(2);
/// Sign-ins run at once (the server hashes one password per core and queues a few more).
const SIGN_IN_CONCURRENCY: usize = 4;
/// The user agent every tab sends (sessions are bound to the one they signed in with).
const USER_AGENT: &str = "auto-logout tabs load";

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What one run measured.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: tabs BASE_URL SERVER_PID [TABS] [SECONDS]";
    let base = args.next().ok_or(usage)?;
    let pid: u32 = args.next().ok_or(usage)?.parse()?;
    let tabs: usize = args.next().map_or(Ok(5_000), |s| s.parse())?;
    let seconds: u64 = args.next().map_or(Ok(60), |s| s.parse())?;
    let user = std::env::var("TABS_USER").unwrap_or_else(|_| "bench".to_owned());
    let password = std::env::var("TABS_PASSWORD").map_err(|_| "set TABS_PASSWORD")?;

    let client = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .build()?;

    let started = Instant::now();
    let cookies = sign_in_all(&client, &base, &user, &password, tabs).await?;
    println!(
        "signed in {} sessions in {:.1} s",
        cookies.len(),
        started.elapsed().as_secs_f64()
    );

    // Let every tab settle into its schedule (and the server's caches fill) before measuring.
    let tally = Arc::new(Tally::default());
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_at = Instant::now() + POLL_EVERY * 2 + Duration::from_secs(seconds);
    let mut tasks = Vec::with_capacity(cookies.len());
    for (i, cookie) in cookies.into_iter().enumerate() {
        let phase = POLL_EVERY.mul_f64(i as f64 / tabs as f64);
        let client = client.clone();
        let url = format!("{base}/api/v1/session");
        let tally = Arc::clone(&tally);
        let measuring = Arc::clone(&measuring);
        tasks.push(tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + phase, POLL_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if Instant::now() >= stop_at {
                    break;
                }
                let sent = Instant::now();
                let result = client.get(&url).header("cookie", &cookie).send().await;
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                match result {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                        let us = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                        tally.latencies_us.lock().expect("not poisoned").push(us);
                    }
                    _ => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(POLL_EVERY * 2).await;
    let queries_before = db_statements(&client, &base).await?;
    let cpu_before = cpu_seconds(pid)?;
    measuring.store(true, Ordering::Relaxed);
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = window.elapsed().as_secs_f64();
    let queries = db_statements(&client, &base).await? - queries_before;
    let cpu = cpu_seconds(pid)? - cpu_before;
    for task in tasks {
        task.await?;
    }

    let ok = tally.ok.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    let mut latencies = std::mem::take(&mut *tally.latencies_us.lock().expect("not poisoned"));
    latencies.sort_unstable();
    let p = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    println!(
        "tabs {tabs}, each polling every {} s, measured {elapsed:.1} s",
        POLL_EVERY.as_secs()
    );
    println!(
        "requests {ok} ok, {failed} failed ({:.0} req/s); latency p50 {:.2} ms, p99 {:.2} ms",
        ok as f64 / elapsed,
        p(0.50),
        p(0.99)
    );
    println!(
        "database statements {queries:.0} ({:.4} per request, {:.1} per second)",
        queries / ok.max(1) as f64,
        queries / elapsed
    );
    println!(
        "server CPU {cpu:.2} s ({:.1}% of one core)",
        cpu / elapsed * 100.0
    );
    if failed > 0 {
        return Err(format!("{failed} status reads failed").into());
    }
    Ok(())
}

/// Signs `user` in `count` times (a few at once) and returns each session's cookie.
async fn sign_in_all(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    count: usize,
) -> Result<Vec<String>, Failure> {
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..SIGN_IN_CONCURRENCY {
        let (client, base, user, password) = (
            client.clone(),
            base.to_owned(),
            user.to_owned(),
            password.to_owned(),
        );
        let next = Arc::clone(&next);
        workers.push(tokio::spawn(async move {
            let mut cookies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count as u64 {
                cookies.push(sign_in(&client, &base, &user, &password).await?);
            }
            Ok::<_, Failure>(cookies)
        }));
    }
    let mut cookies = Vec::with_capacity(count);
    for worker in workers {
        cookies.extend(worker.await??);
    }
    Ok(cookies)
}

/// One sign-in through the form; the session cookie it set, as a `Cookie` header value.
async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> Result<String, Failure> {
    for _ in 0..20 {
        let response = client
            .post(format!("{base}/sign-in"))
            .form(&[("username", user), ("password", password)])
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            // No hashing slot came free in time: wait and try again.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.contains("auto_logout_session=") && !v.contains("Max-Age=0"))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        return cookie.ok_or_else(|| {
            format!(
                "sign-in answered {} without a session cookie",
                response.status()
            )
            .into()
        });
    }
    Err("sign-in stayed busy".into())
}

/// The server's count of database statements so far (`auto_logout_db_queries_total`).
async fn db_statements(client: &reqwest::Client, base: &str) -> Result<f64, Failure> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    text.lines()
        .find_map(|line| line.strip_prefix("auto_logout_db_queries_total "))
        .ok_or("no auto_logout_db_queries_total in /metrics")?
        .trim()
        .parse()
        .map_err(Into::into)
}

/// CPU time (user + system) the process `pid` has used, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64, Failure> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').ok_or("unreadable /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).ok_or("short /proc stat")?.parse::<f64>()?
        + fields.get(12).ok_or("short /proc stat")?.parse::<f64>()?;
    // The kernel's USER_HZ, fixed at 100 on Linux.
    Ok(ticks / 100.0)
}
