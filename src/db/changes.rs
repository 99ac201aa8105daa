//! What this instance has read may still be served from memory: the change generation behind the
//! read cache, kept coherent across instances (README "Several instances", ARCHITECTURE).
//!
//! Every write through [`Db`] moves the generation on once it is done (the `Tx` and `Write`
//! guards), so a reader that noted the generation before reading knows whether what it read could
//! be older than a write of this instance. On PostgreSQL the other instances' writes move it too:
//!
//! - every table a cached read shows has a row trigger that notifies `vira_changes` (migration
//!   0006), so any committed change — by any instance, or by hand — reaches every listener;
//! - an instance that caches is a *peer*: it LISTENs on one connection of its own, holds a lease
//!   in `read_cache_peers` renewed on that connection every quarter of `--read-cache-lease-ms`,
//!   and trusts its cache only until three quarters of a lease after the last renewal was sent,
//!   while the connection is up;
//! - a request that wrote *publishes* before it answers: `vira_publish(token)` notifies the token
//!   and returns the peers with a live lease, and the request waits until each has acknowledged
//!   the token (a peer acknowledges after it moved its generation on) or its lease has run out.
//!   So once a write is answered, no instance serves what it read before that write.
//! - a peer that joins (or re-joins after its connection or lease was lost) LISTENs, registers,
//!   then takes the exclusive advisory lock that every publish holds shared: a publish that did
//!   not see it as a peer has ended before it starts caching.
//! - a *quiet* write (the claim, [`Quiet`]) skips its row triggers' notification (migration
//!   0012): a transaction that notifies holds PostgreSQL's notification lock through its commit,
//!   WAL flush included, so notifying writers commit one at a time. While the writer is the only
//!   peer, the write's own transaction holds the joining lock shared and checks that no other
//!   peer holds a live lease (`vira_alone`): a peer that joins later waits for the commit, and
//!   there is no one else to tell; if there is one after all, the write notifies as any other.
//!   Otherwise it *announces* a token before it writes: a peer serves nothing from its cache
//!   while an announced token is not yet published, or for [`ANNOUNCED_FOR`] at most (then it
//!   moves its generation on: the write may have committed and its writer died before
//!   publishing). The write checks, on the database's clock, that it runs within half of that,
//!   and is published (that token) before it is answered. It holds the joining lock shared from
//!   its announcement until it was published (a session lock of its connection, so also until
//!   that connection is gone): a peer that joined after the announcement reads after the write
//!   committed, or hears its token.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::Any;

use super::{Db, DbError, DbResult, Dialect};

/// The channel of data changes (row triggers, and publish tokens).
const CHANGES: &str = "vira_changes";
/// The channel on which peers acknowledge publish tokens.
const ACKS: &str = "vira_acks";
/// The advisory lock key shared by publishes and taken alone by a joining peer (`vira_publish`).
const JOIN_LOCK: i64 = 0x7669_7261_6361_6368; // "viracach"
/// How long a peer holds off its cache after an announcement it did not see published.
pub const ANNOUNCED_FOR: Duration = Duration::from_secs(2);
/// The prefix of an announcement's payload on `vira_changes`: `announce:<writer>:<seq>` is no
/// token, so a peer of an earlier version moves its generation on and acknowledges nothing.
const ANNOUNCE: &str = "announce:";
/// The transaction setting that keeps the row triggers quiet (migration 0012).
pub(super) const QUIET_SETTING: &str = "vira.announced";

