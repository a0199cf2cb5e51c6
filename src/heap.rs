//! How drover asks the C allocator to keep its heap small (issue 19).
//!
//! glibc's malloc gives each thread that allocates an arena of its own
//! (up to eight per core), and memory freed in one arena is reused only by
//! threads allocating there. A sweep allocates on the runtime's workers
//! and on the blocking threads the store runs on, so a daemon's resident
//! set crept up sweep after sweep over the same work (the GitHub soak at
//! 10,000 repositories: +10 % from the 2nd sweep to the 20th), each
//! arena keeping its own high-water mark. drover is not
//! allocation-bound — it waits on the forge — so one arena costs nothing
//! measurable, and it is what makes [`give_back`] return what a sweep
//! freed. Elsewhere than glibc both are no-ops.

/// One arena for every thread. Called first thing, before any thread.
pub fn one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable; called before other threads
    // exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Hands the pages freed since back to the system: glibc keeps freed
/// memory for reuse, so between sweeps a daemon would sit at its last
/// peak, and the next sweep's allocations would scatter over what was
/// left.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory; it touches nothing
    // allocated.
    unsafe {
        libc::malloc_trim(0);
    }
}
