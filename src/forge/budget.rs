//! A forge's rate-limit budgets as drover learns them from the answers —
//! GitHub's `X-RateLimit-*` per resource (`core` for REST, `graphql`, whose
//! `rateLimit { remaining resetAt cost }` also says what a query costs),
//! GitLab's `RateLimit-*` — and what follows for the next request: send
//! it, send it later (a paced slot), wait for the reset, or give up
//! because the reset is further away than drover may wait.
//!
//! Pacing: the sweep says how far it is through its current step
//! ([`Budgets::progress`]); the rest of the step is estimated per budget
//! from what the part already done spent. When that estimate is more than
//! the budget has left, requests are spread evenly until the reset instead
//! of spending the budget at once and then meeting refusals. Until the
//! first answer says what a budget holds, one request at a time goes (so
//! eight concurrent first requests cannot overspend a small budget); an
//! answer that says nothing (sourcehut sends no budget) lifts that.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Which budget a request spends: GitHub's `core` and `graphql`, GitLab's
/// one `api` budget, or [`ANY`] where the forge says of none.
pub type Lane = &'static str;

/// The lane of forges that report no budget.
pub const ANY: Lane = "api";

/// How long after the announced reset drover asks again: the reset is in
/// whole seconds of the forge's clock, not drover's.
const MARGIN: Duration = Duration::from_secs(1);

/// What an answer said of its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observed {
    pub limit: Option<u64>,
    pub remaining: u64,
    /// Epoch seconds.
    pub reset: Option<u64>,
    /// Points the request cost (GitHub GraphQL's `rateLimit.cost`).
    pub cost: Option<u64>,
}

impl Observed {
    /// The budget in the headers, GitHub's names or GitLab's.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Observed> {
        let num = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| headers.get(*n)?.to_str().ok()?.trim().parse::<u64>().ok())
        };
        Some(Observed {
            remaining: num(["x-ratelimit-remaining", "ratelimit-remaining"])?,
            limit: num(["x-ratelimit-limit", "ratelimit-limit"]),
            reset: num(["x-ratelimit-reset", "ratelimit-reset"]),
            cost: None,
        })
    }
}

/// What to do about the next request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admit {
    /// Send it after this long (zero: now); `reserved` points are held
    /// until its answer is settled.
    Send { after: Duration, reserved: u64 },
    /// The budget is spent: ask again after this long.
    Wait(Duration),
    /// The budget is spent until further away than drover may wait.
    Refuse { reset_in_secs: u64 },
}

#[derive(Debug, Default)]
struct LaneState {
    /// Whether an answer said anything of this budget.
    known: bool,
    /// The first request is out and nothing is known yet.
    probing: bool,
    /// An answer came without a budget: requests are not held back.
    unmetered: bool,
    limit: Option<u64>,
    remaining: u64,
    /// Epoch seconds; `None` after the window passed until an answer says.
    reset: Option<u64>,
    /// Points held by requests sent (or about to be) but not answered.
    reserved: u64,
    /// What one request costs, as last seen (at least 1).
    cost: u64,
    /// Requests admitted so far, and at the start of the sweep's step.
    sent: u64,
    step_start: u64,
    /// The next paced slot.
    next_slot: Option<Instant>,
}

/// Every budget of one forge client, and the time spent waiting for them.
#[derive(Debug)]
pub struct Budgets {
    lanes: HashMap<Lane, LaneState>,
    /// The sweep's step: (done, left), in its own units (repositories).
    step: (u64, u64),
    /// The epoch at `anchor`, so that time is read from one (tokio) clock.
    epoch_at_anchor: f64,
    anchor: Instant,
    waited: Duration,
    waiting_until: Option<Instant>,
}

impl Default for Budgets {
    fn default() -> Self {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Budgets::anchored(epoch, Instant::now())
    }
}

impl Budgets {
    /// Budgets whose clock reads `epoch` at `anchor`.
    pub fn anchored(epoch: f64, anchor: Instant) -> Budgets {
        Budgets {
            lanes: HashMap::new(),
            step: (0, 0),
            epoch_at_anchor: epoch,
            anchor,
            waited: Duration::ZERO,
            waiting_until: None,
        }
    }

    fn epoch(&self, now: Instant) -> f64 {
        self.epoch_at_anchor + now.saturating_duration_since(self.anchor).as_secs_f64()
    }

    /// How far the sweep is through its step; `done == 0` starts one.
    pub fn progress(&mut self, done: u64, left: u64) {
        if done == 0 {
            for lane in self.lanes.values_mut() {
                lane.step_start = lane.sent;
            }
        }
        self.step = (done, left);
    }

