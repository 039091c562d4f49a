//! Test harness: start the real app on port 0 against a fresh backend.
//!
//! Without `DATABASE_URL` every test gets its own SQLite data directory. With
//! `DATABASE_URL` (and `REDIS_URL`) every test gets its own Postgres database and
//! Redis key prefix; both are dropped when the [`TestApp`] is dropped.

use rand::Rng;
use relabel_platform::{AppState, Config, Running};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub struct TestApp {
    pub state: AppState,
    pub addr: SocketAddr,
    running: Option<Running>,
    cleanup: Cleanup,
}

pub struct Cleanup {
    data_dir: PathBuf,
    pg: Option<(String, String)>,
    redis: Option<(String, String)>,
}

fn suffix() -> String {
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// `postgres://u@h:p/db?x` -> (`postgres://u@h:p/`, `db`, `?x`)
fn split_db_url(url: &str) -> (String, String) {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    match base[scheme_end..].find('/') {
        Some(i) => (base[..scheme_end + i + 1].to_owned(), query),
        None => (format!("{base}/"), query),
    }
}

async fn admin_exec(url: &str, sql: &str) -> anyhow::Result<()> {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(url).await?;
    db.execute_unprepared(sql).await?;
    db.close().await?;
    Ok(())
}

/// The roles of a test database's tenants (see `relabel_tenants::Backend`).
async fn tenant_roles(url: &str) -> anyhow::Result<Vec<String>> {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(url).await?;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT schema_name FROM shared.tenants",
        ))
        .await?;
    db.close().await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .filter(|s| s.starts_with("t_") && s[2..].bytes().all(|b| b.is_ascii_alphanumeric()))
        .collect())
}

/// A configuration for a fresh, isolated backend.
pub async fn test_config() -> anyhow::Result<(Config, Cleanup)> {
    relabel_platform::install_crypto();
    let id = suffix();
    let data_dir = std::env::temp_dir().join(format!("relabel-test-{id}"));
    let mut config = Config::load(None)?;
    config.data_dir = data_dir.clone();
    config.bind = "127.0.0.1:0".into();
    config.platform_host = "localhost".into();
    config.db_max_connections = 5;
    // The tests' peers (bureau, SMS, print-mail, parking, feeds) listen on
    // loopback over plain HTTP: the operator's allow-list lets them in. The
    // test of the guard itself takes this away.
    config.outbound_allow = Some("127.0.0.0/8,::1".into());
    config.outbound_allow_http = true;
    // Domains are registered at the built-in test registry, asked for
    // explicitly as an operator would.
    config.dev_registry.enabled = true;
    let mut cleanup = Cleanup {
        data_dir,
        pg: None,
        redis: None,
    };
    if let Some(url) = config.database_url.clone() {
        let (base, query) = split_db_url(&url);
        let name = format!("relabel_test_{id}");
        admin_exec(
            &format!("{base}postgres{query}"),
            &format!("CREATE DATABASE {name}"),
        )
        .await?;
        config.database_url = Some(format!("{base}{name}{query}"));
        cleanup.pg = Some((format!("{base}postgres{query}"), name));
    }
    if let Some(url) = config.redis_url.clone() {
        config.redis_prefix = format!("relabel_test_{id}");
        cleanup.redis = Some((url, config.redis_prefix.clone()));
    }
    Ok((config, cleanup))
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        let pg = self.pg.take();
        let redis = self.redis.take();
        if pg.is_none() && redis.is_none() {
            return;
        }
        // Drop runs outside any runtime we could borrow: use a small one of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Some((admin, name)) = pg {
                    // Tenant roles belong to the cluster, not to the database.
                    let roles = tenant_roles(&admin.replacen("/postgres", &format!("/{name}"), 1))
                        .await
                        .unwrap_or_default();
                    let _ = admin_exec(
                        &admin,
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    )
                    .await;
                    for role in roles {
                        // The books' role (same name everywhere) may still be in use elsewhere.
                        let _ = admin_exec(&admin, &format!("DROP ROLE IF EXISTS {role}")).await;
                    }
                }
                if let Some((url, prefix)) = redis
                    && let Ok(client) = redis::Client::open(url.as_str())
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                {
                    let keys: Vec<String> = redis::cmd("KEYS")
                        .arg(format!("{prefix}:*"))
                        .query_async(&mut conn)
                        .await
                        .unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<(), _> =
                            redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                    }
                }
            });
        })
        .join();
    }
}

