//! Prometheus metrics in the text exposition format, served on a separate
//! listener (`metrics_bind`) so the public port never shows them.
//!
//! Labels are bounded: requests by area (the first path segment class, not
//! the path) and status; jobs by kind and outcome; runs by kind. No tenant
//! label: with thousands of resellers it would explode the series count.

use crate::app::AppState;
use poem::{Endpoint, IntoResponse, Request, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.counts[i] += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, le) in BUCKETS.iter().enumerate() {
            let n = self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Default)]
struct Registry {
    /// `(area, method, status)` → latency histogram (its count is the rate).
    requests: BTreeMap<(&'static str, &'static str, u16), Histogram>,
    /// `(kind, outcome)` → jobs finished.
    jobs: BTreeMap<(String, &'static str), u64>,
    /// `kind` → run durations (billing, dunning, debit).
    runs: BTreeMap<&'static str, Histogram>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The bounded label for a request path.
fn area(path: &str) -> &'static str {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    match first {
        "" => "home",
        "console" => "console",
        "operator" => "operator",
        "api" => "api",
        "hooks" => "hooks",
        "account" => "account",
        "search" | "cart" | "checkout" | "prices" => "shop",
        "_store" | "_admin" | "assets" => "static",
        "healthz" | "readyz" => "health",
        "tls" => "tls",
        "widget" => "widget",
        "newsletter" | "legal" => "pages",
        _ => "other",
    }
}

/// Counts a job that finished with `outcome` (`done`, `retried`, `dead`).
pub fn job(kind: &str, outcome: &'static str) {
    *registry()
        .jobs
        .entry((kind.to_owned(), outcome))
        .or_default() += 1;
}

/// Records how long a run of `kind` took.
pub fn run(kind: &'static str, took: Duration) {
    registry()
        .runs
        .entry(kind)
        .or_default()
        .observe(took.as_secs_f64());
}

tokio::task_local! {
    /// The id of the request being handled (see [`Track`]).
    static REQUEST_ID: String;
}

/// The current request's id (the one in its log lines and `X-Request-Id`),
/// outside a request a new one.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| uuid::Uuid::now_v7().simple().to_string())
}

/// Middleware: times every request by area, method and status.
pub struct Track<E>(pub E);

impl<E: Endpoint> Endpoint for Track<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        use tracing::Instrument;
        let started = Instant::now();
        let area = area(req.uri().path());
        // Bounded too: any other method a client invents counts as OTHER.
        let method = METHODS
            .iter()
            .copied()
            .find(|m| *m == req.method().as_str())
            .unwrap_or("OTHER");
        // A proxy's request id is kept when it is sane, else one is made; every
        // log line of the request carries it (and the tenant, once resolved).
        let request_id = req
            .header("x-request-id")
            .filter(|v| {
                (8..=64).contains(&v.len())
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .map_or_else(|| uuid::Uuid::now_v7().simple().to_string(), str::to_owned);
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            tenant = tracing::field::Empty,
        );
        let call = REQUEST_ID.scope(request_id.clone(), self.0.call(req));
        let mut resp = match call.instrument(span.clone()).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let took = started.elapsed();
        let status = resp.status().as_u16();
        span.in_scope(|| {
            tracing::info!(
                area,
                method,
                status,
                ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                "request"
            );
        });
        if let Ok(v) = poem::http::HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        registry()
            .requests
            .entry((area, method, status))
            .or_default()
            .observe(took.as_secs_f64());
        Ok(resp)
    }
}

/// Queued jobs that are due, summed over all tenants; read at most every 15 s
/// (one count per tenant).
async fn queue_depth(state: &AppState) -> Option<i64> {
    static CACHED: LazyLock<Mutex<Option<(Instant, i64)>>> = LazyLock::new(Mutex::default);
    if let Some((at, n)) = *CACHED.lock().unwrap_or_else(|e| e.into_inner())
        && at.elapsed() < Duration::from_secs(15)
    {
        return Some(n);
    }
    let mut total = 0;
    for tenant in state.tenancy.list().await.ok()? {
        let tx = state.tenancy.begin(&tenant).await.ok()?;
        total += crate::jobs::due_count(&tx).await.ok()?;
    }
    *CACHED.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), total));
    Some(total)
}

/// The exposition text.
pub async fn render(state: &AppState) -> String {
    let depth = queue_depth(state).await;
    let failures = relabel_themes::CUSTOM_FAILURES.load(std::sync::atomic::Ordering::Relaxed);
    let r = registry();
    let mut out = String::new();
    out.push_str(
        "# HELP relabel_http_request_duration_seconds Requests by area, method and status.\n",
    );
    out.push_str("# TYPE relabel_http_request_duration_seconds histogram\n");
    for ((area, method, status), h) in &r.requests {
        let labels = format!("area=\"{area}\",method=\"{method}\",status=\"{status}\"");
        h.write(&mut out, "relabel_http_request_duration_seconds", &labels);
    }
    out.push_str(
        "# HELP relabel_jobs_total Jobs finished, by kind and outcome (done, retried, dead).\n",
    );
    out.push_str("# TYPE relabel_jobs_total counter\n");
    for ((kind, outcome), n) in &r.jobs {
        let _ = writeln!(
            out,
            "relabel_jobs_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    if let Some(depth) = depth {
        out.push_str("# HELP relabel_jobs_queued Queued jobs that are due, over all tenants.\n");
        out.push_str("# TYPE relabel_jobs_queued gauge\n");
        let _ = writeln!(out, "relabel_jobs_queued {depth}");
    }
    out.push_str("# HELP relabel_run_duration_seconds Billing, dunning and direct-debit runs.\n");
    out.push_str("# TYPE relabel_run_duration_seconds histogram\n");
    for (kind, h) in &r.runs {
        h.write(
            &mut out,
            "relabel_run_duration_seconds",
            &format!("kind=\"{kind}\""),
        );
    }
    out.push_str("# HELP relabel_template_fallbacks_total Reseller templates that failed and were replaced by the built-in one.\n");
    out.push_str("# TYPE relabel_template_fallbacks_total counter\n");
    let _ = writeln!(out, "relabel_template_fallbacks_total {failures}");
    out
}

#[cfg(test)]
mod tests {

    #[tokio::test]
    async fn the_request_id_is_the_one_of_the_request_being_handled() {
        let inside = REQUEST_ID
            .scope("req-12345678".into(), async { request_id() })
            .await;
        assert_eq!(inside, "req-12345678");
        let outside = request_id();
        assert_eq!(outside.len(), 32, "a fresh one outside a request");
    }

    use super::*;

    #[test]
    fn areas_are_bounded() {
        assert_eq!(area("/"), "home");
        assert_eq!(area("/console/customers/123"), "console");
        assert_eq!(area("/api/v1/invoices"), "api");
        assert_eq!(area("/some/random/path"), "other");
    }

    #[test]
    fn a_histogram_counts_into_every_bucket_above() {
        let mut h = Histogram::default();
        h.observe(0.02);
        h.observe(3.0);
        let mut out = String::new();
        h.write(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.01\"} 0"));
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.025\"} 1"));
        assert!(out.contains("x_bucket{a=\"b\",le=\"5\"} 2"));
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 2"));
        assert!(out.contains("x_count{a=\"b\"} 2"));
    }
}
