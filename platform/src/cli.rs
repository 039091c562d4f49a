//! The `relabel` command line.

use crate::auth::{Email, Password};
use crate::resellers::{self, NewReseller, ResellerError, public_id};
use crate::{AppState, Config, demo, operators};
use clap::{Parser, Subcommand};
use relabel_tenants::TenantStatus;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "relabel",
    version,
    about = "relabel: multi-tenant white-label reseller platform"
)]
pub struct Cli {
    /// TOML configuration file (also RELABEL_CONFIG). Environment variables override it.
    #[arg(long, global = true, env = "RELABEL_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve {
        /// Seed the demo operator and the resellers alpha.localhost and beta.localhost.
        #[arg(long)]
        demo: bool,
        /// ADDRESS:PORT to listen on (default 127.0.0.1:8080, or RELABEL_BIND).
        #[arg(long)]
        bind: Option<String>,
        /// Data directory of the embedded backend (default ./data, or RELABEL_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// all (default, or RELABEL_ROLE), web (HTTP only) or worker (jobs and
        /// schedules; HTTP only for /healthz and /readyz).
        #[arg(long)]
        role: Option<String>,
    },
    /// Apply shared migrations, then migrate every tenant schema.
    Migrate,
    /// Manage resellers (tenants).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage operator accounts.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Load and validate the configuration, then print it (secrets masked).
    CheckConfig,
    /// Print the current TOTP code for a base32 secret (e.g. the demo operator's).
    TotpCode { secret: String },
    /// Run the built-in test registry: EPP over TLS on loopback (RFC 5730-5734),
    /// accounts `relabel` / `relabel-dev-2026` and `other-registrar` / `other-dev-2026`.
    DevRegistry {
        /// ADDRESS:PORT to listen on.
        #[arg(long, default_value = "127.0.0.1:7700")]
        bind: std::net::SocketAddr,
        /// Write the self-signed certificate (PEM) here; point `epp.ca_file` at it.
        #[arg(long, default_value = "dev-registry.pem")]
        cert_out: PathBuf,
        /// Keep the registry's objects in this JSON file across restarts.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Delay of every answer in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Registry operators (e.g. `denic`) that answer 2400 "command failed".
        #[arg(long)]
        fail: Vec<String>,
        /// Registry operators that never answer.
        #[arg(long)]
        hang: Vec<String>,
        /// Seconds until an unanswered transfer is approved by the registry.
        #[arg(long, default_value_t = 5 * 86_400)]
        transfer_auto_approve_secs: i64,
    },
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a reseller with its schema and owner account.
    Create {
        #[arg(long)]
        name: String,
        /// First hostname, e.g. shop.example.com.
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        owner_email: String,
        /// Owner password (also RELABEL_OWNER_PASSWORD).
        #[arg(long, env = "RELABEL_OWNER_PASSWORD")]
        owner_password: String,
    },
    /// List resellers.
    List,
    /// Suspend a reseller (its hostnames answer 503).
    Suspend { id: String },
    /// Resume a suspended reseller.
    Resume { id: String },
    /// Delete a reseller (hostnames freed, data retained for
    /// `tenant_retention_days`, then purged).
    Delete { id: String },
    /// Write a reseller's complete data (registry row, hostnames, platform
    /// account and its whole schema) to a file, to import here or elsewhere.
    Export {
        id: String,
        /// The file to write (refused when it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Load a reseller from a file written by `tenant export`.
    Import { file: PathBuf },
    /// Purge resellers deleted longer ago than `tenant_retention_days` (the
    /// daily schedule does it too).
    Purge,
    /// Manage hostnames.
    Host {
        #[command(subcommand)]
        command: HostCommand,
    },
}

#[derive(Subcommand)]
pub enum HostCommand {
    Add { id: String, hostname: String },
    Remove { id: String, hostname: String },
}

#[derive(Subcommand)]
pub enum OperatorCommand {
    /// Create an operator (or reset the password of an existing one).
    Create {
        #[arg(long)]
        email: String,
        /// Also RELABEL_OPERATOR_PASSWORD.
        #[arg(long, env = "RELABEL_OPERATOR_PASSWORD")]
        password: String,
    },
}