pub mod billing;
pub mod browser;
pub mod contract;
pub mod deps;
pub mod pdns;
pub mod proxy;
pub mod smtp;

/// Starts the app on a free port with a fresh backend.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with a change to the configuration first.
pub async fn spawn_app_with(change: impl FnOnce(&mut Config)) -> TestApp {
    let (mut config, cleanup) = test_config().await.expect("test backend");
    change(&mut config);
    let state = AppState::new(config).await.expect("app state");
    let running = relabel_platform::spawn(state.clone(), "127.0.0.1:0")
        .await
        .expect("spawn");
    TestApp {
        state,
        addr: running.addr,
        running: Some(running),
        cleanup,
    }
}

/// Starts only the state (no HTTP server), for tests of the tenancy layer.
pub async fn state_only() -> (AppState, Cleanup) {
    let (config, cleanup) = test_config().await.expect("test backend");
    let state = AppState::new(config).await.expect("app state");
    (state, cleanup)
}

impl TestApp {
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.addr.port())
    }

    /// A browser-like client: cookies per host, no automatic redirects, every
    /// hostname resolving to this machine.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Loopback))
            .build()
            .expect("client")
    }

    /// A restart: stops the server and starts a new one (new state, pools and
    /// port) on the same data and configuration.
    pub async fn restart(mut self) -> TestApp {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        let config = (*self.state.config).clone();
        let state = AppState::new(config).await.expect("app state");
        let running = relabel_platform::spawn(state.clone(), "127.0.0.1:0")
            .await
            .expect("spawn");
        TestApp {
            state,
            addr: running.addr,
            running: Some(running),
            cleanup: self.cleanup,
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        let _ = &self.cleanup;
    }

    /// Creates a reseller through the domain layer (as the operator console does).
    pub async fn reseller(
        &self,
        name: &str,
        host: &str,
        owner_email: &str,
        owner_password: &str,
    ) -> relabel_tenants::Tenant {
        relabel_platform::resellers::create(
            &self.state.tenancy,
            "test",
            relabel_platform::resellers::NewReseller {
                name: name.into(),
                hostname: Some(host.into()),
                owner_email: owner_email.into(),
                owner_password: owner_password.into(),
                ..Default::default()
            },
        )
        .await
        .expect("create reseller")
    }

    /// A reseller API key with `scopes` for the reseller at `host`, made by
    /// its owner; returns the key.
    pub async fn api_key(&self, host: &str, scopes: &[&str]) -> String {
        let t = self.state.tenancy.resolve(host).await.unwrap().unwrap();
        let tx = self.state.tenancy.begin(&t).await.unwrap();
        let owner = relabel_platform::staff::owner(&tx)
            .await
            .unwrap()
            .expect("the reseller has an owner");
        let (_, plain) = relabel_platform::api_keys::create(
            tx.conn(),
            relabel_platform::api_keys::Realm::Tenant,
            "k",
            &scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &owner.email,
            Some(owner.role),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        plain
    }

    /// Creates an operator with TOTP enabled; returns the TOTP secret.
    pub async fn operator(&self, email: &str, password: &str) -> String {
        let email = relabel_platform::auth::Email::parse(email).unwrap();
        let password = relabel_platform::auth::Password::parse(password).unwrap();
        let db = self.state.tenancy.backend().shared();
        let op = relabel_platform::operators::upsert(db, &email, &password)
            .await
            .unwrap();
        let secret = relabel_platform::auth::totp::new_secret();
        let (_, hashes) = relabel_platform::auth::totp::recovery_codes(&self.state.sealer);
        relabel_platform::operators::set_totp(
            db,
            &self.state.sealer,
            &op.id,
            Some(&secret),
            &hashes,
        )
        .await
        .unwrap();
        secret
    }

    /// Like [`Self::client`], but connecting from another loopback address (e.g.
    /// `[127, 0, 0, 2]`), so that the app sees another client.
    pub fn client_from(&self, ip: [u8; 4]) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Loopback))
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .expect("client")
    }

    /// The time step of the operator's last accepted TOTP code.
    pub async fn operator_totp_step(&self, email: &str) -> Option<i64> {
        let db = self.state.tenancy.backend().shared();
        let email = relabel_platform::auth::Email::parse(email).unwrap();
        let op = relabel_platform::operators::find_by_email(db, &email)
            .await
            .unwrap()
            .unwrap();
        relabel_platform::operators::totp(db, &self.state.sealer, &op.id)
            .await
            .unwrap()
            .and_then(|f| f.last_step)
    }

    /// Password, then the current TOTP code: a full operator login.
    pub async fn operator_login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
        secret: &str,
    ) {
        let resp = login(
            client,
            &self.url("localhost", "/operator/login"),
            email,
            password,
        )
        .await;
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()["location"], "/operator/login/totp");
        let code = totp_code_after(secret, self.operator_totp_step(email).await).await;
        let token = csrf(client, &self.url("localhost", "/operator/login/totp")).await;
        let resp = client
            .post(self.url("localhost", "/operator/login/totp"))
            .form(&[("code", code.as_str()), ("csrf", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()["location"], "/operator/resellers");
    }
}

