//! The priority gate: at most `max_running` handlers run at once; the rest wait in a bounded
//! queue ordered by the priority hook's value (higher first, then arrival order), for at most
//! their timeout. This is what the SDK's priority function drives (its thread pool), without
//! threads.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

/// Why a slot was not granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GateError {
    /// The queue is full.
    Full,
    /// The wait exceeded the timeout.
    Timeout,
}

struct Waiter {
    priority: f64,
    seq: u64,
    tx: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> Ordering {
        // Max-heap: higher priority first, then the earlier arrival (smaller seq).
        self.priority
            .total_cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

#[derive(Default)]
struct State {
    running: usize,
    queue: BinaryHeap<Waiter>,
    seq: u64,
}

/// See the module doc.
pub(crate) struct PriorityGate {
    state: Mutex<State>,
    max_running: usize,
    max_queued: usize,
}

/// A running slot; freeing it hands the slot to the best waiter.
pub(crate) struct Permit {
    gate: Arc<PriorityGate>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate.release();
    }
}

impl PriorityGate {
    pub(crate) fn new(max_running: usize, max_queued: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            max_running: max_running.max(1),
            max_queued,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands the slot to the best live waiter, or frees it.
    fn release(&self) {
        let mut state = self.lock();
        while let Some(waiter) = state.queue.pop() {
            if waiter.tx.send(()).is_ok() {
                return; // the slot moves to the waiter; `running` is unchanged
            }
        }
        state.running = state.running.saturating_sub(1);
    }

    /// Waits for a slot for at most `timeout`.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        priority: f64,
        timeout: Duration,
    ) -> Result<Permit, GateError> {
        let mut rx = {
            let mut state = self.lock();
            if state.running < self.max_running && state.queue.is_empty() {
                state.running += 1;
                return Ok(Permit { gate: self.clone() });
            }
            if state.queue.len() >= self.max_queued {
                return Err(GateError::Full);
            }
            let (tx, rx) = oneshot::channel();
            state.seq += 1;
            let seq = state.seq;
            state.queue.push(Waiter {
                priority: if priority.is_nan() {
                    f64::NEG_INFINITY
                } else {
                    priority
                },
                seq,
                tx,
            });
            rx
        };
        match tokio::time::timeout(timeout, &mut rx).await {
            Ok(Ok(())) => Ok(Permit { gate: self.clone() }),
            // The sender vanished without a slot: cannot happen while the gate lives.
            Ok(Err(_)) => Err(GateError::Timeout),
            Err(_) => {
                // A slot may have been handed over just as the wait ended: give it back.
                rx.close();
                if rx.try_recv().is_ok() {
                    self.release();
                }
                Err(GateError::Timeout)
            }
        }
    }

    /// Running handlers (for tests and metrics).
    #[cfg(test)]
    pub(crate) fn running(&self) -> usize {
        self.lock().running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_running_priority_order_timeouts_and_full_queue() {
        let gate = PriorityGate::new(1, 2);
        let first = gate.acquire(0.0, Duration::from_secs(1)).await.unwrap();
        assert_eq!(gate.running(), 1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, prio) in [("low", 1.0), ("high", 5.0)] {
            let gate = gate.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let _p = gate.acquire(prio, Duration::from_secs(5)).await.unwrap();
                order.lock().unwrap().push(name);
            }));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The queue (2) is full now.
        assert_eq!(
            gate.acquire(9.0, Duration::from_secs(1)).await.err(),
            Some(GateError::Full)
        );
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["high", "low"]);
        assert_eq!(gate.running(), 0);

        let held = gate.acquire(0.0, Duration::from_secs(1)).await.unwrap();
        assert_eq!(
            gate.acquire(0.0, Duration::from_millis(30)).await.err(),
            Some(GateError::Timeout)
        );
        drop(held);
        assert_eq!(gate.running(), 0);
        // A timed-out waiter does not leak the slot.
        let _again = gate.acquire(0.0, Duration::from_millis(30)).await.unwrap();
    }
}
