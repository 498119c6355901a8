//! Waking projectors across processes: a commit ticks its own process at once and the others
//! through one NOTIFY; a process's own NOTIFY, back through its own LISTEN, ticks nothing more.

use crate::support::migrated;
use imi_store::wake::Wake;
use std::time::Duration;
use tokio::sync::watch;

/// Waits for `rx`'s next tick (at most 10 s) and marks it seen.
async fn ticked(rx: &mut watch::Receiver<u64>, what: &str) {
    tokio::time::timeout(Duration::from_secs(10), rx.changed())
        .await
        .unwrap_or_else(|_| panic!("{what}: no tick"))
        .expect("the wake is alive");
    rx.borrow_and_update();
}

/// Whether `rx` ticks again within a while (longer than a NOTIFY's debounce and round trip).
async fn ticks_again(rx: &mut watch::Receiver<u64>) -> bool {
    tokio::time::sleep(Duration::from_millis(300)).await;
    rx.has_changed().expect("the wake is alive")
}

#[tokio::test]
async fn a_commit_wakes_every_process_once() {
    let pool = migrated().await;
    // Two processes' wakes on one database, each listening.
    let (a, b) = (
        Wake::with_notify(pool.clone()),
        Wake::with_notify(pool.clone()),
    );
    let (mut rx_a, mut rx_b) = (a.subscribe(), b.subscribe());
    a.listen(pool.clone());
    b.listen(pool.clone());
    // Each ticks once when its LISTEN starts (commits may have been missed before).
    ticked(&mut rx_a, "a listening").await;
    ticked(&mut rx_b, "b listening").await;

    commit(&a, &mut rx_a, &mut rx_b, "b").await;
    commit(&b, &mut rx_b, &mut rx_a, "a").await;
}

/// A commit in `from`'s process: it ticks there once, and once in the other (`to`).
async fn commit(
    from: &Wake,
    rx_from: &mut watch::Receiver<u64>,
    rx_to: &mut watch::Receiver<u64>,
    to: &str,
) {
    from.events_committed();
    ticked(rx_from, "the committing process").await;
    ticked(rx_to, to).await;
    assert!(
        !ticks_again(rx_from).await,
        "the committing process was woken again by its own NOTIFY"
    );
    assert!(!ticks_again(rx_to).await, "{to} was woken twice");
}
