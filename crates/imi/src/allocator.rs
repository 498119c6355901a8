//! How the process's allocator is tuned (glibc's malloc; other allocators ignore it).
//!
//! - **Large blocks go back.** glibc's malloc serves a block at or above its mmap threshold
//!   with a mapping of its own, unmapped when freed. The threshold starts at 128 KiB but moves:
//!   freeing such a block raises it to that block's size, so later blocks of that size come
//!   from the heap arenas, which keep them once freed. A password hash (argon2: 19 MiB per
//!   hash, on whichever blocking thread runs it) then leaves 19 MiB behind in each arena a
//!   hashing thread used, up to eight per core. Measured under `imi bench writes`: 214 to 282
//!   MB at the peak, 59 MB with the threshold held (docs/BENCHMARKS.md). Setting the threshold
//!   turns the moving rule off.
//! - **No fastbins.** Freed small blocks wait in fastbins until a larger request makes malloc
//!   merge them all (`malloc_consolidate`). A rebuild frees many small blocks (decoded events,
//!   JSON trees) between large ones (batches, `COPY` text), and merging them was a fifth of its
//!   profile; without fastbins (small blocks still go through the per-thread cache) a rebuild
//!   takes 0.88x to 0.92x of the CPU, and writes are unchanged (docs/BENCHMARKS.md, "No copies
//!   per member").

/// Blocks of this size or more are mapped on their own and unmapped when freed.
pub const MMAP_THRESHOLD_BYTES: i32 = 1 << 20;

/// Tunes glibc's malloc as above. Called first thing in `main`, before any thread starts.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread
    // exists, and a refusal (0) leaves the default behaviour, which is still correct.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        libc::mallopt(libc::M_MXFAST, 0);
    }
}
