//! The GraphiQL page, served from the binary (no CDN, works offline).
//!
//! `GET /graphiql` is a page written here; it loads React, ReactDOM, graphql-ws and GraphiQL from
//! `/graphiql/assets/…`. Those bundles are third-party code taken from the npm registry at build
//! time (pinned by `graphiql/package-lock.json`, embedded by `build.rs`), never committed. Asset
//! file names carry a hash of their content, so they are cached for a year; the page itself is
//! revalidated on every load.
//!
//! The page talks to [`GRAPHQL_ENDPOINT`] over HTTP and runs subscriptions over
//! [`SUBSCRIPTION_ENDPOINT`] with the `graphql-transport-ws` protocol. The headers typed in the
//! header editor (e.g. `{"Authorization": "Bearer …"}`) go with every HTTP request and, for
//! subscriptions, as the `connection_init` payload of the WebSocket.
//!
//! When the build could not get the bundles (no npm, no network), `/graphiql` answers 503 with a
//! page saying how to install them.

use std::sync::LazyLock;

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Where the page is served.
pub const PAGE_PATH: &str = "/graphiql";
/// Prefix of the asset URLs.
pub const ASSETS_PATH: &str = "/graphiql/assets";
/// The GraphQL endpoint the page sends queries and mutations to.
pub const GRAPHQL_ENDPOINT: &str = "/graphql";
/// The `graphql-transport-ws` endpoint the page opens for subscriptions.
pub const SUBSCRIPTION_ENDPOINT: &str = "/graphql/ws";

/// A bundle embedded by `build.rs`.
#[derive(Debug, Clone, Copy)]
pub struct VendorAsset {
    /// What the page uses it for: `react.js`, `react-dom.js`, `graphql-ws.js`, `graphiql.js`,
    /// `graphiql.css`.
    pub key: &'static str,
    /// Served file name, `{name}.{content hash}.{js|css}`.
    pub file: &'static str,
    /// The npm package and version it comes from.
    pub package: &'static str,
    pub version: &'static str,
    pub bytes: &'static [u8],
}

mod vendor {
    use super::VendorAsset;
    include!(concat!(env!("OUT_DIR"), "/graphiql_assets.rs"));
}

/// The embedded third-party bundles (empty when the build could not get them).
pub fn vendor_assets() -> &'static [VendorAsset] {
    vendor::ASSETS
}

/// Why the bundles are missing, when they are.
pub fn missing_assets() -> Option<&'static str> {
    vendor::MISSING
}

/// The routes of the page and its assets; state-less, to be merged into the gateway's router.
pub fn routes() -> Router {
    Router::new()
        .route(PAGE_PATH, get(page))
        .route(&format!("{ASSETS_PATH}/{{file}}"), get(asset))
}

/// URL path of an asset file.
pub fn asset_url(file: &str) -> String {
    format!("{ASSETS_PATH}/{file}")
}

const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
     connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Our own start-up script (not third-party): builds the fetcher and renders GraphiQL.