    /// Time spent waiting for budgets (paced slots and resets), counted
    /// once however many requests waited at the same time.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// Whether, and when, the next request on `lane` goes.
    pub fn admit(&mut self, lane: Lane, now: Instant, max_wait: Duration) -> Admit {
        let epoch = self.epoch(now);
        let (done, left) = self.step;
        let l = self.lanes.entry(lane).or_default();
        if !l.known {
            if l.probing && !l.unmetered {
                return Admit::Wait(Duration::from_millis(20));
            }
            l.probing = true;
            l.sent += 1;
            return Admit::Send {
                after: Duration::ZERO,
                reserved: 0,
            };
        }
        if l.reset.is_some_and(|reset| epoch >= reset as f64) {
            // The window passed: full again, its end unknown until an
            // answer says.
            l.remaining = l.limit.unwrap_or(l.remaining.max(1));
            l.reset = None;
            l.next_slot = None;
        }
        let cost = l.cost.max(1);
        let available = l.remaining.saturating_sub(l.reserved);
        if available < cost {
            let Some(reset) = l.reset else {
                if l.reserved > 0 {
                    // Spent, and the answers that would say until when
                    // are still coming.
                    return Admit::Wait(Duration::from_millis(100));
                }
                // Spent, and no answer said when it resets (a proxy that
                // drops the reset header) nor will: the forge's own answer
                // says — a 429 with Retry-After, which the transport waits
                // for within its bound — rather than waiting forever here.
                l.reserved += cost;
                l.sent += 1;
                return Admit::Send {
                    after: Duration::ZERO,
                    reserved: cost,
                };
            };
            let wait = Duration::from_secs_f64((reset as f64 - epoch).max(0.0)) + MARGIN;
            if wait > max_wait {
                return Admit::Refuse {
                    reset_in_secs: wait.as_secs(),
                };
            }
            self.note_wait(now, now + wait);
            return Admit::Wait(wait);
        }
        let demand = (done > 0).then(|| (l.sent - l.step_start) * left / done);
        let mut after = Duration::ZERO;
        if let (Some(reset), Some(demand)) = (l.reset, demand) {
            let until_reset = Duration::from_secs_f64((reset as f64 - epoch).max(0.0)) + MARGIN;
            // A reset further than drover waits is not waited for, so
            // spreading up to it would only delay what can be done now.
            if demand > available && until_reset <= max_wait {
                let interval = until_reset / u32::try_from(available / cost).unwrap_or(u32::MAX);
                let slot = l.next_slot.map_or(now, |s| s.max(now));
                l.next_slot = Some(slot + interval);
                after = slot - now;
            }
        }
        l.reserved += cost;
        l.sent += 1;
        if !after.is_zero() {
            self.note_wait(now, now + after);
        }
        Admit::Send {
            after,
            reserved: cost,
        }
    }

    /// A request that got no answer gives back what it held.
    pub fn release(&mut self, lane: Lane, reserved: u64) {
        let l = self.lanes.entry(lane).or_default();
        l.reserved = l.reserved.saturating_sub(reserved);
        l.probing = false;
    }

    /// An answer for a request that held `reserved`, and what it said of
    /// its budget, if anything.
    pub fn settle(&mut self, lane: Lane, reserved: u64, observed: Option<Observed>) {
        self.release(lane, reserved);
        let l = self.lanes.entry(lane).or_default();
        let Some(seen) = observed else {
            l.unmetered |= !l.known;
            return;
        };
        if let Some(cost) = seen.cost {
            l.cost = cost.max(1);
        }
        l.limit = seen.limit.or(l.limit);
        match (seen.reset, l.reset) {
            // An answer from a window that has passed.
            (Some(new), Some(old)) if new < old => {}
            // The same window: answers overtake each other, the lowest
            // count is the latest.
            (Some(new), Some(old)) if new == old && l.known => {
                l.remaining = l.remaining.min(seen.remaining)
            }
            _ => {
                l.remaining = seen.remaining;
                l.reset = seen.reset.or(l.reset);
            }
        }
        l.known = true;
        l.unmetered = false;
    }

