//! A budget of answer bytes in flight, shared by every dendrite of one process (a validator
//! holds one dendrite per uid and lane and queries many miners at once; each dendrite caps one
//! answer, the budget caps them all together).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Answer bytes in flight across dendrites, at most [`AnswerBudget::limit`].
///
/// Policy: one all-or-nothing reservation per answer, taken before its body is read.
///
/// * An answer that declares its length (`Content-Length`; our axon and the SDK's always do)
///   reserves that length before the first body byte is read. If it does not fit now, it waits
///   until it does, at most until the request's deadline: answers finishing elsewhere make room.
///   Waiters are not served in order: any waiter that fits when bytes are freed goes ahead, so
///   a small honest answer is never queued behind a large one that is waiting for room.
///   An answer larger than the whole budget is refused at once (it could never fit).
/// * An answer of undeclared length (chunked) grows its reservation chunk by chunk and never
///   waits: it already holds bytes, and answers that hold bytes while waiting for more could
///   wait on each other until all of them time out. A chunk that does not fit ends that answer.
/// * The bytes stay reserved until the answer's body is dropped, after it was merged into the
///   synapse ([`AnswerReservation`] releases on drop, so every path out frees them).
///
/// So the reserved bytes never exceed the limit, nothing holds bytes while it waits (no
/// deadlock), and a hostile miner cannot hold more than the dendrite's per-answer cap per
/// request in flight to it. What the budget cannot prevent is enough hostile answers in flight
/// at once, each holding up to the cap until its timeout, filling it: size the budget at least
/// at (requests in flight to distinct miners) x (per-answer cap) when waiting must never
/// happen, smaller when memory matters more.
///
/// The budget counts body bytes. Not counted: the synapse parsed from them, and what the HTTP
/// client reads ahead on a connection whose body waits for room (hyper's read buffer, at most
/// about 400 KiB per connection).
#[derive(Debug)]
pub struct AnswerBudget {
    limit: usize,
    in_use: AtomicUsize,
    peak: AtomicUsize,
    waits: AtomicU64,
    refusals: AtomicU64,
    freed: Notify,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetRefusal {
    /// More bytes than the whole budget.
    #[error(
        "the answer's {bytes} bytes are more than the validator's whole answer budget of {limit} bytes"
    )]
    LargerThanBudget {
        /// Bytes asked for.
        bytes: usize,
        /// The budget's limit.
        limit: usize,
    },
    /// No room before the deadline (or, to grow a reservation, no room now).
    #[error(
        "the validator's answer budget of {limit} bytes was exhausted: no room for {bytes} more bytes"
    )]
    Exhausted {
        /// Bytes asked for.
        bytes: usize,
        /// The budget's limit.
        limit: usize,
    },
}