const START_JS: &str = r#"(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var httpUrl = new URL(root.dataset.endpoint, window.location.href).href;
  var wsUrl = new URL(root.dataset.subscriptionEndpoint, window.location.href);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';

  // Shown in the header editor; sent only once the placeholder is replaced by a token.
  var PLACEHOLDER = 'Bearer <token>';
  var DEFAULT_HEADERS = JSON.stringify({ Authorization: PLACEHOLDER }, null, 2);

  function effectiveHeaders(headers) {
    var out = {};
    if (headers && typeof headers === 'object') {
      Object.keys(headers).forEach(function (name) {
        var value = headers[name];
        if (value === undefined || value === null || value === '' || value === PLACEHOLDER) return;
        out[name] = typeof value === 'string' ? value : String(value);
      });
    }
    return out;
  }

  // One graphql-ws client (and fetcher) per set of headers: the headers are the
  // connection_init payload. Clients are lazy: an old one closes its socket when its
  // last subscription ends.
  var current = null;
  function fetcherFor(headers) {
    var key = JSON.stringify(headers);
    if (current === null || current.key !== key) {
      var wsClient = graphqlWs.createClient({ url: wsUrl.href, connectionParams: headers, lazy: true });
      current = { key: key, fetcher: GraphiQL.createFetcher({ url: httpUrl, wsClient: wsClient }) };
    }
    return current.fetcher;
  }

  function fetcher(params, options) {
    var headers = effectiveHeaders(options && options.headers);
    return fetcherFor(headers)(params, Object.assign({}, options, { headers: headers }));
  }

  // The page opens with operations that work for any signed-in user: sign in (a demo login,
  // see the README), paste the token into the Authorization header, then run MyWork.
  var DEFAULT_QUERY = [
    '# 1. Run SignIn (demo logins: README.md), copy the token into the',
    '#    Authorization header below ("Bearer <token>"), then run MyWork.',
    'mutation SignIn {',
    '  login(login: "de.nimic", password: "imi-demo-2026") { token }',
    '}',
    '',
    'query MyWork {',
    '  me { userId authorityId authority { officialName } }',
    '  serviceClock { mode offset now }',
    '  requestInbox(first: 10) { edges { node { requestId area action dueDate } } }',
    '  alertQueue(first: 10) { edges { node { queue alert { id status viewLevel } } } }',
    '  notifications(first: 5) { edges { node { kind subject createdAt } } }',
    '}',
    ''
  ].join('\n');

  // The page title shows the service's mode and, in training mode, how far its clock was moved.
  var healthUrl = new URL('/health', window.location.href).href;
  function showClock() {
    fetch(healthUrl).then(function (r) { return r.text(); }).then(function (text) {
      var clock = /clock: (\S+)/.exec(text);
      document.title = clock ? 'IMI GraphiQL · training, clock ' + clock[1] : 'IMI GraphiQL';
    }).catch(function () {});
  }
  showClock();
  window.setInterval(showClock, 30000);

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: DEFAULT_HEADERS,
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
"#;

const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

static START_JS_FILE: LazyLock<String> =
    LazyLock::new(|| format!("imi-graphiql.{:016x}.js", fnv1a64(START_JS.as_bytes())));

/// The URL paths the page loads, in the order it loads them (empty when the bundles are missing).
pub fn page_asset_urls() -> Vec<String> {
    if missing_assets().is_some() {
        return Vec::new();
    }
    let mut urls: Vec<String> = [
        "graphiql.css",
        "react.js",
        "react-dom.js",
        "graphql-ws.js",
        "graphiql.js",
    ]
    .iter()
    .map(|key| asset_url(vendor_file(key)))
    .collect();
    urls.push(asset_url(&START_JS_FILE));
    urls
}

fn vendor_file(key: &str) -> &'static str {
    vendor::ASSETS
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.file)
        .unwrap_or_else(|| panic!("build.rs embedded no {key}"))
}

static PAGE: LazyLock<(StatusCode, String)> = LazyLock::new(|| match missing_assets() {
    None => (StatusCode::OK, page_html()),
    Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, missing_html(reason)),
});

