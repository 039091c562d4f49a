//! A built-in hosting panel for the demo and the tests: the JSON API of
//! [`super::panel`] over HTTP on loopback, for any number of servers
//! (`/servers/{name}` is one server's `api_url`), with accounts kept in memory.

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json, Path};
use poem::{EndpointExt, Request, Response, Route, delete, handler, post, put};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "dev-panel-token";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub plan: String,
    pub status: String,
    pub domain: Option<String>,
}

/// (server, username) -> account.
#[derive(Clone, Default)]
pub struct DevPanel {
    accounts: Arc<Mutex<BTreeMap<(String, String), Account>>>,
    /// Answer 503 to everything (to exercise retries).
    pub down: Arc<std::sync::atomic::AtomicBool>,
}

impl DevPanel {
    pub fn accounts(&self) -> BTreeMap<(String, String), Account> {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<(String, String), Account>) -> T) -> T {
        f(&mut self.accounts.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn authorized(req: &Request, panel: &DevPanel) -> Result<(), StatusCode> {
    if panel.down.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    match req.header("authorization") {
        Some(h) if h == format!("Bearer {TOKEN}") => Ok(()),
        _ => Err(StatusCode::UNAUTHORIZED),
    }
}

#[derive(serde::Deserialize)]
struct Create {
    username: String,
    password: String,
    plan: String,
    domain: Option<String>,
}

fn status(s: StatusCode) -> Response {
    Response::builder().status(s).finish()
}

#[handler]
fn create(
    req: &Request,
    Data(p): Data<&DevPanel>,
    Path(server): Path<String>,
    Json(c): Json<Create>,
) -> Response {
    if let Err(s) = authorized(req, p) {
        return status(s);
    }
    let valid = (3..=32).contains(&c.username.len())
        && c.username.bytes().all(|b| b.is_ascii_alphanumeric())
        && c.password.len() >= 8
        && !c.plan.is_empty();
    if !valid {
        return status(StatusCode::UNPROCESSABLE_ENTITY);
    }
    p.with(|a| {
        let key = (server, c.username);
        if a.contains_key(&key) {
            return status(StatusCode::CONFLICT);
        }
        a.insert(
            key,
            Account {
                plan: c.plan,
                status: "active".into(),
                domain: c.domain,
            },
        );
        status(StatusCode::CREATED)
    })
}

fn change(
    req: &Request,
    p: &DevPanel,
    key: (String, String),
    f: impl FnOnce(&mut Account),
) -> Response {
    if let Err(s) = authorized(req, p) {
        return status(s);
    }
    p.with(|a| match a.get_mut(&key) {
        Some(acc) => {
            f(acc);
            status(StatusCode::OK)
        }
        None => status(StatusCode::NOT_FOUND),
    })
}

#[handler]
fn suspend(
    req: &Request,
    Data(p): Data<&DevPanel>,
    Path((server, user)): Path<(String, String)>,
) -> Response {
    change(req, p, (server, user), |a| a.status = "suspended".into())
}

#[handler]
fn unsuspend(
    req: &Request,
    Data(p): Data<&DevPanel>,
    Path((server, user)): Path<(String, String)>,
) -> Response {
    change(req, p, (server, user), |a| a.status = "active".into())
}

#[derive(serde::Deserialize)]
struct Plan {
    plan: String,
}

#[handler]
fn plan(
    req: &Request,
    Data(p): Data<&DevPanel>,
    Path((server, user)): Path<(String, String)>,
    Json(body): Json<Plan>,
) -> Response {
    change(req, p, (server, user), |a| a.plan = body.plan)
}

#[handler]
fn terminate(
    req: &Request,
    Data(p): Data<&DevPanel>,
    Path((server, user)): Path<(String, String)>,
) -> Response {
    if let Err(s) = authorized(req, p) {
        return status(s);
    }
    p.with(|a| match a.remove(&(server, user)) {
        Some(_) => status(StatusCode::OK),
        None => status(StatusCode::NOT_FOUND),
    })
}

/// A running dev panel; `url(server)` is that server's `api_url`.
pub struct Running {
    pub addr: SocketAddr,
    pub panel: DevPanel,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self, server: &str) -> String {
        format!("http://127.0.0.1:{}/servers/{server}", self.addr.port())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start() -> anyhow::Result<Running> {
    let panel = DevPanel::default();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| anyhow::anyhow!("dev panel has no address"))?;
    let app = Route::new()
        .at("/servers/:server/accounts", post(create))
        .at("/servers/:server/accounts/:user", delete(terminate))
        .at("/servers/:server/accounts/:user/suspend", post(suspend))
        .at("/servers/:server/accounts/:user/unsuspend", post(unsuspend))
        .at("/servers/:server/accounts/:user/plan", put(plan))
        .data(panel.clone());
    let task = tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
    });
    Ok(Running { addr, panel, task })
}
