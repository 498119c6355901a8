//! The process's allocator is mimalloc (`main.rs`). By default it returns freed memory to the
//! system a second later (its purge delay, 1,000 ms in the v3 the crate builds); a rebuild
//! frees a batch's memory and allocates the next one's about that much later, so batches
//! faulted their pages in again: at scale 0.05 the kernel took a quarter to two fifths of a
//! rebuild's CPU time, two to three times what it takes when the memory is kept
//! (docs/BENCHMARKS.md, "Freed memory kept").

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (the sys crate names no constant for
/// it; a test checks its default, 1,000 ms in `options.c`).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory in the process for good: for a process that rebuilds and exits
/// (`imi projections rebuild`, `imi bench populate`). A server keeps the default, which would
/// otherwise hold the peak of its last rebuild for its whole life.
pub fn keep_freed_memory() {
    // SAFETY: sets an integer option, read by mimalloc whenever it considers a purge.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_set_is_the_purge_delay() {
        // SAFETY: reads an integer option.
        let delay = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        // Its default (the environment could change it: not in these tests).
        assert_eq!(
            delay(),
            1000,
            "mimalloc's option {PURGE_DELAY} is not the purge delay"
        );
        keep_freed_memory();
        assert_eq!(delay(), -1);
    }
}
