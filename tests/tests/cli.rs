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
