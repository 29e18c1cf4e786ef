//! Per-key bounds of the external API: a sliding one-minute request count and a count of
//! requests in flight. A key over either is refused with its own error while everyone else is
//! served.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omron_api::rpc::{ErrorObject, codes};
use omron_keys::AccountId;

use super::lock;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct KeyState {
    recent: VecDeque<Instant>,
    in_flight: usize,
}

/// The bounds of every key.
#[derive(Debug)]
pub(crate) struct KeyLimits {
    per_minute: u32,
    in_flight: usize,
    keys: Arc<Mutex<HashMap<AccountId, KeyState>>>,
}

/// A request counted in flight for a key until dropped.
#[derive(Debug)]
pub(crate) struct InFlight {
    key: AccountId,
    admitted: Instant,
    keys: Arc<Mutex<HashMap<AccountId, KeyState>>>,
}

impl InFlight {
    /// Takes the request back out of the key's rate window: it was refused before reaching a
    /// miner (the validator was busy), so it should not use up the caller's quota.
    pub(crate) fn refund(self) {
        let mut keys = lock(&self.keys);
        if let Some(s) = keys.get_mut(&self.key)
            && let Some(i) = s.recent.iter().rposition(|t| *t == self.admitted)
        {
            s.recent.remove(i);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut keys = lock(&self.keys);
        if let Some(s) = keys.get_mut(&self.key) {
            s.in_flight = s.in_flight.saturating_sub(1);
            if s.in_flight == 0 && s.recent.is_empty() {
                keys.remove(&self.key);
            }
        }
    }
}

impl KeyLimits {
    pub(crate) fn new(per_minute: u32, in_flight: usize) -> Self {
        Self {
            per_minute,
            in_flight,
            keys: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Admits one request of `key` now, or says which bound it is over.
    pub(crate) fn admit(&self, key: AccountId, now: Instant) -> Result<InFlight, ErrorObject> {
        let mut keys = lock(&self.keys);
        // Forget idle keys now and then so the map stays as large as the active callers.
        if keys.len() > 10_000 {
            keys.retain(|_, s| {
                s.in_flight > 0
                    || s.recent
                        .back()
                        .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        let state = keys.entry(key).or_default();
        while state
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            state.recent.pop_front();
        }
        if state.recent.len() >= self.per_minute as usize {
            return Err(ErrorObject::new(
                codes::RATE_LIMITED,
                format!(
                    "rate limit: at most {} requests a minute per key; try again later",
                    self.per_minute
                ),
            ));
        }
        if state.in_flight >= self.in_flight {
            return Err(ErrorObject::new(
                codes::TOO_MANY_IN_FLIGHT,
                format!(
                    "at most {} requests in flight per key; wait for an answer first",
                    self.in_flight
                ),
            ));
        }
        state.recent.push_back(now);
        state.in_flight += 1;
        Ok(InFlight {
            key,
            admitted: now,
            keys: self.keys.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_in_flight_bounds_apply_per_key() {
        let limits = KeyLimits::new(3, 2);
        let a = AccountId([1; 32]);
        let b = AccountId([2; 32]);
        let t0 = Instant::now();
        let g1 = limits.admit(a, t0).unwrap();
        let g2 = limits.admit(a, t0).unwrap();
        assert_eq!(
            limits.admit(a, t0).unwrap_err().code,
            codes::TOO_MANY_IN_FLIGHT
        );
        let _other = limits.admit(b, t0).unwrap();
        drop(g1);
        let g3 = limits.admit(a, t0).unwrap();
        drop(g2);
        drop(g3);
        assert_eq!(limits.admit(a, t0).unwrap_err().code, codes::RATE_LIMITED);
        // A minute later the window has moved on.
        let late = limits.admit(a, t0 + WINDOW).unwrap();
        // A refunded request leaves room for another within the same minute.
        late.refund();
        let c = limits.admit(b, t0 + WINDOW).unwrap();
        c.refund();
        for _ in 0..3 {
            drop(limits.admit(b, t0 + WINDOW).unwrap());
        }
        assert_eq!(
            limits.admit(b, t0 + WINDOW).unwrap_err().code,
            codes::RATE_LIMITED
        );
    }
}