/// A TOTP code the app accepts: of a time step after `last_used` (a code is
/// accepted once) within the drift window, waiting for the next step if needed.
pub async fn totp_code_after(secret: &str, last_used: Option<i64>) -> String {
    use relabel_platform::auth::totp;
    loop {
        let step = (totp::now() / 30) as i64;
        if let Some(s) = (step..=step + 1).find(|s| last_used.is_none_or(|l| *s > l)) {
            return totp::code_at(secret, s as u64 * 30).unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

struct Loopback;

impl reqwest::dns::Resolve for Loopback {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            let addrs: reqwest::dns::Addrs =
                Box::new(std::iter::once(SocketAddr::from(([127, 0, 0, 1], 0))));
            Ok(addrs)
        })
    }
}

/// Minijinja escapes `/` in values; undo that and the other entities we check for.
pub fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// The value of `<input name="NAME" value="...">` in a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let html = unescape(html);
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let end = tag[v..].find('"')?;
    Some(tag[v..v + end].to_owned())
}

/// Fetches a page and returns its CSRF token.
pub async fn csrf(client: &reqwest::Client, url: &str) -> String {
    let html = client.get(url).send().await.unwrap().text().await.unwrap();
    input_value(&html, "csrf").unwrap_or_else(|| panic!("no csrf field on {url}"))
}

/// Logs in through a console login form; returns the response.
pub async fn login(
    client: &reqwest::Client,
    login_url: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let token = csrf(client, login_url).await;
    client
        .post(login_url)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap()
}

pub fn is_postgres() -> bool {
    std::env::var("DATABASE_URL").is_ok_and(|v| !v.is_empty())
}

/// The newest mail in a tenant's outbox to `to`, as (subject, body).
pub async fn last_mail(app: &TestApp, host: &str, to: &str) -> (String, String) {
    let tenant = app
        .state
        .tenancy
        .resolve(host)
        .await
        .unwrap()
        .expect("tenant");
    let tx = app.state.tenancy.begin(&tenant).await.unwrap();
    let all = relabel_platform::mail::recent(&tx, 50).await.unwrap();
    let m = all
        .into_iter()
        .find(|m| m.to_addr == to)
        .unwrap_or_else(|| panic!("no mail to {to}"));
    (m.subject, m.text_body)
}

/// The path and query of the first link in `body` that contains `needle`.
pub fn link_path(body: &str, needle: &str) -> String {
    let at = body
        .find(needle)
        .unwrap_or_else(|| panic!("no link with {needle} in: {body}"));
    let start = body[..at].rfind("http").expect("absolute link");
    let url: String = body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let after_scheme = &url[url.find("://").unwrap() + 3..];
    after_scheme[after_scheme.find('/').unwrap()..].to_owned()
}