    fn note_wait(&mut self, now: Instant, until: Instant) {
        let from = self.waiting_until.map_or(now, |w| w.max(now));
        if until > from {
            self.waited += until - from;
            self.waiting_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPOCH: f64 = 1_000_000.0;
    const WAIT: Duration = Duration::from_secs(60);

    fn budget(remaining: u64, reset_in: u64) -> Observed {
        Observed {
            limit: Some(10),
            remaining,
            reset: Some(EPOCH as u64 + reset_in),
            cost: None,
        }
    }

    fn sent(admit: Admit) -> (Duration, u64) {
        match admit {
            Admit::Send { after, reserved } => (after, reserved),
            other => panic!("not sent: {other:?}"),
        }
    }

    #[test]
    fn one_request_finds_out_the_budget_and_a_forge_without_one_is_not_held_back() {
        let now = Instant::now();
        let mut b = Budgets::anchored(EPOCH, now);
        assert_eq!(sent(b.admit(ANY, now, WAIT)), (Duration::ZERO, 0));
        assert!(matches!(b.admit(ANY, now, WAIT), Admit::Wait(_)));
        // A transport failure says nothing: the next one asks again.
        b.release(ANY, 0);
        sent(b.admit(ANY, now, WAIT));
        b.settle(ANY, 0, None);
        for _ in 0..100 {
            assert_eq!(sent(b.admit(ANY, now, WAIT)), (Duration::ZERO, 0));
        }
        assert_eq!(b.waited(), Duration::ZERO);
    }

    #[test]
    fn requests_in_flight_hold_their_points_so_concurrency_does_not_overspend() {
        let now = Instant::now();
        let mut b = Budgets::anchored(EPOCH, now);
        b.admit("core", now, WAIT);
        b.settle("core", 0, Some(budget(3, 30)));
        let held: Vec<u64> = (0..3).map(|_| sent(b.admit("core", now, WAIT)).1).collect();
        assert_eq!(held, [1, 1, 1]);
        // The fourth waits for the reset, though no answer came yet.
        assert_eq!(
            b.admit("core", now, WAIT),
            Admit::Wait(Duration::from_secs(31))
        );
        // The first answer counts its own request: still none to spare.
        b.settle("core", 1, Some(budget(2, 30)));
        assert!(matches!(b.admit("core", now, WAIT), Admit::Wait(_)));
    }

    #[test]
    fn a_spent_budget_without_a_reset_lets_the_forge_say_instead_of_waiting_forever() {
        let now = Instant::now();
        let mut b = Budgets::anchored(EPOCH, now);
        b.admit("api", now, WAIT);
        let no_reset = Observed {
            limit: Some(10),
            remaining: 0,
            reset: None,
            cost: None,
        };
        b.settle("api", 0, Some(no_reset));
        assert_eq!(sent(b.admit("api", now, WAIT)), (Duration::ZERO, 1));
        // While that one is out, the next waits for its answer.
        assert!(matches!(b.admit("api", now, WAIT), Admit::Wait(_)));
    }

    #[test]
    fn a_reset_further_than_drover_may_wait_refuses() {
        let now = Instant::now();
        let mut b = Budgets::anchored(EPOCH, now);
        b.admit("api", now, WAIT);
        b.settle("api", 0, Some(budget(0, 3599)));
        assert_eq!(
            b.admit("api", now, WAIT),
            Admit::Refuse {
                reset_in_secs: 3600
            }
        );
        // Other budgets are their own.
        assert_eq!(sent(b.admit("graphql", now, WAIT)).0, Duration::ZERO);
        // Past the reset the budget is full again.
        let later = now + Duration::from_secs(3600);
        assert_eq!(sent(b.admit("api", later, WAIT)), (Duration::ZERO, 1));
    }

    /// Budgets one request into a step of `1 + left` repositories, that
    /// request having cost one point and left `remaining`, resetting in
    /// `reset_in` seconds.
    fn one_done(now: Instant, left: u64, remaining: u64, reset_in: u64) -> Budgets {
        let mut b = Budgets::anchored(EPOCH, now);
        b.progress(0, 1 + left);
        b.admit("api", now, WAIT);
        b.settle("api", 0, Some(budget(remaining, reset_in)));
        b.progress(1, left);
        b
    }

    #[test]
    fn a_step_that_would_not_fit_is_spread_until_the_reset() {
        let now = Instant::now();
        // One repository done cost one request; 99 are left, 9 points:
        // one request every (9 + 1) / 9 seconds.
        let mut b = one_done(now, 99, 9, 9);
        let slots: Vec<Duration> = (0..3).map(|_| sent(b.admit("api", now, WAIT)).0).collect();
        assert_eq!(slots[0], Duration::ZERO);
        assert!(
            slots[1] > Duration::from_secs(1) && slots[2] > slots[1],
            "{slots:?}"
        );
        assert_eq!(b.waited(), slots[2], "waits that overlap count once");

        // Nor one whose reset is further than drover waits: what is left
        // is spent now, and the rest waits for a later sweep.
        let mut b = one_done(now, 99, 9, 3599);
        for _ in 0..9 {
            assert_eq!(sent(b.admit("api", now, WAIT)).0, Duration::ZERO);
        }
        assert!(matches!(b.admit("api", now, WAIT), Admit::Refuse { .. }));

        // A step that fits is not slowed.
        let mut b = one_done(now, 3, 9, 9);
        for _ in 0..3 {
            assert_eq!(sent(b.admit("api", now, WAIT)).0, Duration::ZERO);
        }
    }

    #[test]
    fn a_query_costing_several_points_reserves_them() {
        let now = Instant::now();
        let mut b = Budgets::anchored(EPOCH, now);
        b.admit("graphql", now, WAIT);
        b.settle(
            "graphql",
            0,
            Some(Observed {
                cost: Some(4),
                ..budget(9, 30)
            }),
        );
        assert_eq!(sent(b.admit("graphql", now, WAIT)).1, 4);
        assert_eq!(sent(b.admit("graphql", now, WAIT)).1, 4);
        assert!(matches!(b.admit("graphql", now, WAIT), Admit::Wait(_)));
    }
}