const CLI_ACTOR: &str = "cli";

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (mut config, unknown) = Config::load_from(cli.config.as_deref(), std::env::vars())?;
    if let Command::Serve {
        bind,
        data_dir,
        role,
        ..
    } = &cli.command
    {
        if let Some(b) = bind {
            config.bind = b.clone();
        }
        if let Some(r) = role {
            config.role = r.clone();
        }
        if let Some(d) = data_dir {
            config.data_dir = d.clone();
        }
    }
    crate::telemetry::init(&config.log_format);
    if matches!(cli.command, Command::CheckConfig) {
        return Ok(check_config(&config, &unknown));
    }
    config.validate()?;
    for key in &unknown {
        tracing::warn!(setting = %key, "not a relabel setting: ignored");
    }
    execute(config, cli.command).await
}

/// `relabel check-config`: prints [`config_report`]; fails when it found errors.
pub fn check_config(config: &Config, unknown: &[String]) -> ExitCode {
    let (report, ok) = config_report(config, unknown);
    print!("{report}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Every error, one line each (unknown settings, values out of range,
/// malformed URLs, files that cannot be read), then every setting that takes
/// effect, section by section, secrets masked. `true` when there is no error.
pub fn config_report(config: &Config, unknown: &[String]) -> (String, bool) {
    use std::fmt::Write;
    let mut errors: Vec<String> = unknown
        .iter()
        .map(|key| format!("{key}: not a relabel setting"))
        .collect();
    errors.extend(
        config
            .problems()
            .into_iter()
            .map(|(field, message)| format!("{field}: {message}")),
    );
    errors.dedup();
    let mut out = String::new();
    for e in &errors {
        let _ = writeln!(out, "error: {e}");
    }
    let _ = match errors.len() {
        0 => writeln!(
            out,
            "configuration is valid ({} backend)",
            config.backend_name()
        ),
        n => writeln!(out, "configuration has {n} error(s)"),
    };
    let settings = serde_json::to_value(config).unwrap_or_default();
    let empty = serde_json::Map::new();
    let mut sections = Vec::new();
    if let serde_json::Value::Object(top) = &settings {
        for (key, value) in top {
            match value {
                serde_json::Value::Object(inner) => sections.push((key, inner)),
                // A section that is not configured at all.
                serde_json::Value::Null if SECTIONS.contains(&key.as_str()) => {
                    sections.push((key, &empty));
                }
                _ => {
                    let _ = writeln!(out, "{key} = {}", shown(key, value));
                }
            }
        }
    }
    for (name, inner) in sections {
        let _ = writeln!(out, "[{name}]");
        if inner.is_empty() {
            let _ = writeln!(out, "  (unset)");
        }
        for (key, value) in inner {
            let _ = writeln!(out, "  {key} = {}", shown(key, value));
        }
    }
    (out, errors.is_empty())
}

/// Sections `check-config` shows even when they are not configured.
const SECTIONS: &[&str] = &["epp", "parking"];

/// A setting's value as `check-config` prints it: secrets masked (by name, and
/// the password in a URL), unset values as `(unset)`.
fn shown(key: &str, value: &serde_json::Value) -> String {
    const SECRET: &[&str] = &[
        "password",
        "api_key",
        "secret_key",
        "powerdns_api_key",
        "accounts",
    ];
    match value {
        serde_json::Value::Null => "(unset)".into(),
        _ if SECRET.contains(&key) => "********".into(),
        serde_json::Value::String(s) if s.contains("://") => mask(Some(s)),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", shown(k, v)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// Runs one command with an already loaded configuration.
pub async fn execute(config: Config, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::TotpCode { secret } => {
            let code = crate::auth::totp::code_at(&secret, crate::auth::totp::now())
                .ok_or_else(|| anyhow::anyhow!("SECRET: not base32"))?;
            println!("{code}");
            Ok(ExitCode::SUCCESS)
        }
        Command::DevRegistry {
            bind,
            cert_out,
            state,
            latency_ms,
            fail,
            hang,
            transfer_auto_approve_secs,
        } => {
            use crate::domains::devregistry::{DevRegistry, DevRegistryConfig, server};
            let registry = std::sync::Arc::new(DevRegistry::new(DevRegistryConfig {
                latency_ms,
                fail,
                hang,
                transfer_auto_approve_secs,
                state_file: state,
                ..Default::default()
            }));
            let identity = server::Identity::generate()?;
            std::fs::write(&cert_out, &identity.cert_pem)?;
            let running = server::start(registry, bind, &identity).await?;
            println!(
                "test registry: EPP over TLS on {} (certificate: {})",
                running.addr,
                cert_out.display()
            );
            tokio::signal::ctrl_c().await?;
            running.stop();
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => Ok(check_config(&config, &[])),
        Command::Serve {
            demo: seed_demo, ..
        } => serve(config, seed_demo).await,
        Command::Migrate => {
            let concurrency = config.migrate_concurrency;
            let state = AppState::new(config).await?;
            let report = state.tenancy.migrate_all(concurrency).await?;
            let failed: Vec<_> = report.failed().collect();
            println!(
                "migrated {} tenants in {} ms: {} migrations applied, {} failed",
                report.tenants.len(),
                report.elapsed_ms,
                report.applied(),
                failed.len()
            );
            for f in &failed {
                println!(
                    "  FAILED {} ({}, {}): {}",
                    f.name,
                    public_id(&f.tenant_id),
                    f.schema,
                    f.error.as_deref().unwrap_or("")
                );
            }
            Ok(if failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Operator {
            command: OperatorCommand::Create { email, password },
        } => {
            let email = Email::parse(&email)
                .ok_or_else(|| anyhow::anyhow!("--email: not a valid email address"))?;
            let password =
                Password::parse(&password).map_err(|e| anyhow::anyhow!("--password: {e}"))?;
            let state = AppState::new(config).await?;
            let op = operators::upsert(state.tenancy.backend().shared(), &email, &password).await?;
            println!("operator {} is ready", op.email);
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant { command } => tenant(config, command).await,
    }
}

fn mask(url: Option<&str>) -> String {
    match url {
        None => "(unset)".into(),
        Some(u) => match (u.find("://"), u.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}://***{}", &u[..s], &u[at..]),
            _ => u.to_owned(),
        },
    }
}

fn show_error(e: ResellerError) -> anyhow::Error {
    match e {
        ResellerError::Invalid(errors) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, relabel_admin_ui::t("en", &e.code)))
                .collect();
            anyhow::anyhow!("{}", lines.join("\n"))
        }
        ResellerError::NotFound => anyhow::anyhow!("no such reseller"),
        ResellerError::Other(e) => e,
    }
}

/// A new file only the owner can read.
fn create_private(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

async fn tenant(config: Config, command: TenantCommand) -> anyhow::Result<ExitCode> {
    let state = AppState::new(config).await?;
    let t = &state.tenancy;
    let print = |r: &relabel_tenants::Tenant| {
        println!(
            "{}  {:<10} {:<30} {:<36} {}",
            public_id(&r.id),
            r.status.as_str(),
            r.name,
            r.schema,
            r.hostnames.join(", ")
        );
    };
    match command {
        TenantCommand::Create {
            name,
            host,
            owner_email,
            owner_password,
        } => {
            let input = NewReseller {
                name,
                hostname: host,
                owner_email,
                owner_password,
                ..Default::default()
            };
            let r = resellers::create(t, CLI_ACTOR, input)
                .await
                .map_err(show_error)?;
            print(&r);
        }
        TenantCommand::List => {
            for r in t.list().await? {
                print(&r);
            }
        }
        TenantCommand::Suspend { id } => {
            let id = resellers::parse_id(&id).map_err(show_error)?;
            print(
                &resellers::set_status(t, CLI_ACTOR, &id, TenantStatus::Suspended)
                    .await
                    .map_err(show_error)?,
            );
        }
        TenantCommand::Resume { id } => {
            let id = resellers::parse_id(&id).map_err(show_error)?;
            print(
                &resellers::set_status(t, CLI_ACTOR, &id, TenantStatus::Active)
                    .await
                    .map_err(show_error)?,
            );
        }
        TenantCommand::Delete { id } => {
            let id = resellers::parse_id(&id).map_err(show_error)?;
            let r = resellers::delete(t, CLI_ACTOR, &id)
                .await
                .map_err(show_error)?;
            println!(
                "deleted {} ({}); its data is retained in {}",
                r.name,
                public_id(&r.id),
                r.schema
            );
        }
        TenantCommand::Export { id, out } => {
            let id = resellers::parse_id(&id).map_err(show_error)?;
            let file = create_private(&out)?;
            let mut w = std::io::BufWriter::new(file);
            let done = resellers::export(&state, CLI_ACTOR, &id, &mut w).await;
            drop(w);
            match done {
                Ok(s) => println!(
                    "exported {} to {}: {} tables, {} rows (the file holds all of the reseller's data and opened payment keys: keep it safe)",
                    public_id(&id),
                    out.display(),
                    s.tables,
                    s.rows
                ),
                Err(e) => {
                    let _ = std::fs::remove_file(&out);
                    return Err(show_error(e));
                }
            }
        }
        TenantCommand::Import { file } => {
            let input = std::io::BufReader::new(
                std::fs::File::open(&file)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
            );
            let (r, s) = resellers::import(&state, CLI_ACTOR, input)
                .await
                .map_err(show_error)?;
            print(&r);
            println!("imported {} tables, {} rows", s.tables, s.rows);
        }
        TenantCommand::Purge => {
            let purged = resellers::purge_expired(&state, CLI_ACTOR)
                .await
                .map_err(show_error)?;
            for r in &purged {
                println!("purged {} ({}, {})", public_id(&r.id), r.name, r.schema);
            }
            println!("{} reseller(s) purged", purged.len());
        }
        TenantCommand::Host {
            command: HostCommand::Add { id, hostname },
        } => {
            let id = resellers::parse_id(&id).map_err(show_error)?;
            print(
                &resellers::add_host(t, CLI_ACTOR, &id, &hostname)
                    .await
                    .map_err(show_error)?,
            );
        }
        TenantCommand::Host {
            command: HostCommand::Remove { id, hostname },
        } => {
            let id = resellers::parse_id(&id).map_err(show_error)?;
            print(
                &resellers::remove_host(t, CLI_ACTOR, &id, &hostname)
                    .await
                    .map_err(show_error)?,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(mut config: Config, seed_demo: bool) -> anyhow::Result<ExitCode> {
    if seed_demo && config.epp.is_none() {
        // The demo registers its domains at the built-in test registry.
        config.dev_registry.enabled = true;
    }
    if seed_demo && config.public_port.is_none() {
        // The demo's links in mails lead to where it listens.
        config.public_port = config
            .bind
            .parse::<std::net::SocketAddr>()
            .ok()
            .map(|a| a.port());
    }
    if config.epp.is_none()
        && config.dev_registry.enabled
        && config.dev_registry.state_file.is_none()
    {
        // The built-in test registry remembers its objects next to the data.
        std::fs::create_dir_all(&config.data_dir)?;
        config.dev_registry.state_file = Some(config.data_dir.join("dev-registry.json"));
    }
    let bind = config.bind.clone();
    let concurrency = config.migrate_concurrency;
    tracing::info!(backend = config.backend_name(), data_dir = %config.data_dir.display(), "starting relabel");
    let state = AppState::new(config).await?;
    let report = state.tenancy.migrate_all(concurrency).await?;
    for f in report.failed() {
        tracing::error!(tenant = %f.tenant_id, name = %f.name, error = ?f.error, "tenant schema is not current");
    }
    let role = state.config.role.clone();
    let background = role != "web";
    let running = if role == "worker" {
        crate::app::spawn_health(state.clone(), &bind).await?
    } else {
        crate::spawn(state.clone(), &bind).await?
    };
    let metrics = match state.config.metrics_bind.clone() {
        Some(b) => Some(crate::app::spawn_metrics(state.clone(), &b).await?),
        None => None,
    };
    if background {
        state
            .mailer
            .spawn_sweeper(state.tenancy.clone(), std::time::Duration::from_secs(300));
    }
    // The demo's hosting panel lives as long as the server.
    let mut _demo_panel = None;
    if seed_demo {
        let summary = demo::seed(&state).await?;
        let panel = crate::hosting::devpanel::start().await?;
        demo::seed_pools(&state, &panel).await?;
        demo::seed_billing(&state).await?;
        _demo_panel = Some(panel);
        demo::print(&summary, running.addr.port());
    }
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    // Jobs are claimed atomically, so any number of loops (here and on other
    // nodes) run each job once.
    let jobs: Vec<_> = if background && state.config.jobs.enabled {
        (0..state.config.job_workers)
            .map(|_| {
                state.runner().spawn(
                    std::time::Duration::from_millis(state.config.jobs.poll_ms),
                    jobs_stopped.clone(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    tracing::info!(role = %role, job_workers = jobs.len(), "running");
    tracing::info!(addr = %running.addr, "listening");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests and jobs");
    let _ = stop_jobs.send(true);
    let grace = std::time::Duration::from_secs(state.config.shutdown_grace_secs);
    running.shutdown().await;
    // Running jobs get the grace period; one cut off after it is taken again
    // once its lease runs out.
    let finished = tokio::time::timeout(grace, async {
        for job in jobs {
            let _ = job.await;
        }
    })
    .await;
    if finished.is_err() {
        tracing::warn!("jobs still running after the grace period; they will be taken again");
    }
    if let Some(m) = metrics {
        m.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM (what `docker stop` and systemd send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
