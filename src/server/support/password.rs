//! Password hashing with Argon2id (the `argon2` crate's defaults: OWASP's m=19 MiB, t=2, p=1).

use crate::server::error::{AccountError, AccountRefusal, StoreError};
use argon2::{
    password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};
use tokio::sync::Semaphore;

pub use crate::passwords::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};

/// The most password hashes that wait for a free core, per core, before new ones are refused.
pub const QUEUE_PER_CORE: usize = 16;
/// The longest a queued hash waits for a free core before it is refused.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(3);
/// What a refused hash tells the client to wait (`Retry-After`), in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// Bounds the work of password hashing (SPEC §6 "Bounded work"): at most `parallel` hashes run
/// at once, at most `queue` more wait, each for at most [`MAX_QUEUE_WAIT`]; anything beyond
/// that is refused with [`StoreError::Busy`] at once, so no burst of sign-ins can make memory
/// or threads grow without bound. Each running hash works in one of at most `parallel` Argon2
/// memory areas (about 19 MiB each) that are allocated once and reused, so the memory for
/// hashing is fixed however many sign-ins come (allocating it per hash left most of it with
/// the allocator: +19 MiB resident per new thread). Cheap to clone; clones share the bound.
#[derive(Debug, Clone)]
pub struct HashLimiter {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    max_wait: Duration,
    memory: Arc<std::sync::Mutex<Vec<Vec<Block>>>>,
}

impl HashLimiter {
    /// A limiter running `parallel` hashes at once with `queue` more waiting (both at least 1).
    pub fn new(parallel: usize, queue: usize, max_wait: Duration) -> Self {
        let parallel = parallel.max(1);
        Self {
            running: Arc::new(Semaphore::new(parallel)),
            admitted: Arc::new(Semaphore::new(parallel + queue.max(1))),
            max_wait,
            memory: Arc::default(),
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

    /// Like [`HashPermit::run`], lending `work` one of the reused Argon2 memory areas.
    ///
    /// # Errors
    /// As [`HashPermit::run`].
    pub async fn run_with_memory<T: Send + 'static>(
        self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = self.limiter.memory.clone();
        self.run(move || {
            let taken = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut memory = taken.unwrap_or_default();
            let result = work(&mut memory);
            pool.lock().unwrap_or_else(|p| p.into_inner()).push(memory);
            result
        })
        .await
    }
}

/// Checks that `password` is an acceptable new password.
///
/// # Errors
/// [`AccountRefusal::InvalidPassword`] when the length is outside
/// [`MIN_PASSWORD_LEN`]..=[`MAX_PASSWORD_LEN`].
pub fn check_new_password(password: &str) -> Result<(), AccountRefusal> {
    crate::passwords::check_new_password(password)
        .map_err(|rule| AccountRefusal::InvalidPassword(rule.message()))
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$…`) on a blocking thread, within the
/// bounds of `limiter`.
///
/// # Errors
/// [`AccountRefusal::InvalidPassword`] (see [`check_new_password`]); [`StoreError::Busy`].
pub async fn hash_password(
    limiter: &HashLimiter,
    password: String,
) -> Result<String, AccountError> {
    check_new_password(&password)?;
    Ok(limiter
        .try_admit()?
        .run_with_memory(move |memory| hash_with(&password, memory))
        .await??)
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
        .run_with_memory(move |memory| {
            let known = stored.is_some();
            let hash = match stored {
                Some(hash) => hash,
                None => dummy_hash(memory)?,
            };
            let ok = verify_with(password.as_bytes(), &hash, memory)?;
            Ok(known && ok)
        })
        .await?
}

fn hash_error(err: impl std::fmt::Display) -> StoreError {
    StoreError::PasswordHash(err.to_string())
}

/// Makes `memory` hold at least the blocks `params` need, and returns them.
fn blocks_for<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::default());
    }
    &mut memory[..needed]
}

/// Checks `password` against the PHC string `stored`, hashing in `memory`; the comparison is
/// constant-time.
fn verify_with(password: &[u8], stored: &str, memory: &mut Vec<Block>) -> Result<bool, StoreError> {
    let parsed = PasswordHash::new(stored).map_err(hash_error)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let params = Params::try_from(&parsed).map_err(hash_error)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(hash_error)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(hash_error)?
        .unwrap_or_default();
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(hash_error)?;
    let mut out = [0u8; 64];
    let out = out
        .get_mut(..expected.len())
        .ok_or_else(|| hash_error("hash too long"))?;
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password, salt, out, blocks_for(memory, &params))
        .map_err(hash_error)?;
    Ok(Output::new(out).map_err(hash_error)? == expected)
}

/// Hashes `password` with a fresh salt and the default parameters (Argon2id, m = 19 MiB,
/// t = 2, p = 1) in `memory`, as a PHC string.
fn hash_with(password: &str, memory: &mut Vec<Block>) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(hash_error)?;
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt_bytes,
            &mut out,
            blocks_for(memory, &params),
        )
        .map_err(hash_error)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(hash_error)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(hash_error)?),
    };
    Ok(phc.to_string())
}

/// A hash of a random password, made once per process, for unknown usernames.
fn dummy_hash(memory: &mut Vec<Block>) -> Result<String, StoreError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let random = SaltString::generate(&mut OsRng);
    let hash = hash_with(random.as_str(), memory)?;
    Ok(DUMMY.get_or_init(|| hash).clone())
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
    async fn hashes_are_standard_phc_strings() {
        use argon2::password_hash::PasswordVerifier;
        let l = limiter();
        let hash = hash_password(&l, "correct horse".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        // And hashes made elsewhere with other parameters verify here.
        let other = {
            use argon2::password_hash::PasswordHasher;
            let params = Params::new(8 * 1024, 3, 1, None).unwrap();
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"old password", &SaltString::generate(&mut OsRng))
                .unwrap()
                .to_string()
        };
        assert!(verify_password(
            l.try_admit().unwrap(),
            "old password".into(),
            Some(other.clone())
        )
        .await
        .unwrap());
        assert!(
            !verify_password(l.try_admit().unwrap(), "old passwore".into(), Some(other))
                .await
                .unwrap()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory_areas_are_reused_not_allocated_per_hash() {
        let l = HashLimiter::new(2, 64, Duration::from_secs(30));
        let mut checks = Vec::new();
        for i in 0..12 {
            let permit = l.try_admit().unwrap();
            checks.push(tokio::spawn(verify_password(
                permit,
                format!("guess {i}"),
                None,
            )));
        }
        for check in checks {
            assert!(!check.await.unwrap().unwrap());
        }
        let areas = l.memory.lock().unwrap();
        assert!(
            areas.len() <= 2,
            "{} memory areas for 2 parallel hashes",
            areas.len()
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
            Err(AccountError::Refused(AccountRefusal::InvalidPassword(_)))
        ));
        assert!(matches!(
            hash_password(&l, "x".repeat(10_000)).await,
            Err(AccountError::Refused(AccountRefusal::InvalidPassword(_)))
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
