//! The baseline for the storefront benchmark: a bare poem hello-world handler,
//! built with the same profile and measured with the same load tool in the same run.

use poem::{Route, Server, get, handler, listener::TcpListener};

#[handler]
fn hello() -> &'static str {
    "hello, world"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    Server::new(TcpListener::bind(bind))
        .run(Route::new().at("/", get(hello)))
        .await
}
