//! The `relabel` commands, run in-process against a fresh backend.

use clap::Parser;
use relabel_platform::AppState;
use relabel_platform::cli::{Cli, Command, HostCommand, TenantCommand, execute};
use relabel_tests::test_config;
use std::process::ExitCode;

#[test]
fn the_command_line_parses() {
    let cli = Cli::try_parse_from([
        "relabel",
        "serve",
        "--demo",
        "--bind",
        "0.0.0.0:9000",
        "--data-dir",
        "/tmp/x",
    ])
    .unwrap();
    assert!(matches!(cli.command, Command::Serve { demo: true, .. }));
    for args in [
        vec!["relabel", "migrate"],
        vec!["relabel", "check-config"],
        vec!["relabel", "tenant", "list"],
        vec!["relabel", "tenant", "suspend", "ten_x"],
        vec![
            "relabel",
            "tenant",
            "host",
            "add",
            "ten_x",
            "shop.example.com",
        ],
        vec![
            "relabel",
            "operator",
            "create",
            "--email",
            "a@b.de",
            "--password",
            "0123456789",
        ],
    ] {
        assert!(Cli::try_parse_from(&args).is_ok(), "{args:?}");
    }
    assert!(Cli::try_parse_from(["relabel", "tenant", "explode"]).is_err());
}

#[tokio::test]
async fn tenant_commands_create_change_and_migrate() {
    let (config, _cleanup) = test_config().await.unwrap();
    let create = Command::Tenant {
        command: TenantCommand::Create {
            name: "Cli Reseller".into(),
            host: Some("cli.test".into()),
            owner_email: "owner@cli.test".into(),
            owner_password: "cli-password-1".into(),
        },
    };
    assert_eq!(
        execute(config.clone(), create).await.unwrap(),
        ExitCode::SUCCESS
    );
    let state = AppState::new(config.clone()).await.unwrap();
    let t = state
        .tenancy
        .resolve("cli.test")
        .await
        .unwrap()
        .expect("created");
    let id = format!("ten_{}", t.id);

    let bad = Command::Tenant {
        command: TenantCommand::Create {
            name: "Dup".into(),
            host: Some("CLI.test".into()),
            owner_email: "owner@dup.test".into(),
            owner_password: "dup-password-1".into(),
        },
    };
    let err = execute(config.clone(), bad).await.unwrap_err().to_string();
    assert!(
        err.contains("hostname") && err.contains("already belongs"),
        "{err}"
    );

    let add = Command::Tenant {
        command: TenantCommand::Host {
            command: HostCommand::Add {
                id: id.clone(),
                hostname: "www.cli.test".into(),
            },
        },
    };
    execute(config.clone(), add).await.unwrap();
    let suspend = Command::Tenant {
        command: TenantCommand::Suspend { id: id.clone() },
    };
    execute(config.clone(), suspend).await.unwrap();
    let state = AppState::new(config.clone()).await.unwrap();
    let t = state
        .tenancy
        .resolve("www.cli.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, relabel_tenants::TenantStatus::Suspended);

    assert_eq!(
        execute(config.clone(), Command::Migrate).await.unwrap(),
        ExitCode::SUCCESS
    );
    let delete = Command::Tenant {
        command: TenantCommand::Delete { id: id.clone() },
    };
    execute(config.clone(), delete).await.unwrap();
    let state = AppState::new(config.clone()).await.unwrap();
    assert!(state.tenancy.resolve("cli.test").await.unwrap().is_none());
    let missing = Command::Tenant {
        command: TenantCommand::Resume { id },
    };
    assert!(execute(config, missing).await.is_err());
}

/// The `KEY: value` (or `KEY=value`) settings of a deploy file, commented-out
/// examples included, with Compose's `${NAME:-default}` taking its default.
/// `skip` names the Compose services whose environment is not relabel's.
fn deploy_settings(file: &str, skip: &[&str]) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy")
            .join(file),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut service = String::new();
    for line in text.lines() {
        // Compose services sit at two spaces of indentation.
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
            && !name.starts_with('#')
        {
            service = name.to_owned();
        }
        if skip.contains(&service.as_str()) {
            continue;
        }
        let l = line.trim().trim_start_matches('#').trim();
        let l = l.strip_prefix("Environment=").unwrap_or(l);
        let l = l
            .strip_prefix("ENV ")
            .unwrap_or(l)
            .trim_end_matches('\\')
            .trim();
        let Some(split) = l.find([':', '=']) else {
            continue;
        };
        let (key, value) = (&l[..split], l[split + 1..].trim());
        if !(key.starts_with("RELABEL_") || key == "DATABASE_URL" || key == "REDIS_URL")
            || !key
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            continue;
        }
        // ${NAME:-default} -> default, as Compose does without deploy/.env.
        let mut value = value.trim_matches('"').to_owned();
        while let (Some(a), Some(b)) = (value.find("${"), value.find('}')) {
            let inner = &value[a + 2..b];
            let default = inner.split_once(":-").map_or("", |(_, d)| d).to_owned();
            value.replace_range(a..=b, &default);
        }
        out.push((key.to_owned(), value));
    }
    assert!(!out.is_empty(), "{file}: no settings found");
    out
}

