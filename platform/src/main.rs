use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    relabel_platform::install_crypto();
    let cli = relabel_platform::cli::Cli::parse();
    match relabel_platform::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
