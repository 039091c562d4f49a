//! A real reverse proxy in front of the app: Debian's Caddy, the proxy
//! `deploy/` uses, with its default `X-Forwarded-For` handling.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

pub struct Caddy {
    child: Child,
    pub port: u16,
    dir: std::path::PathBuf,
}

impl Caddy {
    /// Caddy on a free port, forwarding everything to `upstream`; `None`
    /// when Caddy is not installed here (never in CI: there it panics).
    pub async fn start(upstream: SocketAddr) -> Option<Self> {
        let find = || {
            ["/usr/bin/caddy", "/usr/local/bin/caddy"]
                .into_iter()
                .find(|b| std::path::Path::new(b).exists())
        };
        if !crate::deps::ensure("Caddy", || find().is_some()) {
            return None;
        }
        let bin = find()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("relabel-caddy-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let caddyfile = dir.join("Caddyfile");
        std::fs::write(
            &caddyfile,
            format!(
                "{{\n  admin off\n  auto_https off\n}}\n\
                 http://:{port} {{\n  bind 127.0.0.1\n  reverse_proxy {upstream}\n}}\n"
            ),
        )
        .unwrap();
        let mut child = Command::new(bin)
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&caddyfile)
            .env("HOME", &dir)
            .env("XDG_DATA_HOME", &dir)
            .env("XDG_CONFIG_HOME", &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start caddy");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Self { child, port, dir });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("caddy did not come up");
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