/// What the Compose stack hands its relabel containers passes `check-config`:
/// every variable is a setting (a misspelt one would be ignored silently
/// otherwise), and the values land where they should.
#[test]
fn the_compose_environment_passes_check_config() {
    // The image's own settings first, then what Compose sets.
    let mut vars = deploy_settings("Dockerfile", &[]);
    vars.extend(deploy_settings(
        "compose.yaml",
        &["caddy", "pdns", "postgres", "redis"],
    ));
    let (config, unknown) = relabel_platform::config::Config::load_from(
        None,
        vars.into_iter().filter(|(_, v)| !v.is_empty()),
    )
    .unwrap();
    assert_eq!(unknown, Vec::<String>::new());
    assert_eq!(config.bind, "0.0.0.0:8080");
    assert_eq!(config.data_dir, std::path::Path::new("/var/lib/relabel"));
    assert_eq!(config.backend_name(), "postgres");
    assert_eq!(
        config.database_url.as_deref(),
        Some("postgres://relabel:relabel@postgres:5432/relabel")
    );
    assert_eq!(config.redis_url.as_deref(), Some("redis://redis:6379"));
    assert_eq!(config.dns.powerdns_url.as_deref(), Some("http://pdns:8081"));
    assert_eq!(config.dns.powerdns_api_key, "relabel-dev-pdns-key");
    assert_eq!(config.log_format, "json");
    assert_eq!(config.metrics_bind.as_deref(), Some("0.0.0.0:9464"));
    assert_eq!(config.job_workers, 2);
    assert_eq!(
        relabel_platform::cli::check_config(&config, &unknown),
        ExitCode::SUCCESS
    );
}

/// The Kubernetes ConfigMap and secrets example and the systemd unit name only
/// settings relabel reads; a misspelt one fails `check-config`.
#[test]
fn the_deploy_files_name_only_settings_and_check_config_catches_a_typo() {
    for file in [
        "k8s/config.yaml",
        "k8s/secrets.env.example",
        "relabel.service",
    ] {
        let vars = deploy_settings(file, &[]);
        let (_, unknown) = relabel_platform::config::Config::load_from(None, vars.clone()).unwrap();
        assert_eq!(unknown, Vec::<String>::new(), "{file}: {vars:?}");
    }
    let (config, unknown) = relabel_platform::config::Config::load_from(
        None,
        [
            ("RELABEL_DB_MAX_CONECTIONS".to_owned(), "5".to_owned()),
            (
                "RELABEL_DNS__POWERDNS_URLL".to_owned(),
                "http://x".to_owned(),
            ),
            // Options of single commands are no settings, and not unknown either.
            ("RELABEL_OPERATOR_PASSWORD".to_owned(), "x".to_owned()),
        ],
    )
    .unwrap();
    assert_eq!(
        unknown,
        [
            "db_max_conections (RELABEL_DB_MAX_CONECTIONS)",
            "dns.powerdns_urll (RELABEL_DNS__POWERDNS_URLL)"
        ]
    );
    assert_eq!(config.db_max_connections, 20, "the default stays");
    assert_eq!(
        relabel_platform::cli::check_config(&config, &unknown),
        ExitCode::FAILURE
    );
}

/// `check-config` names every mistake once, on a line of its own, checks files
/// and URLs, and shows every section with its secrets masked.
#[test]
fn check_config_names_every_mistake_once_and_shows_every_section() {
    let vars = [
        ("RELABEL_EPP__HOST", "epp.registry.example"),
        ("RELABEL_EPP__PORT", "700"),
        ("RELABEL_EPP__CLIENT_ID", "reseller-1"),
        ("RELABEL_EPP__PASSWORD", "epp-top-secret"),
        ("RELABEL_EPP__CA_FILE", "/nonexistent.pem"),
        ("RELABEL_DNS__WEB_IPV4", "not-an-address"),
        ("RELABEL_AFTERMARKET_FEED", "ftp://feed.example/list"),
        ("RELABEL_SECRET_KEY", "not-hex-key"),
        (
            "DATABASE_URL",
            "postgres://relabel:db-top-secret@db:5432/relabel",
        ),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let (config, unknown) = relabel_platform::config::Config::load_from(None, vars).unwrap();
    let (report, ok) = relabel_platform::cli::config_report(&config, &unknown);
    assert!(!ok);
    let errors: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(
        errors,
        [
            "error: dns.web_ipv4: expected an IPv4 address",
            "error: aftermarket_feed: expected a https:// or http:// URL with a host",
            "error: epp.ca_file: cannot read /nonexistent.pem: No such file or directory (os error 2)",
            "error: secret_key: expected 64 hex digits (32 bytes)",
        ],
        "{report}"
    );
    assert!(report.contains("configuration has 4 error(s)"), "{report}");
    for section in ["[epp]", "[jobs]", "[dns]", "[throttle]", "[dev_registry]"] {
        assert!(
            report.contains(&format!("\n{section}\n")),
            "{section}: {report}"
        );
    }
    assert!(
        report.contains("  host = epp.registry.example\n"),
        "{report}"
    );
    assert!(report.contains("  password = ********\n"), "{report}");
    assert!(report.contains("  lease_secs = 300\n"), "{report}");
    assert!(
        report.contains("database_url = postgres://***@db:5432/relabel\n"),
        "{report}"
    );
    assert!(report.contains("secret_key = ********\n"), "{report}");
    for secret in ["epp-top-secret", "db-top-secret", "not-hex-key"] {
        assert!(!report.contains(secret), "{secret} shown: {report}");
    }

    // The defaults are valid, and the registry section says it is not set.
    let (config, unknown) =
        relabel_platform::config::Config::load_from(None, Vec::<(String, String)>::new()).unwrap();
    let (report, ok) = relabel_platform::cli::config_report(&config, &unknown);
    assert!(ok, "{report}");
    assert!(
        report.starts_with("configuration is valid (sqlite (embedded) backend)\n"),
        "{report}"
    );
    assert!(report.contains("\n[epp]\n  (unset)\n"), "{report}");
}