/// The generation of this instance's reads, and whether cached reads may be served now.
pub struct Changes {
    /// Moves on after every local write and every batch of change notifications.
    generation: AtomicU64,
    /// Local writes only: a request that moved it must publish before it answers.
    local_writes: AtomicU64,
    /// Cached reads are coherent until this many nanoseconds after `epoch` (0: not coherent).
    coherent_until: AtomicU64,
    epoch: Instant,
    /// This process's peer id (random, so a restarted process is a new peer).
    instance: String,
    next_token: AtomicU64,
    /// Per token of ours being published, the peers that acknowledged it. Per token, not "the
    /// highest acknowledged": concurrent publishes commit in any order, so a later token's
    /// acknowledgement says nothing of an earlier one's write.
    acks: Mutex<HashMap<u64, HashSet<String>>>,
    acked: tokio::sync::Notify,
    /// Other writers' announced tokens not yet published, until when each holds the cache off.
    held_off: Mutex<HashMap<String, Instant>>,
    /// Whether `held_off` has any entry (read on every cached read, without the lock).
    holding_off: AtomicBool,
    /// Whether a quiet write of ours saw another peer lately (then quiet writes are announced).
    others_seen: AtomicBool,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes")
            .field("instance", &self.instance)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Changes {
    /// SQLite: one process writes, so local writes are all there is and reads are always coherent.
    /// PostgreSQL: not coherent until the listener has joined.
    pub(super) fn new(dialect: Dialect) -> Changes {
        let always = match dialect {
            Dialect::Sqlite => u64::MAX,
            Dialect::Postgres => 0,
        };
        Changes {
            generation: AtomicU64::new(1),
            local_writes: AtomicU64::new(0),
            coherent_until: AtomicU64::new(always),
            epoch: Instant::now(),
            instance: hex::encode(rand::random::<[u8; 8]>()),
            next_token: AtomicU64::new(0),
            acks: Mutex::new(HashMap::new()),
            acked: tokio::sync::Notify::new(),
            held_off: Mutex::new(HashMap::new()),
            holding_off: AtomicBool::new(false),
            others_seen: AtomicBool::new(false),
        }
    }

    /// The generation to tag a read with, taken *before* reading; `None` when cached reads may
    /// not be served now.
    pub fn snapshot(&self) -> Option<u64> {
        let until = self.coherent_until.load(Ordering::SeqCst);
        let generation = self.generation.load(Ordering::SeqCst);
        // After the generation: an announcement is noted before the generation moves on.
        if self.holding_off.load(Ordering::SeqCst) && self.still_held_off(Instant::now()) {
            return None;
        }
        (self.nanos(Instant::now()) < until).then_some(generation)
    }

    fn held_off(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.held_off.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hold the cache off for `token` (an announcement) until `until`.
    fn hold_off(&self, token: &str, until: Instant) {
        let mut held_off = self.held_off();
        held_off.insert(token.to_owned(), until);
        self.holding_off.store(true, Ordering::SeqCst);
        drop(held_off);
        self.bump();
    }

    /// `token` was published: it holds nothing off any more.
    fn published(&self, token: &str) {
        let mut held_off = self.held_off();
        if held_off.remove(token).is_some() && held_off.is_empty() {
            self.holding_off.store(false, Ordering::SeqCst);
        }
    }

    /// Whether an announcement still holds the cache off at `now`. Those that ran out move the
    /// generation on: their write may have committed without ever being published.
    fn still_held_off(&self, now: Instant) -> bool {
        let mut held_off = self.held_off();
        let before = held_off.len();
        held_off.retain(|_, until| now < *until);
        if held_off.len() != before {
            self.bump();
        }
        let holding = !held_off.is_empty();
        self.holding_off.store(holding, Ordering::SeqCst);
        holding
    }

    /// This process's peer id.
    pub(super) fn instance(&self) -> &str {
        &self.instance
    }

    /// Local writes so far (a request compares it before and after to know whether it wrote).
    pub fn local_writes(&self) -> u64 {
        self.local_writes.load(Ordering::SeqCst)
    }

    /// A write of this instance is done (committed or not): what was read before may be stale.
    pub(super) fn wrote(&self) {
        self.local_writes.fetch_add(1, Ordering::SeqCst);
        self.bump();
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Stop serving cached reads, and make everything read so far stale.
    fn lose(&self) {
        self.coherent_until.store(0, Ordering::SeqCst);
        self.bump();
    }

    /// Serve cached reads until `until` (a lease was taken or renewed).
    fn coherent_until(&self, until: Instant) {
        // Never 0 or MAX by accident: 0 means "not coherent".
        self.coherent_until
            .store(self.nanos(until).clamp(1, u64::MAX - 1), Ordering::SeqCst);
    }

    fn acks(&self) -> std::sync::MutexGuard<'_, HashMap<u64, HashSet<String>>> {
        self.acks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `peer writer:seq …`: the peer moved its generation on after the writes these tokens
    /// announce. Only tokens of ours still being published are noted.
    fn record_acks(&self, payload: &str) {
        let mut words = payload.split(' ');
        let Some(peer) = words.next() else { return };
        let mut changed = false;
        {
            let mut acks = self.acks();
            for (writer, seq) in words.filter_map(parse_token) {
                if let (true, Some(peers)) = (writer == self.instance, acks.get_mut(&seq)) {
                    changed |= peers.insert(peer.to_owned());
                }
            }
        }
        if changed {
            self.acked.notify_waiters();
        }
    }

    /// A batch of notifications: acknowledgements are recorded; other writers' announcements
    /// hold the cache off until their token is published; data changes move the generation on.
    /// The acknowledgements to send for other writers' tokens, if any.
    fn receive(&self, batch: &[sqlx::postgres::PgNotification]) -> Option<Vec<String>> {
        let mut data_changed = false;
        let mut tokens = Vec::new();
        let now = Instant::now();
        for notification in batch {
            if notification.channel() == ACKS {
                self.record_acks(notification.payload());
                continue;
            }
            data_changed = true;
            let payload = notification.payload();
            if let Some(token) = payload.strip_prefix(ANNOUNCE) {
                if parse_token(token).is_some_and(|(writer, _)| writer != self.instance) {
                    self.hold_off(token, now + ANNOUNCED_FOR);
                }
                continue;
            }
            if parse_token(payload).is_some_and(|(writer, _)| writer != self.instance) {
                self.published(payload);
                tokens.push(payload);
            }
        }
        if data_changed {
            self.bump();
        }
        ack_payloads(&self.instance, &tokens)
    }

    fn acked(&self, seq: u64, peer: &str) -> bool {
        self.acks()
            .get(&seq)
            .is_some_and(|peers| peers.contains(peer))
    }
}

/// The acknowledgements of `tokens` by `peer`, as payloads under PostgreSQL's 8000-byte limit.
fn ack_payloads(peer: &str, tokens: &[&str]) -> Option<Vec<String>> {
    const MAX_PAYLOAD: usize = 7000;
    let mut payloads = Vec::new();
    let mut payload = String::new();
    for token in tokens {
        if !payload.is_empty() && payload.len() + 1 + token.len() > MAX_PAYLOAD {
            payloads.push(std::mem::take(&mut payload));
        }
        if payload.is_empty() {
            payload.push_str(peer);
        }
        payload.push(' ');
        payload.push_str(token);
    }
    if !payload.is_empty() {
        payloads.push(payload);
    }
    (!payloads.is_empty()).then_some(payloads)
}

/// `writer:seq` of a publish token.
fn parse_token(word: &str) -> Option<(&str, u64)> {
    let (writer, seq) = word.split_once(':')?;
    Some((writer, seq.parse().ok()?))
}

/// The settings of the PostgreSQL listener.
#[derive(Debug, Clone, Copy)]
pub struct Coherence {
    /// `--read-cache-lease-ms`.
    pub lease: Duration,
    /// Whether this instance caches reads at all (`--read-cache-bytes` > 0): only then is it a peer.
    pub caching: bool,
}

/// After a request wrote: make every peer move its generation on before the request answers
/// (see the module documentation). Nothing to do on SQLite.
pub async fn publish(db: &Db) -> DbResult<()> {
    if db.dialect() != Dialect::Postgres {
        return Ok(());
    }
    let changes = &db.changes;
    let seq = changes.next_seq();
    // Noted before the token is announced, so that no acknowledgement can come before; forgotten
    // however the wait ends (also when the request is dropped meanwhile).
    let _noted = NotedToken::new(changes, seq);
    let peers = publish_token(db.reader(), changes, seq).await?;
    wait_for_acks(changes, seq, peers).await;
    Ok(())
}

impl Changes {
    fn next_seq(&self) -> u64 {
        self.next_token.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn token(&self, seq: u64) -> String {
        format!("{}:{seq}", self.instance)
    }
}

/// How a quiet write keeps the read caches coherent (PostgreSQL; see the module documentation).
pub(super) enum QuietMode {
    /// No other peer was seen lately: the write's transaction calls `vira_alone(instance)`, which
    /// holds the joining lock shared until the transaction ends and says whether that is still so;
    /// only then may it set [`QUIET_SETTING`] (else its triggers notify as any write's do).
    Alone { instance: String },
    /// Announced: the write sets [`QUIET_SETTING`], and does nothing once the database's clock
    /// (`vira_clock_us()`) has reached `until_us`.
    Announced { until_us: i64 },
}

/// A quiet write on one connection of the write pool; [`Quiet::finish`] once it is done.
pub(super) struct Quiet<'a> {
    changes: &'a Changes,
    conn: Option<PoolConnection<Any>>,
    mode: QuietMode,
    seq: u64,
}

impl<'a> Quiet<'a> {
    /// A connection for a quiet write: announced first unless this instance saw no other peer
    /// lately.
    pub(super) async fn begin(db: &'a Db) -> DbResult<Quiet<'a>> {
        let changes = &db.changes;
        let mut conn = db.write.acquire().await?;
        if !changes.others_seen.load(Ordering::SeqCst) {
            return Ok(Quiet {
                changes,
                conn: Some(conn),
                mode: QuietMode::Alone {
                    instance: changes.instance.clone(),
                },
                seq: 0,
            });
        }
        let seq = changes.next_seq();
        let half = i64::try_from(ANNOUNCED_FOR.as_micros() / 2).unwrap_or(i64::MAX);
        let announced = sqlx::query_scalar(
            "WITH announced AS (SELECT pg_advisory_lock_shared($3), \
                 pg_notify('vira_changes', $1)) \
             SELECT vira_clock_us() + $2 FROM announced",
        )
        .bind(format!("{ANNOUNCE}{}", changes.token(seq)))
        .bind(half)
        .bind(JOIN_LOCK)
        .fetch_one(&mut *conn)
        .await;
        let until_us: i64 = match announced {
            Ok(until_us) => until_us,
            Err(error) => {
                // It may hold the lock: never pooled again.
                conn.close_on_drop();
                return Err(error.into());
            }
        };
        Ok(Quiet {
            changes,
            conn: Some(conn),
            mode: QuietMode::Announced { until_us },
            seq,
        })
    }

    pub(super) fn mode(&self) -> &QuietMode {
        &self.mode
    }

    pub(super) fn connection(&mut self) -> &mut PoolConnection<Any> {
        self.conn
            .as_mut()
            .expect("a quiet write has its connection until it is finished")
    }

    /// The write is done, committed or not: `quieted`, whether its transaction set
    /// [`QUIET_SETTING`] (`None`: it did not get that far), `wrote`, whether it changed anything.
    /// Move this instance's generation on, and every peer's before the write is answered.
    pub(super) async fn finish(
        mut self,
        db: &Db,
        quieted: Option<bool>,
        wrote: bool,
    ) -> DbResult<()> {
        self.changes.bump();
        let mut conn = self.conn.take().expect("a quiet write is finished once");
        if let QuietMode::Alone { .. } = self.mode {
            drop(conn);
            if quieted == Some(false) {
                // Another peer after all: announce from now on.
                self.changes.others_seen.store(true, Ordering::SeqCst);
            }
            if wrote && quieted != Some(true) {
                // Notified by its triggers: wait for the peers as any write does.
                return publish(db).await;
            }
            return Ok(());
        }
        let _noted = NotedToken::new(self.changes, self.seq);
        let published: Result<(bool, Option<String>), sqlx::Error> = sqlx::query_as(
            "SELECT pg_advisory_unlock_shared($2), \
                 (SELECT json_agg(json_build_array(peer, remaining_us)) \
                  FROM vira_publish($1))::text",
        )
        .bind(self.changes.token(self.seq))
        .bind(JOIN_LOCK)
        .fetch_one(&mut *conn)
        .await;
        let peers = match published {
            Ok((_, peers)) => peers,
            Err(error) => {
                conn.close_on_drop();
                return Err(error.into());
            }
        };
        drop(conn);
        let peers: Vec<(String, i64)> = match peers {
            Some(text) => serde_json::from_str(&text).map_err(|e| DbError::Other(e.into()))?,
            None => Vec::new(),
        };
        let others = peers
            .iter()
            .any(|(peer, remaining_us)| *peer != self.changes.instance && *remaining_us > 0);
        self.changes.others_seen.store(others, Ordering::SeqCst);
        wait_for_acks(self.changes, self.seq, peers).await;
        Ok(())
    }
}

impl Drop for Quiet<'_> {
    /// Written or not, what this instance read before may be stale now. An announced write's
    /// connection not finished holds the joining lock: it is closed, which releases it.
    fn drop(&mut self) {
        self.changes.bump();
        if let (Some(conn), QuietMode::Announced { .. }) = (self.conn.as_mut(), &self.mode) {
            conn.close_on_drop();
        }
    }
}

/// A token of ours whose acknowledgements are being collected, for as long as it lives.
struct NotedToken<'a> {
    changes: &'a Changes,
    seq: u64,
}

impl<'a> NotedToken<'a> {
    fn new(changes: &'a Changes, seq: u64) -> NotedToken<'a> {
        changes.acks().insert(seq, HashSet::new());
        NotedToken { changes, seq }
    }
}

impl Drop for NotedToken<'_> {
    fn drop(&mut self) {
        self.changes.acks().remove(&self.seq);
    }
}

/// Announce token `seq` as published (`vira_publish`); the live peers, each with the time its
/// lease still runs, in microseconds.
async fn publish_token<'c, E>(
    executor: E,
    changes: &Changes,
    seq: u64,
) -> DbResult<Vec<(String, i64)>>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    Ok(
        sqlx::query_as("SELECT peer, remaining_us FROM vira_publish($1)")
            .bind(changes.token(seq))
            .fetch_all(executor)
            .await?,
    )
}