impl AnswerBudget {
    /// A budget of `limit` bytes, shared by `Arc` (see `DendriteConfig::answer_budget`).
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            in_use: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            waits: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            freed: Notify::new(),
        })
    }

    /// The most bytes reserved at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::SeqCst)
    }

    /// The most bytes ever reserved at once (the high-water mark; never above the limit).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Reservations that had to wait for room.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }

    /// Reservations (and growths) refused.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// Reserves `bytes` if they fit now.
    pub fn try_reserve(self: &Arc<Self>, bytes: usize) -> Result<AnswerReservation, BudgetRefusal> {
        if self.take(bytes) {
            Ok(self.reservation(bytes))
        } else {
            Err(self.refuse(bytes))
        }
    }

    /// Reserves `bytes`, waiting up to `wait` for room (see the module's policy).
    pub async fn reserve(
        self: &Arc<Self>,
        bytes: usize,
        wait: Duration,
    ) -> Result<AnswerReservation, BudgetRefusal> {
        if bytes > self.limit {
            return Err(self.refuse(bytes));
        }
        if self.take(bytes) {
            return Ok(self.reservation(bytes));
        }
        self.waits.fetch_add(1, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before the check: bytes freed between the check and the wait still
            // wake this waiter.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.take(bytes) {
                return Ok(self.reservation(bytes));
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return Err(self.refuse(bytes));
            }
        }
    }

    fn reservation(self: &Arc<Self>, bytes: usize) -> AnswerReservation {
        AnswerReservation {
            budget: self.clone(),
            bytes,
        }
    }

    fn refuse(&self, bytes: usize) -> BudgetRefusal {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        if bytes > self.limit {
            BudgetRefusal::LargerThanBudget {
                bytes,
                limit: self.limit,
            }
        } else {
            BudgetRefusal::Exhausted {
                bytes,
                limit: self.limit,
            }
        }
    }

    /// Adds `bytes` to the bytes in use if the total stays within the limit.
    fn take(&self, bytes: usize) -> bool {
        let mut current = self.in_use.load(Ordering::SeqCst);
        loop {
            let Some(next) = current.checked_add(bytes).filter(|n| *n <= self.limit) else {
                return false;
            };
            match self.in_use.compare_exchange_weak(
                current,
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    self.peak.fetch_max(next, Ordering::SeqCst);
                    return true;
                }
                Err(actual) => current = actual,
            }
        }
    }

    fn release(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        self.in_use.fetch_sub(bytes, Ordering::SeqCst);
        // Every waiter checks again: a small one may fit where a large one does not.
        self.freed.notify_waiters();
    }
}

/// Bytes held in an [`AnswerBudget`], released when this is dropped.
#[derive(Debug)]
pub struct AnswerReservation {
    budget: Arc<AnswerBudget>,
    bytes: usize,
}

impl AnswerReservation {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Holds `extra` more bytes if they fit now; never waits (this reservation already holds
    /// bytes, see the module's policy).
    pub fn try_grow(&mut self, extra: usize) -> Result<(), BudgetRefusal> {
        if self.budget.take(extra) {
            self.bytes += extra;
            Ok(())
        } else {
            Err(self.budget.refuse(extra))
        }
    }
}

impl Drop for AnswerReservation {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_stay_within_the_limit_and_free_on_drop() {
        let budget = AnswerBudget::new(100);
        let a = budget.try_reserve(60).unwrap();
        assert_eq!(
            budget.try_reserve(50).unwrap_err(),
            BudgetRefusal::Exhausted {
                bytes: 50,
                limit: 100
            }
        );
        let mut b = budget.try_reserve(40).unwrap();
        assert_eq!(budget.in_use(), 100);
        assert!(b.try_grow(1).is_err(), "full");
        drop(a);
        b.try_grow(30).unwrap();
        assert_eq!(b.bytes(), 70);
        assert_eq!(budget.in_use(), 70);
        drop(b);
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.peak(), 100);
        assert_eq!(budget.refusals(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gets_room_when_bytes_are_freed_and_gives_up_at_its_deadline() {
        let budget = AnswerBudget::new(100);
        assert!(matches!(
            budget.reserve(101, Duration::from_secs(10)).await,
            Err(BudgetRefusal::LargerThanBudget { .. })
        ));
        assert_eq!(budget.waits(), 0, "refused without waiting");

        let held = budget.try_reserve(90).unwrap();
        let started = tokio::time::Instant::now();
        let refused = budget.reserve(20, Duration::from_secs(2)).await;
        assert!(matches!(refused, Err(BudgetRefusal::Exhausted { .. })));
        assert_eq!(started.elapsed(), Duration::from_secs(2));

        let waiter = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.reserve(50, Duration::from_secs(10)).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiter.is_finished(), "no room yet");
        // A small reservation still fits beside the large waiter.
        let small = budget.try_reserve(10).unwrap();
        drop(small);
        drop(held);
        let got = waiter.await.unwrap().unwrap();
        assert_eq!(got.bytes(), 50);
        assert_eq!(budget.in_use(), 50);
        assert_eq!(budget.waits(), 2);
        drop(got);
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.peak(), 100);
    }
}
