//! Password hashing with Argon2id (the `argon2` crate's defaults: OWASP's m=19 MiB, t=2, p=1).

use super::error::StoreError;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};
use tokio::sync::Semaphore;

/// The shortest password `user add` and `user passwd` accept.
pub const MIN_PASSWORD_LEN: usize = 8;
/// The longest password accepted anywhere; longer input is refused before hashing.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// The most password hashes that wait for a free core, per core, before new ones are refused.
pub const QUEUE_PER_CORE: usize = 16;
/// The longest a queued hash waits for a free core before it is refused.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(3);
/// What a refused hash tells the client to wait (`Retry-After`), in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// Bounds the work of password hashing (SPEC §6 "Bounded work"): at most `parallel` hashes run
/// at once (each Argon2id hash holds about 19 MiB), at most `queue` more wait, each for at
/// most [`MAX_QUEUE_WAIT`]; anything beyond that is refused with [`StoreError::Busy`] at
/// once, so no burst of sign-ins can make memory or threads grow without bound. Cheap to clone;
/// clones share the bound.
#[derive(Debug, Clone)]
pub struct HashLimiter {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    max_wait: Duration,
}

impl HashLimiter {
    /// A limiter running `parallel` hashes at once with `queue` more waiting (both at least 1).
    pub fn new(parallel: usize, queue: usize, max_wait: Duration) -> Self {
        let parallel = parallel.max(1);
        Self {
            running: Arc::new(Semaphore::new(parallel)),
            admitted: Arc::new(Semaphore::new(parallel + queue.max(1))),
            max_wait,
        }
    }

    /// As many hashes at once as this machine has cores, [`QUEUE_PER_CORE`] waiting per core.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores, cores * QUEUE_PER_CORE, MAX_QUEUE_WAIT)
    }

    /// Takes a place among the hashes running or waiting, without waiting: the cheap first
    /// step of a sign-in, so that a refused attempt costs nothing else (no database work).
    ///
    /// # Errors
    /// [`StoreError::Busy`] when every place is taken.
    pub fn try_admit(&self) -> Result<HashPermit, StoreError> {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy())?;
        Ok(HashPermit {
            limiter: self.clone(),
            _admitted: admitted,
        })
    }

    /// Runs `work` on a blocking thread once a core is free ([`HashLimiter::try_admit`], then
    /// [`HashPermit::run`]).
    ///
    /// # Errors
    /// [`StoreError::Busy`] when the queue is full or the wait too long; [`StoreError::Task`]
    /// when the blocking task panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        self.try_admit()?.run(work).await
    }
}

fn busy() -> StoreError {
    StoreError::Busy {
        retry_after_secs: BUSY_RETRY_AFTER_SECS,
    }
}

/// A place among the password hashes running or waiting (see [`HashLimiter::try_admit`]).
#[derive(Debug)]
pub struct HashPermit {
    limiter: HashLimiter,
    _admitted: tokio::sync::OwnedSemaphorePermit,
}

impl HashPermit {
    /// Runs `work` on a blocking thread once a core is free, waiting at most the limiter's
    /// longest wait.
    ///
    /// # Errors
    /// [`StoreError::Busy`] when no core came free in time; [`StoreError::Task`] when the
    /// blocking task panicked.
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let running = tokio::time::timeout(
            self.limiter.max_wait,
            self.limiter.running.clone().acquire_owned(),
        )
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
        // The permits move into the blocking task: a request abandoned by its client cannot
        // free a place that is still hashing.
        tokio::task::spawn_blocking(move || {
            let _running = running;
            let _admitted = self;
            work()
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
    }
}

/// Checks that `password` is an acceptable new password.
///
/// # Errors
/// [`StoreError::InvalidPassword`] when the length is outside
/// [`MIN_PASSWORD_LEN`]..=[`MAX_PASSWORD_LEN`].
pub fn check_new_password(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(StoreError::InvalidPassword("use at least 8 characters"));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(StoreError::InvalidPassword("use at most 1024 bytes"));
    }
    Ok(())
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$…`) on a blocking thread, within the
/// bounds of `limiter`.
///
/// # Errors
/// [`StoreError::InvalidPassword`] (see [`check_new_password`]), [`StoreError::Busy`].
pub async fn hash_password(limiter: &HashLimiter, password: String) -> Result<String, StoreError> {
    check_new_password(&password)?;
    limiter.run(move || hash_blocking(&password)).await?
}

/// Checks `password` against `stored` (a PHC string), taking the same time whether or not
/// `stored` is `None`: an unknown user is checked against a dummy hash, so response times do
/// not tell which usernames exist.
///
/// # Errors
/// [`StoreError::Busy`] when no core came free in time.
pub async fn verify_password(
    permit: HashPermit,
    password: String,
    stored: Option<String>,
) -> Result<bool, StoreError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    permit
        .run(move || {
            let known = stored.is_some();
            let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
            let parsed =
                PasswordHash::new(&hash).map_err(|e| StoreError::PasswordHash(e.to_string()))?;
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(known && ok)
        })
        .await?
}

fn hash_blocking(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::PasswordHash(e.to_string()))
}

/// A hash of a random password, made once per process, for unknown usernames.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = SaltString::generate(&mut OsRng);
        hash_blocking(random.as_str()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> HashLimiter {
        HashLimiter::for_this_machine()
    }

    #[tokio::test]
    async fn right_password_verifies_and_wrong_does_not() {
        let l = limiter();
        let hash = hash_password(&l, "correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(
            l.try_admit().unwrap(),
            "correct horse".into(),
            Some(hash.clone())
        )
        .await
        .unwrap());
        assert!(
            !verify_password(l.try_admit().unwrap(), "wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(
            !verify_password(limiter().try_admit().unwrap(), "anything".into(), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn short_and_huge_passwords_are_refused() {
        let l = limiter();
        assert!(matches!(
            hash_password(&l, "short".into()).await,
            Err(StoreError::InvalidPassword(_))
        ));
        assert!(matches!(
            hash_password(&l, "x".repeat(10_000)).await,
            Err(StoreError::InvalidPassword(_))
        ));
        let hash = hash_password(&l, "long enough".into()).await.unwrap();
        assert!(
            !verify_password(l.try_admit().unwrap(), "x".repeat(10_000), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_bound_run_and_the_rest_are_refused_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let limiter = HashLimiter::new(2, 3, Duration::from_secs(10));
        let now_running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (limiter, now_running, most) = (limiter.clone(), now_running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                limiter
                    .run(move || {
                        let n = now_running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                        now_running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            }));
        }
        let mut done = 0;
        let mut busy = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => done += 1,
                Err(StoreError::Busy { .. }) => busy += 1,
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert!(
            most.load(Ordering::SeqCst) <= 2,
            "ran {} at once",
            most.load(Ordering::SeqCst)
        );
        assert_eq!(done + busy, 20);
        assert!(
            (2..=5).contains(&done),
            "2 running + 3 queued at most were admitted: {done}"
        );
        assert!(busy >= 15, "the rest were refused: {busy}");
    }

    #[tokio::test]
    async fn a_queued_hash_gives_up_after_the_longest_wait() {
        let limiter = HashLimiter::new(1, 4, Duration::from_millis(50));
        let slow = limiter.clone();
        let running = tokio::spawn(async move {
            slow.run(|| std::thread::sleep(Duration::from_millis(400)))
                .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(
            limiter.run(|| ()).await,
            Err(StoreError::Busy { .. })
        ));
        running.await.unwrap().unwrap();
    }
}