fn page_html() -> String {
    let urls = page_asset_urls();
    let (css, scripts) = urls.split_first().expect("page assets");
    let scripts: String = scripts
        .iter()
        .map(|url| format!("<script src=\"{url}\"></script>\n"))
        .collect();
    let versions: Vec<String> = vendor::ASSETS
        .iter()
        .filter(|a| a.key.ends_with(".js"))
        .map(|a| format!("{} {}", a.package, a.version))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>IMI GraphiQL</title>
<!-- {versions}, served from the gateway binary -->
<link rel="stylesheet" href="{css}">
<style>html, body {{ height: 100%; margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
<div id="graphiql" data-endpoint="{endpoint}" data-subscription-endpoint="{subscriptions}">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript.</noscript>
{scripts}</body>
</html>
"#,
        versions = versions.join(", "),
        endpoint = GRAPHQL_ENDPOINT,
        subscriptions = SUBSCRIPTION_ENDPOINT,
    )
}

fn missing_html(reason: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>IMI GraphiQL: assets missing</title></head>
<body>
<h1>GraphiQL is not available in this build</h1>
<p>The GraphiQL browser bundles were not embedded when this binary was built: {reason}</p>
<p>They come from the npm registry (they are not kept in the repository). With Node.js and npm
installed, run <code>npm ci --prefix crates/imi-gateway/graphiql</code> from the workspace root,
then build again. The GraphQL endpoint <code>{endpoint}</code> works without them.</p>
</body>
</html>
"#,
        reason = html_escape(reason),
        endpoint = GRAPHQL_ENDPOINT,
    )
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

async fn page() -> Response {
    let (status, html) = &*PAGE;
    (
        *status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        html.as_str(),
    )
        .into_response()
}

async fn asset(path: Result<Path<String>, PathRejection>) -> Response {
    let Path(file) = match path {
        Ok(path) => path,
        Err(e) => return crate::http::rejection(e.status(), e.body_text()),
    };
    let bytes: &'static [u8] = if file == *START_JS_FILE {
        START_JS.as_bytes()
    } else if let Some(found) = vendor::ASSETS.iter().find(|a| a.file == file) {
        found.bytes
    } else {
        return crate::http::http_error(
            StatusCode::NOT_FOUND,
            crate::http::Media::Json,
            crate::errors::ApiError::not_found("no such asset"),
        );
    };
    let content_type = if file.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_IMMUTABLE),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let response = routes()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, headers, body.to_vec())
    }

    fn header(headers: &axum::http::HeaderMap, name: header::HeaderName) -> &str {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn the_page_and_its_embedded_assets_are_served() {
        assert_eq!(
            missing_assets(),
            None,
            "build.rs did not embed the GraphiQL bundles (see its cargo warnings)"
        );

        let (status, headers, body) = get(PAGE_PATH).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            header(&headers, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains(r#"data-endpoint="/graphql""#), "{html}");
        assert!(
            html.contains(r#"data-subscription-endpoint="/graphql/ws""#),
            "{html}"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external URL: {html}"
        );

        let urls = page_asset_urls();
        assert_eq!(urls.len(), 6, "{urls:?}");
        for url in &urls {
            assert!(
                html.contains(&format!("\"{url}\"")),
                "page does not load {url}"
            );
            let (status, headers, body) = get(url).await;
            assert_eq!(status, StatusCode::OK, "{url}");
            let expected = if url.ends_with(".css") {
                "text/css; charset=utf-8"
            } else {
                "text/javascript; charset=utf-8"
            };
            assert_eq!(header(&headers, header::CONTENT_TYPE), expected, "{url}");
            assert_eq!(
                header(&headers, header::CACHE_CONTROL),
                CACHE_IMMUTABLE,
                "{url}"
            );
            assert!(!body.is_empty(), "{url}");
        }

        let size = |key: &str| {
            vendor_assets()
                .iter()
                .find(|a| a.key == key)
                .map_or(0, |a| a.bytes.len())
        };
        // The bundles, not stubs: GraphiQL is ~1 MB, its CSS ~400 kB, React DOM ~130 kB.
        assert!(
            size("graphiql.js") > 500_000,
            "graphiql.js: {} bytes",
            size("graphiql.js")
        );
        assert!(
            size("graphiql.css") > 50_000,
            "graphiql.css: {} bytes",
            size("graphiql.css")
        );
        assert!(
            size("react-dom.js") > 50_000,
            "react-dom.js: {} bytes",
            size("react-dom.js")
        );
        assert!(
            size("react.js") > 5_000,
            "react.js: {} bytes",
            size("react.js")
        );
        assert!(
            size("graphql-ws.js") > 5_000,
            "graphql-ws.js: {} bytes",
            size("graphql-ws.js")
        );
        let graphiql = vendor_assets()
            .iter()
            .find(|a| a.key == "graphiql.js")
            .unwrap();
        let head = String::from_utf8_lossy(&graphiql.bytes[..1000]);
        assert!(
            head.contains(".GraphiQL="),
            "not the GraphiQL UMD bundle: {head}"
        );
        let ws = vendor_assets()
            .iter()
            .find(|a| a.key == "graphql-ws.js")
            .unwrap();
        assert!(
            String::from_utf8_lossy(ws.bytes).contains("graphqlWs"),
            "not the graphql-ws UMD bundle"
        );
    }

    #[test]
    fn the_missing_assets_page_says_how_to_install_them() {
        let html = missing_html("npm <not found>");
        assert!(html.contains("npm &lt;not found&gt;"), "{html}");
        assert!(
            html.contains("npm ci --prefix crates/imi-gateway/graphiql"),
            "{html}"
        );
    }

    #[tokio::test]
    async fn unknown_assets_are_not_found() {
        let (status, _, _) = get(&asset_url("nope.0000000000000000.js")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
