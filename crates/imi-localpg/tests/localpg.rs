//! Starts real clusters in scratch folders (PostgreSQL server binaries must be installed).

use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::thread;

use imi_localpg::{
    default_data_root, ensure_running, ensure_running_with, find_server_binaries, running,
    stop_running, BinarySearch, LocalCluster, LocalPgError,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("imi-localpg-test-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// Held by each test that starts a cluster. Both would take the preferred port, and a cluster
/// restarted while the other test holds that port moves to another (as it should), which would
/// break the assertion that a restart keeps its port.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Stops the cluster and removes its data root even when an assertion fails.
struct Cleanup(Option<LocalCluster>, Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(cluster) = &self.0 {
            let _ = cluster.stop();
        }
        for dir in &self.1 {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn ensure_running_twice_reuses_one_cluster() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let dir = scratch("reuse");
    // The only test here reading IMI_DATA_DIR.
    std::env::set_var("IMI_DATA_DIR", &dir);
    let root = default_data_root();
    assert_eq!(root, dir);
    let mut cleanup = Cleanup(None, vec![dir.clone()]);

    // Two first calls at once: the lock lets one create and start, the other reuse.
    let (a, b) = thread::scope(|s| {
        let a = s.spawn(|| ensure_running(&root));
        let b = s.spawn(|| ensure_running(&root));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    cleanup.0 = Some(a.clone());
    assert_eq!(a, b);
    assert_eq!(ensure_running(&root).unwrap(), a);
    assert!(a.data_dir.join("PG_VERSION").exists());
    TcpStream::connect(("127.0.0.1", a.port)).expect("the cluster accepts TCP connections");
    assert_eq!(a.url("x"), format!("postgres://imi@127.0.0.1:{}/x", a.port));

    // After a stop, the next call starts it again on the port chosen the first time.
    a.stop().unwrap();
    let restarted = ensure_running(&root).unwrap();
    assert_eq!(restarted, a);
    TcpStream::connect(("127.0.0.1", restarted.port)).expect("restarted cluster accepts TCP");

    // `imi db status` and `imi db stop`: seen running, stopped, then seen stopped.
    assert_eq!(running(&root).unwrap(), Some(a.clone()));
    assert_eq!(stop_running(&root).unwrap(), Some(a.clone()));
    assert_eq!(running(&root).unwrap(), None);
    assert_eq!(stop_running(&root).unwrap(), None, "stopping twice is fine");
    assert!(TcpStream::connect(("127.0.0.1", a.port)).is_err());
}

#[test]
fn root_falls_back_when_the_data_root_is_closed_to_postgres() {
    if !nix::unistd::Uid::effective().is_root() {
        return; // Only root hands the cluster to another user.
    }
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let closed = scratch("closed");
    fs::create_dir_all(&closed).unwrap();
    fs::set_permissions(&closed, fs::Permissions::from_mode(0o700)).unwrap();
    let mut cleanup = Cleanup(None, vec![closed.clone()]);

    let cluster = ensure_running(&closed.join("data")).unwrap();
    let fallback_root = cluster.data_dir.parent().unwrap().to_path_buf();
    cleanup.1.push(fallback_root.clone());
    cleanup.0 = Some(cluster.clone());

    assert!(!cluster.data_dir.starts_with(&closed), "{cluster:?}");
    assert!(
        fallback_root.starts_with(std::env::temp_dir()),
        "{cluster:?}"
    );
    TcpStream::connect(("127.0.0.1", cluster.port)).expect("the cluster accepts TCP connections");
    // The same request finds the same fallback.
    assert_eq!(ensure_running(&closed.join("data")).unwrap(), cluster);
}

#[test]
fn without_binaries_the_error_says_what_to_install() {
    let empty = scratch("nobin");
    fs::create_dir_all(&empty).unwrap();
    let _cleanup = Cleanup(None, vec![empty.clone()]);
    let search = BinarySearch {
        path: empty.clone().into_os_string(),
        versioned_roots: vec![empty.join("postgresql")],
    };

    let err = find_server_binaries(&search).unwrap_err();
    assert!(
        matches!(err, LocalPgError::NoServerBinaries { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("apt-get install postgresql"), "{message}");
    assert!(message.contains("on PATH"), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");

    let err = ensure_running_with(&empty.join("data"), &search).unwrap_err();
    assert!(
        matches!(err, LocalPgError::NoServerBinaries { .. }),
        "{err:?}"
    );
}

#[test]
fn finds_the_installed_server_binaries() {
    let bins = find_server_binaries(&BinarySearch::from_env()).unwrap();
    assert!(bins.major >= imi_localpg::MIN_MAJOR);
    assert!(bins.initdb.ends_with("initdb") && bins.pg_ctl.ends_with("pg_ctl"));
}
