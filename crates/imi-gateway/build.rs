//! Embeds the GraphiQL browser bundles into the gateway binary.
//!
//! The bundles are third-party code and are never committed: `graphiql/package.json` and
//! `graphiql/package-lock.json` pin them, and they come from the npm registry into
//! `graphiql/node_modules` (by `npm ci`, which this script runs when the installed files are
//! missing or do not match the lock file). The files are copied into `OUT_DIR` under
//! content-hashed names and `src/graphiql.rs` includes them with `include_bytes!`.
//!
//! The build never fails because of them: when they cannot be had (no npm, no network), the
//! script prints a warning and generates an empty asset table; the `/graphiql` page then says
//! that the assets are missing and how to install them.
//!
//! Uses the standard library only (no build dependencies).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Folder (inside the crate) holding package.json, package-lock.json and node_modules.
const NPM_DIR: &str = "graphiql";
/// The command a developer runs by hand, from the workspace root.
const MANUAL_INSTALL: &str = "npm ci --prefix crates/imi-gateway/graphiql";

/// One embedded file.
struct Spec {
    /// Key used by `src/graphiql.rs` to find the asset.
    key: &'static str,
    /// npm package the file comes from.
    package: &'static str,
    /// Path inside `node_modules`.
    source: &'static str,
    /// Served file name is `{stem}.{hash}.{ext}`.
    stem: &'static str,
    ext: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        key: "react.js",
        package: "react",
        source: "react/umd/react.production.min.js",
        stem: "react",
        ext: "js",
    },
    Spec {
        key: "react-dom.js",
        package: "react-dom",
        source: "react-dom/umd/react-dom.production.min.js",
        stem: "react-dom",
        ext: "js",
    },
    Spec {
        key: "graphql-ws.js",
        package: "graphql-ws",
        source: "graphql-ws/umd/graphql-ws.min.js",
        stem: "graphql-ws",
        ext: "js",
    },
    Spec {
        key: "graphiql.js",
        package: "graphiql",
        source: "graphiql/graphiql.min.js",
        stem: "graphiql",
        ext: "js",
    },
    Spec {
        key: "graphiql.css",
        package: "graphiql",
        source: "graphiql/graphiql.min.css",
        stem: "graphiql",
        ext: "css",
    },
];

/// A file read from node_modules, ready to be written to OUT_DIR.
struct Loaded {
    spec: &'static Spec,
    version: String,
    bytes: Vec<u8>,
}

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let npm_dir = manifest_dir.join(NPM_DIR);
    let lock_path = npm_dir.join("package-lock.json");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={NPM_DIR}/package.json");
    println!("cargo:rerun-if-changed={NPM_DIR}/package-lock.json");

    let lock = match fs::read_to_string(&lock_path) {
        Ok(text) => text,
        Err(e) => {
            return fallback(
                &out_dir,
                &format!("cannot read {}: {e}", lock_path.display()),
            );
        }
    };

    // Serialise npm runs of concurrent builds (other target dirs, rust-analyzer) on this checkout.
    let _guard = InstallLock::acquire(&npm_dir);

    let mut outcome = load(&npm_dir, &lock);
    let mut stale: Option<Vec<Loaded>> = None;
    if let Some(problem) = outcome.as_ref().err().cloned() {
        // Keep what is installed (an older version) in case npm cannot replace it: npm ci
        // removes node_modules before installing.
        stale = load_unchecked(&npm_dir).ok();
        // A failed `npm ci` is not retried while package.json and package-lock.json stay as
        // they are (touching either retries): when this script watches the npm folder (below),
        // npm's own changes to it would otherwise rerun it, and npm, on every build.
        let failure_stamp = out_dir.join("npm-ci-failed");
        let attempt_key = format!(
            "{:016x} {:?} {:?}",
            fnv1a64(lock.as_bytes()),
            fs::metadata(&lock_path).and_then(|m| m.modified()).ok(),
            fs::metadata(npm_dir.join("package.json"))
                .and_then(|m| m.modified())
                .ok(),
        );
        if fs::read_to_string(&failure_stamp).ok().as_deref() == Some(attempt_key.as_str()) {
            outcome = Err(format!(
                "{problem}; `npm ci` failed in an earlier build and is not retried \
                 (touch crates/imi-gateway/{NPM_DIR}/package-lock.json to retry)"
            ));
        } else {
            // Silent when it works: cargo repeats a build script's warnings on later builds.
            match npm_ci(&npm_dir) {
                Ok(()) => {
                    let _ = fs::remove_file(&failure_stamp);
                    outcome = load(&npm_dir, &lock);
                }
                Err(e) => {
                    let _ = fs::write(&failure_stamp, &attempt_key);
                    outcome = Err(format!(
                        "{problem}; `npm ci` in {} failed: {e}",
                        npm_dir.display()
                    ));
                }
            }
        }
    }

    match (outcome, stale) {
        (Ok(files), _) => embed(&out_dir, &files),
        (Err(problem), Some(files)) => {
            warn(&format!(
                "GraphiQL assets: embedding the installed files although {problem}; \
                 run `{MANUAL_INSTALL}` to install the locked versions"
            ));
            embed(&out_dir, &files);
        }
        (Err(problem), _) => {
            // Watch the npm folder as a whole so that a later manual install (which creates
            // node_modules) makes cargo run this script again.
            println!("cargo:rerun-if-changed={NPM_DIR}");
            fallback(&out_dir, &problem);
        }
    }
}