/// Wait for every other live peer's acknowledgement of token `seq`, or its lease's end.
async fn wait_for_acks(changes: &Changes, seq: u64, peers: Vec<(String, i64)>) {
    let started = tokio::time::Instant::now();
    let waits: Vec<(String, tokio::time::Instant)> = peers
        .into_iter()
        .filter(|(peer, _)| *peer != changes.instance)
        .map(|(peer, remaining_us)| {
            // A lease is never longer than the longest `--read-cache-lease-ms`, whatever the
            // database's clock did meanwhile.
            let remaining = Duration::from_micros(u64::try_from(remaining_us).unwrap_or(0))
                .min(Duration::from_secs(60));
            (peer, started + remaining)
        })
        .collect();
    loop {
        let acked = changes.acked.notified();
        tokio::pin!(acked);
        acked.as_mut().enable();
        let now = tokio::time::Instant::now();
        let next_deadline = waits
            .iter()
            .filter(|(peer, deadline)| !changes.acked(seq, peer) && now < *deadline)
            .map(|(_, deadline)| *deadline)
            .min();
        let Some(deadline) = next_deadline else {
            return;
        };
        let _ = tokio::time::timeout_at(deadline, acked).await;
    }
}

/// Keep this instance's cache coherent until `stop`. PostgreSQL: be a peer — join, then serve
/// notifications and renew the lease; whenever the connection, a renewal or the lease is lost,
/// stop trusting the cache and join again. SQLite: see changes made by another process (the
/// `sqlite3` shell, say) within a quarter of the lease. Returns at once when this instance does
/// not cache.
pub async fn listen(
    db: Db,
    url: String,
    settings: Coherence,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if !settings.caching {
        return;
    }
    if db.dialect() == Dialect::Sqlite {
        return watch_sqlite_file(&db, &url, settings.lease / 4, stop).await;
    }
    const FIRST_BACKOFF: Duration = Duration::from_millis(50);
    let mut backoff = FIRST_BACKOFF;
    loop {
        db.changes.lose();
        let started = Instant::now();
        let outcome = tokio::select! {
            outcome = peer_session(&db, &url, settings) => outcome,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        // A session that lasted is no sign of a persistent failure: retry soon.
        if started.elapsed() > settings.lease * 10 {
            backoff = FIRST_BACKOFF;
        }
        if let Err(error) = outcome {
            tracing::warn!(error = %format!("{error:#}"), "read cache: not coherent, joining again");
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|stop| *stop) => break,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    db.changes.lose();
    // Leave, so that writers do not wait for us until the lease runs out.
    let _ = tokio::time::timeout(
        settings.lease,
        sqlx::query("DELETE FROM read_cache_peers WHERE id = $1")
            .bind(&db.changes.instance)
            .execute(db.reader()),
    )
    .await;
}

/// Every `every`, ask SQLite whether another connection changed the file (`PRAGMA
/// data_version`, which this instance's own writes move too: harmless).
async fn watch_sqlite_file(
    db: &Db,
    url: &str,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use sqlx::Connection;
    let mut conn = None;
    let mut last: Option<i64> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        if conn.is_none() {
            conn = match super::sqlite_url(url) {
                Ok(url) => sqlx::SqliteConnection::connect(&url).await.ok(),
                Err(_) => None,
            };
        }
        let Some(open) = conn.as_mut() else {
            db.changes.bump();
            continue;
        };
        match sqlx::query_scalar::<_, i64>("PRAGMA data_version")
            .fetch_one(open)
            .await
        {
            Ok(version) => {
                if last.is_some_and(|last| last != version) {
                    db.changes.bump();
                }
                last = Some(version);
            }
            Err(error) => {
                tracing::warn!(%error, "read cache: cannot watch the SQLite file");
                db.changes.bump();
                conn = None;
                last = None;
            }
        }
    }
}

/// `what`, failed when it takes longer than `limit`.
async fn bounded<T>(
    limit: Duration,
    what: &'static str,
    operation: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> anyhow::Result<T> {
    tokio::time::timeout(limit, operation)
        .await
        .map_err(|_| anyhow::anyhow!("{what}: no answer within the lease"))?
        .with_context(|| what)
}

/// One connection's life as a peer; ends only with the error that ended it.
async fn peer_session(db: &Db, url: &str, settings: Coherence) -> anyhow::Result<()> {
    let changes = &db.changes;
    let lease = settings.lease;
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(lease)
        .connect_lazy(url)?;
    let mut listener = bounded(lease, "connect", PgListener::connect_with(&pool)).await?;
    // A lost connection ends the session (and so the cache's trust), never a silent reconnect.
    listener.eager_reconnect(false);
    bounded(lease, "listen", listener.listen_all([CHANGES, ACKS])).await?;
    let registered = Instant::now();
    let register = sqlx::query(
        "INSERT INTO read_cache_peers (id, lease_until) \
         VALUES ($1, vira_clock_us() + $2 * 1000) \
         ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until",
    )
    .bind(&changes.instance)
    .bind(lease_ms)
    .execute(&mut listener);
    bounded(lease, "register", register).await?;
    // Publishes in flight may not have seen us: wait them out (they hold the lock shared).
    let wait_out = sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(JOIN_LOCK)
        .execute(&mut listener);
    bounded(lease, "join lock", wait_out).await?;
    changes.bump();
    changes.coherent_until(registered + lease * 3 / 4);
    tracing::debug!(peer = %changes.instance, "read cache: coherent");

    let mut next_renewal = tokio::time::Instant::now() + lease / 4;
    loop {
        tokio::select! {
            received = listener.try_recv() => {
                let first = received?.ok_or_else(|| anyhow::anyhow!("listener connection lost"))?;
                let mut batch = vec![first];
                while let Some(more) = listener.next_buffered() {
                    batch.push(more);
                }
                if let Some(payloads) = changes.receive(&batch) {
                    let ack = sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
                        .bind(ACKS)
                        .bind(payloads)
                        .execute(&mut listener);
                    bounded(lease, "acknowledge", ack).await?;
                }
            }
            _ = tokio::time::sleep_until(next_renewal) => {
                let sent = Instant::now();
                let renew = sqlx::query(
                    "UPDATE read_cache_peers \
                     SET lease_until = vira_clock_us() + $2 * 1000 \
                     WHERE id = $1 AND lease_until > vira_clock_us()",
                )
                .bind(&changes.instance)
                .bind(lease_ms)
                .execute(&mut listener);
                if bounded(lease, "renew", renew).await?.rows_affected() == 0 {
                    anyhow::bail!("the lease ran out before it was renewed");
                }
                changes.coherent_until(sent + lease * 3 / 4);
                next_renewal = tokio::time::Instant::now() + lease / 4;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_reads_are_coherent_and_writes_move_the_generation() {
        let changes = Changes::new(Dialect::Sqlite);
        let before = changes.snapshot().expect("always coherent");
        changes.wrote();
        let after = changes.snapshot().expect("always coherent");
        assert_ne!(before, after);
        assert_eq!(changes.local_writes(), 1);
    }

    #[test]
    fn postgres_reads_are_coherent_only_within_the_lease() {
        let changes = Changes::new(Dialect::Postgres);
        assert_eq!(changes.snapshot(), None, "not joined yet");
        changes.coherent_until(Instant::now() + Duration::from_secs(60));
        let first = changes.snapshot().expect("within the lease");
        changes.lose();
        assert_eq!(changes.snapshot(), None);
        changes.coherent_until(Instant::now() + Duration::from_secs(60));
        assert_ne!(
            changes.snapshot(),
            Some(first),
            "what was read before is stale"
        );
        changes.coherent_until(Instant::now() - Duration::from_millis(1));
        assert_eq!(changes.snapshot(), None, "the lease is over");
    }

    #[test]
    fn acks_count_per_token_and_only_tokens_being_published() {
        let changes = Changes::new(Dialect::Postgres);
        let me = changes.instance.clone();
        changes.acks().insert(3, HashSet::new());
        changes.acks().insert(5, HashSet::new());
        changes.record_acks(&format!("peer-b {me}:5 other:3"));
        assert!(changes.acked(5, "peer-b"));
        assert!(
            !changes.acked(3, "peer-b"),
            "a later token's acknowledgement is not an earlier one's"
        );
        changes.record_acks(&format!("peer-c {me}:3 {me}:9"));
        assert!(changes.acked(3, "peer-c"));
        assert!(
            changes.acks().get(&9).is_none(),
            "not being published: not noted"
        );
        assert_eq!(parse_token("a:b"), None);
    }

    #[test]
    fn a_token_is_noted_while_its_publish_lives() {
        let changes = Changes::new(Dialect::Postgres);
        let me = changes.instance.clone();
        {
            let _noted = NotedToken::new(&changes, 7);
            changes.record_acks(&format!("peer-b {me}:7"));
            assert!(changes.acked(7, "peer-b"));
        }
        assert!(
            changes.acks().is_empty(),
            "forgotten when the publish ends or is dropped"
        );
    }

    #[test]
    fn acknowledgements_fit_in_notification_payloads() {
        assert_eq!(ack_payloads("p", &[]), None);
        assert_eq!(
            ack_payloads("p", &["a:1", "b:2"]),
            Some(vec!["p a:1 b:2".to_owned()])
        );
        let token = "0123456789abcdef:123456";
        let many = vec![token; 1000];
        let payloads = ack_payloads("peer", &many).unwrap();
        assert!(payloads.len() > 1);
        assert!(payloads
            .iter()
            .all(|p| p.len() <= 7000 && p.starts_with("peer ")));
        let listed: usize = payloads.iter().map(|p| p.split(' ').count() - 1).sum();
        assert_eq!(listed, 1000);
    }
}