/// Reads every asset and checks that its package has the version pinned by the lock file.
fn load(npm_dir: &Path, lock: &str) -> Result<Vec<Loaded>, String> {
    let files = load_unchecked(npm_dir)?;
    for file in &files {
        let anchor = format!("\"node_modules/{}\"", file.spec.package);
        let locked = lock
            .find(&anchor)
            .and_then(|at| json_string_field(lock, at + anchor.len(), "version"))
            .ok_or_else(|| format!("package-lock.json does not pin `{}`", file.spec.package))?;
        if locked != file.version {
            return Err(format!(
                "installed {} {} does not match package-lock.json ({locked})",
                file.spec.package, file.version
            ));
        }
    }
    Ok(files)
}

/// Reads every asset and the version of its package, whatever that version is.
fn load_unchecked(npm_dir: &Path) -> Result<Vec<Loaded>, String> {
    let modules = npm_dir.join("node_modules");
    if !modules.is_dir() {
        return Err(format!("{} is not installed", modules.display()));
    }
    let mut files = Vec::with_capacity(SPECS.len());
    for spec in SPECS {
        let path = modules.join(spec.source);
        let bytes = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let manifest = modules.join(spec.package).join("package.json");
        let version = fs::read_to_string(&manifest)
            .ok()
            .and_then(|text| json_string_field(&text, 0, "version"))
            .ok_or_else(|| format!("no version in {}", manifest.display()))?;
        files.push(Loaded {
            spec,
            version,
            bytes: strip_source_map_comment(bytes),
        });
    }
    Ok(files)
}

fn npm_ci(npm_dir: &Path) -> Result<(), String> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let output = Command::new(npm)
        // None of the pinned packages has install scripts; refuse any that might appear.
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .env("npm_config_update_notifier", "false")
        .current_dir(npm_dir)
        .output()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => {
                "`npm` was not found on PATH (install Node.js with npm)".to_owned()
            }
            _ => format!("cannot start `npm`: {e}"),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    // npm puts the error code and message first, then a stack trace.
    let head: Vec<&str> = stderr
        .lines()
        .map(|l| l.trim_start_matches("npm error").trim())
        .filter(|l| !l.is_empty())
        .take(4)
        .collect();
    Err(format!("{}: {}", output.status, head.join(" | ")))
}

/// Writes the files under content-hashed names and the table `src/graphiql.rs` includes.
fn embed(out_dir: &Path, files: &[Loaded]) {
    let asset_dir = out_dir.join("graphiql-assets");
    let _ = fs::remove_dir_all(&asset_dir);
    fs::create_dir_all(&asset_dir).expect("create OUT_DIR/graphiql-assets");
    let mut code = String::from(
        "// Generated by crates/imi-gateway/build.rs from graphiql/node_modules.\n\
         pub(super) const MISSING: Option<&str> = None;\n\
         pub(super) static ASSETS: &[VendorAsset] = &[\n",
    );
    for file in files {
        let spec = file.spec;
        let name = format!("{}.{:016x}.{}", spec.stem, fnv1a64(&file.bytes), spec.ext);
        fs::write(asset_dir.join(&name), &file.bytes).expect("write an asset to OUT_DIR");
        writeln!(
            code,
            "    VendorAsset {{ key: {key:?}, file: {name:?}, package: {package:?}, version: {version:?}, \
             bytes: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/graphiql-assets/{name}\")) }},",
            key = spec.key,
            package = spec.package,
            version = file.version,
        )
        .unwrap();
    }
    code.push_str("];\n");
    write_table(out_dir, &code);
}

/// Generates an empty table and the reason; the page then explains how to get the assets.
fn fallback(out_dir: &Path, problem: &str) {
    warn(&format!(
        "GraphiQL assets are NOT embedded ({problem}); /graphiql will say so. \
         To embed them: `{MANUAL_INSTALL}`, then build again"
    ));
    let code = format!(
        "// Generated by crates/imi-gateway/build.rs: the GraphiQL assets were not available.\n\
         pub(super) const MISSING: Option<&str> = Some({problem:?});\n\
         pub(super) static ASSETS: &[VendorAsset] = &[];\n"
    );
    let _ = fs::remove_dir_all(out_dir.join("graphiql-assets"));
    write_table(out_dir, &code);
}

fn write_table(out_dir: &Path, code: &str) {
    fs::write(out_dir.join("graphiql_assets.rs"), code).expect("write OUT_DIR/graphiql_assets.rs");
}

/// Drops a trailing `sourceMappingURL` comment: the maps are not served, and browsers' developer
/// tools would otherwise ask for them.
fn strip_source_map_comment(bytes: Vec<u8>) -> Vec<u8> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => return e.into_bytes(),
    };
    let body = text.trim_end();
    let cut = body.rfind('\n').map_or(0, |i| i + 1);
    let last = &body[cut..];
    if last.starts_with("//# sourceMappingURL=") || last.starts_with("/*# sourceMappingURL=") {
        let mut kept = body[..cut].to_owned();
        if !kept.is_empty() && !kept.ends_with('\n') {
            kept.push('\n');
        }
        return kept.into_bytes();
    }
    text.into_bytes()
}

/// The string value of the first `"key": "value"` at or after `from` (enough for the
/// `version` fields of npm's package.json and package-lock.json; no escapes in versions).
fn json_string_field(text: &str, from: usize, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let start = from + text.get(from..)?.find(&needle)? + needle.len();
    let rest = text[start..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn warn(message: &str) {
    for line in message.lines() {
        println!("cargo:warning={line}");
    }
}

/// An exclusive advisory lock on a file in the temporary folder, named after the npm folder.
struct InstallLock(Option<fs::File>);

impl InstallLock {
    fn acquire(npm_dir: &Path) -> Self {
        let name = format!(
            "imi-gateway-graphiql-{:016x}.lock",
            fnv1a64(npm_dir.to_string_lossy().as_bytes())
        );
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(env::temp_dir().join(name))
            .ok()
            .filter(|f| f.lock().is_ok());
        InstallLock(file)
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        if let Some(file) = &self.0 {
            let _ = file.unlock();
        }
    }
}
