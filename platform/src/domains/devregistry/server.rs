//! The test registry's EPP front end: RFC 5734 framing over TLS on loopback,
//! RFC 5730 sessions (greeting, login, logout) and the domain (RFC 5731), contact
//! (RFC 5732) and host (RFC 5733) commands the platform uses, plus RGP restore
//! (RFC 3915). Requests are parsed with `roxmltree`; answers are written in the
//! shape real registries send.

use super::{Contact, DevRegistry, Domain, DomainUpdate, Fault, Transfer};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

const EPP_NS: &str = "urn:ietf:params:xml:ns:epp-1.0";
const DOMAIN_NS: &str = "urn:ietf:params:xml:ns:domain-1.0";
const CONTACT_NS: &str = "urn:ietf:params:xml:ns:contact-1.0";
const HOST_NS: &str = "urn:ietf:params:xml:ns:host-1.0";
const RGP_NS: &str = "urn:ietf:params:xml:ns:rgp-1.0";
/// Largest EPP frame accepted (a registry closes the session on more).
const MAX_FRAME: usize = 1 << 20;

/// A self-signed certificate for the registry's TLS listener.
pub struct Identity {
    pub cert: CertificateDer<'static>,
    pub cert_pem: String,
    key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    /// A new certificate for `localhost` and `127.0.0.1`.
    pub fn generate() -> anyhow::Result<Self> {
        let ck = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])?;
        Ok(Self {
            cert_pem: ck.cert.pem(),
            cert: ck.cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()),
        })
    }

    fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )?;
        Ok(Arc::new(config))
    }
}

/// A running test registry listener.
pub struct Running {
    pub addr: SocketAddr,
    /// PEM of the certificate clients must trust.
    pub cert_pem: String,
    pub cert: CertificateDer<'static>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting and drops open sessions (the registry becomes unreachable).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the EPP listener on `bind` (port 0 = any free port).
pub async fn start(
    registry: Arc<DevRegistry>,
    bind: SocketAddr,
    identity: &Identity,
) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(identity.server_config()?);
    let task = tokio::spawn(async move {
        let mut sessions = tokio::task::JoinSet::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let registry = registry.clone();
            sessions.spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(tls) => {
                        if let Err(e) = session(&registry, tls).await {
                            tracing::debug!(error = %e, "test registry session ended");
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "test registry TLS handshake failed"),
                }
            });
            while sessions.try_join_next().is_some() {}
        }
    });
    Ok(Running {
        addr,
        cert_pem: identity.cert_pem.clone(),
        cert: identity.cert.clone(),
        task,
    })
}

async fn read_frame<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<Option<String>> {
    let mut len = [0u8; 4];
    match s.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let total = u32::from_be_bytes(len) as usize;
    if !(5..=MAX_FRAME).contains(&total) {
        return Err(std::io::Error::other("bad EPP frame length"));
    }
    let mut buf = vec![0u8; total - 4];
    s.read_exact(&mut buf).await?;
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| std::io::Error::other("EPP frame is not UTF-8"))
}

/// One write per frame (length and XML together), so no small segment waits
/// for an ACK.
async fn write_frame<S: AsyncWrite + Unpin>(s: &mut S, xml: &str) -> std::io::Result<()> {
    let len = (xml.len() + 4) as u32;
    let mut frame = Vec::with_capacity(xml.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(xml.as_bytes());
    s.write_all(&frame).await?;
    s.flush().await
}

enum Outcome {
    Reply(String),
    /// Answer and end the session (logout).
    Close(String),
    /// Never answer (injected hang).
    Hang,
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    registry: &DevRegistry,
    mut s: S,
) -> std::io::Result<()> {
    write_frame(&mut s, &greeting()).await?;
    let mut client: Option<String> = None;
    while let Some(xml) = read_frame(&mut s).await? {
        match handle(registry, &mut client, &xml).await {
            Outcome::Reply(x) => write_frame(&mut s, &x).await?,
            Outcome::Close(x) => {
                write_frame(&mut s, &x).await?;
                break;
            }
            Outcome::Hang => {
                // Swallow everything until the client gives up.
                while read_frame(&mut s).await?.is_some() {}
                break;
            }
        }
    }
    let _ = s.shutdown().await;
    Ok(())
}

fn greeting() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="{EPP_NS}"><greeting><svID>relabel test registry</svID><svDate>{}</svDate><svcMenu><version>1.0</version><lang>en</lang><objURI>{DOMAIN_NS}</objURI><objURI>{CONTACT_NS}</objURI><objURI>{HOST_NS}</objURI><svcExtension><extURI>{RGP_NS}</extURI></svcExtension></svcMenu><dcp><access><all/></access><statement><purpose><admin/><prov/></purpose><recipient><ours/></recipient><retention><stated/></retention></statement></dcp></greeting></epp>"#,
        date(Utc::now())
    )
}

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

static SV_TRID: AtomicU64 = AtomicU64::new(1);

fn message(code: u16) -> &'static str {
    match code {
        1000 => "Command completed successfully",
        1001 => "Command completed successfully; action pending",
        1500 => "Command completed successfully; ending session",
        _ => "Command failed",
    }
}

fn response(code: u16, msg: &str, res_data: &str, cl_trid: Option<&str>) -> String {
    let cl = cl_trid
        .map(|c| format!("<clTRID>{}</clTRID>", esc(c)))
        .unwrap_or_default();
    let res = if res_data.is_empty() {
        String::new()
    } else {
        format!("<resData>{res_data}</resData>")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="{EPP_NS}"><response><result code="{code}"><msg>{}</msg></result>{res}<trID>{cl}<svTRID>RL-{}</svTRID></trID></response></epp>"#,
        esc(msg),
        SV_TRID.fetch_add(1, Ordering::Relaxed)
    )
}

fn ok(code: u16, res_data: String) -> Result<(u16, String), Fault> {
    Ok((code, res_data))
}

fn bad(code: u16, message: &str) -> Fault {
    Fault {
        code,
        message: message.to_owned(),
    }
}

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text<'a>(n: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(n, name).and_then(|c| c.text()).map(str::trim)
}

fn required<'a>(n: Node<'a, '_>, name: &str) -> Result<&'a str, Fault> {
    text(n, name)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad(2003, &format!("Required parameter missing: {name}")))
}

fn first_element<'a, 'i>(n: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.is_element())
}

async fn handle(registry: &DevRegistry, client: &mut Option<String>, xml: &str) -> Outcome {
    let doc = match roxmltree::Document::parse(xml) {
        Ok(d) => d,
        Err(_) => return Outcome::Reply(response(2001, "Command syntax error", "", None)),
    };
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(EPP_NS) || root.tag_name().name() != "epp" {
        return Outcome::Reply(response(2001, "Command syntax error", "", None));
    }
    if child(root, "hello").is_some() {
        return Outcome::Reply(greeting());
    }
    let Some(command) = child(root, "command") else {
        return Outcome::Reply(response(2001, "Command syntax error", "", None));
    };
    let cl_trid = text(command, "clTRID");
    let Some(verb) = first_element(command) else {
        return Outcome::Reply(response(2001, "Command syntax error", "", cl_trid));
    };
    let reply = |r: Result<(u16, String), Fault>| match r {
        Ok((code, data)) => response(code, message(code), &data, cl_trid),
        Err(f) => response(f.code, &f.message, "", cl_trid),
    };
    match verb.tag_name().name() {
        "login" => {
            if client.is_some() {
                return Outcome::Reply(reply(Err(bad(
                    2002,
                    "Command use error: already logged in",
                ))));
            }
            let id = text(verb, "clID").unwrap_or_default();
            let pw = text(verb, "pw").unwrap_or_default();
            if registry.login(id, pw) {
                *client = Some(id.to_owned());
                Outcome::Reply(reply(ok(1000, String::new())))
            } else {
                // RFC 5730: 2501, the server closes the connection.
                Outcome::Close(reply(Err(bad(
                    2501,
                    "Authentication error; server closing connection",
                ))))
            }
        }
        "logout" => Outcome::Close(response(1500, message(1500), "", cl_trid)),
        "poll" => {
            let Some(who) = client.clone() else {
                return Outcome::Reply(reply(Err(bad(2002, "Command use error: not logged in"))));
            };
            Outcome::Reply(poll(registry, &who, verb, cl_trid))
        }
        _ => {
            let Some(who) = client.clone() else {
                return Outcome::Reply(reply(Err(bad(2002, "Command use error: not logged in"))));
            };
            let Some(object) = first_element(verb) else {
                return Outcome::Reply(reply(Err(bad(2001, "Command syntax error"))));
            };
            // Faults are per registry operator, chosen by the first name involved.
            let first_name = text(object, "name")
                .unwrap_or_default()
                .to_ascii_lowercase();
            match registry.faults_for(&first_name) {
                Ok(true) => return Outcome::Hang,
                Err(f) => return Outcome::Reply(reply(Err(f))),
                Ok(false) => {}
            }
            if registry.config.latency_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(registry.config.latency_ms))
                    .await;
            }
            let extension = child(command, "extension");
            Outcome::Reply(reply(dispatch(registry, &who, verb, object, extension)))
        }
    }
}

fn dispatch(
    reg: &DevRegistry,
    who: &str,
    verb: Node,
    object: Node,
    extension: Option<Node>,
) -> Result<(u16, String), Fault> {
    let ns = object.tag_name().namespace().unwrap_or_default();
    let v = verb.tag_name().name();
    match (ns, v) {
        (DOMAIN_NS, "check") => {
            let names: Vec<String> = children(object, "name")
                .filter_map(|n| n.text())
                .map(|t| t.trim().to_ascii_lowercase())
                .collect();
            if names.is_empty() {
                return Err(bad(2003, "Required parameter missing: name"));
            }
            let mut out = format!(r#"<domain:chkData xmlns:domain="{DOMAIN_NS}">"#);
            for c in reg.check(&names) {
                out.push_str(&format!(
                    r#"<domain:cd><domain:name avail="{}">{}</domain:name>{}</domain:cd>"#,
                    u8::from(c.reason.is_none()),
                    esc(&c.name),
                    c.reason
                        .map(|r| format!("<domain:reason>{r}</domain:reason>"))
                        .unwrap_or_default()
                ));
            }
            out.push_str("</domain:chkData>");
            ok(1000, out)
        }
        (DOMAIN_NS, _) => domain_command(reg, who, v, verb, object, extension),
        (CONTACT_NS, "create") => {
            let id = required(object, "id")?;
            let postal = child(object, "postalInfo")
                .ok_or_else(|| bad(2003, "Required parameter missing: postalInfo"))?;
            let addr = child(postal, "addr")
                .ok_or_else(|| bad(2003, "Required parameter missing: addr"))?;
            let created = reg.contact_create(
                who,
                Contact {
                    id: id.to_owned(),
                    client: who.to_owned(),
                    name: required(postal, "name")?.to_owned(),
                    email: required(object, "email")?.to_owned(),
                    country: required(addr, "cc")?.to_ascii_uppercase(),
                    created: Utc::now(),
                },
            )?;
            ok(
                1000,
                format!(
                    r#"<contact:creData xmlns:contact="{CONTACT_NS}"><contact:id>{}</contact:id><contact:crDate>{}</contact:crDate></contact:creData>"#,
                    esc(id),
                    date(created)
                ),
            )
        }
        (CONTACT_NS, "check") => {
            let mut out = format!(r#"<contact:chkData xmlns:contact="{CONTACT_NS}">"#);
            for id in children(object, "id")
                .filter_map(|n| n.text())
                .map(str::trim)
            {
                let taken = reg.contact_exists(id);
                out.push_str(&format!(
                    r#"<contact:cd><contact:id avail="{}">{}</contact:id>{}</contact:cd>"#,
                    u8::from(!taken),
                    esc(id),
                    if taken {
                        "<contact:reason>in use</contact:reason>"
                    } else {
                        ""
                    }
                ));
            }
            out.push_str("</contact:chkData>");
            ok(1000, out)
        }
        (CONTACT_NS, "info") => {
            let c = reg.contact_info(who, required(object, "id")?)?;
            ok(
                1000,
                format!(
                    r#"<contact:infData xmlns:contact="{CONTACT_NS}"><contact:id>{id}</contact:id><contact:roid>C-{id}-RELABEL</contact:roid><contact:status s="ok"/><contact:postalInfo type="int"><contact:name>{}</contact:name><contact:addr><contact:cc>{}</contact:cc></contact:addr></contact:postalInfo><contact:email>{}</contact:email><contact:clID>{}</contact:clID><contact:crID>{}</contact:crID><contact:crDate>{}</contact:crDate></contact:infData>"#,
                    esc(&c.name),
                    esc(&c.country),
                    esc(&c.email),
                    esc(&c.client),
                    esc(&c.client),
                    date(c.created),
                    id = esc(&c.id),
                ),
            )
        }
        (HOST_NS, "check") => {
            let mut out = format!(r#"<host:chkData xmlns:host="{HOST_NS}">"#);
            for name in children(object, "name").filter_map(|n| n.text()) {
                let name = name.trim().to_ascii_lowercase();
                let taken = reg.host(&name).is_some();
                out.push_str(&format!(
                    r#"<host:cd><host:name avail="{}">{}</host:name>{}</host:cd>"#,
                    u8::from(!taken),
                    esc(&name),
                    if taken {
                        "<host:reason>in use</host:reason>"
                    } else {
                        ""
                    }
                ));
            }
            out.push_str("</host:chkData>");
            ok(1000, out)
        }
        (HOST_NS, "info") => {
            let name = required(object, "name")?.to_ascii_lowercase();
            let (h, linked) = reg.host_info(&name)?;
            let mut out = format!(
                r#"<host:infData xmlns:host="{HOST_NS}"><host:name>{}</host:name><host:roid>H-{}-RELABEL</host:roid><host:status s="ok"/>"#,
                esc(&h.name),
                esc(&h.name.replace('.', "-"))
            );
            if linked {
                out.push_str(r#"<host:status s="linked"/>"#);
            }
            for a in &h.addresses {
                let v = if a.is_ipv4() { "v4" } else { "v6" };
                out.push_str(&format!(r#"<host:addr ip="{v}">{a}</host:addr>"#));
            }
            out.push_str(&format!(
                "<host:clID>{}</host:clID><host:crID>{}</host:crID><host:crDate>{}</host:crDate></host:infData>",
                esc(&h.client),
                esc(&h.client),
                date(h.created)
            ));
            ok(1000, out)
        }
        (HOST_NS, "create") => {
            let name = required(object, "name")?.to_ascii_lowercase();
            let addrs = addresses(object)?;
            let created = reg.host_create(who, &name, &addrs)?;
            ok(
                1000,
                format!(
                    r#"<host:creData xmlns:host="{HOST_NS}"><host:name>{}</host:name><host:crDate>{}</host:crDate></host:creData>"#,
                    esc(&name),
                    date(created)
                ),
            )
        }
        (HOST_NS, "update") => {
            let name = required(object, "name")?.to_ascii_lowercase();
            let add = child(object, "add").map(addresses).transpose()?;
            let rem = child(object, "rem").map(addresses).transpose()?;
            reg.host_update(
                who,
                &name,
                &add.unwrap_or_default(),
                &rem.unwrap_or_default(),
            )?;
            ok(1000, String::new())
        }
        _ => Err(bad(2101, "Unimplemented command")),
    }
}

fn addresses(n: Node) -> Result<Vec<IpAddr>, Fault> {
    children(n, "addr")
        .map(|a| {
            a.text()
                .unwrap_or_default()
                .trim()
                .parse()
                .map_err(|_| bad(2005, "Parameter value syntax error: addr"))
        })
        .collect()
}

fn period_years(n: Node) -> Result<u32, Fault> {
    let Some(p) = child(n, "period") else {
        return Ok(1);
    };
    let value: u32 = p
        .text()
        .unwrap_or_default()
        .trim()
        .parse()
        .map_err(|_| bad(2005, "Parameter value syntax error: period"))?;
    match p.attribute("unit") {
        Some("m") if value.is_multiple_of(12) => Ok(value / 12),
        Some("y") | None => Ok(value),
        _ => Err(bad(2306, "Parameter value policy error: period")),
    }
}

fn auth_pw<'a>(n: Node<'a, '_>) -> Option<&'a str> {
    child(n, "authInfo").and_then(|a| text(a, "pw"))
}

fn host_objs(n: Option<Node>) -> Vec<String> {
    n.and_then(|n| child(n, "ns"))
        .map(|ns| {
            children(ns, "hostObj")
                .filter_map(|h| h.text())
                .map(|t| t.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

fn statuses(n: Option<Node>) -> Vec<String> {
    n.map(|n| {
        children(n, "status")
            .filter_map(|s| s.attribute("s"))
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

fn domain_command(
    reg: &DevRegistry,
    who: &str,
    verb: &str,
    verb_node: Node,
    object: Node,
    extension: Option<Node>,
) -> Result<(u16, String), Fault> {
    let name = required(object, "name")?.to_ascii_lowercase();
    if !super::valid_name(&name) {
        return Err(bad(2005, "Parameter value syntax error: name"));
    }
    reg.materialize(&name);
    match verb {
        "create" => {
            let registrant = required(object, "registrant")?;
            let auth = auth_pw(object).unwrap_or_default();
            let d = reg.create(
                who,
                &name,
                period_years(object)?,
                registrant,
                &host_objs(Some(object)),
                auth,
            )?;
            ok(
                1000,
                format!(
                    r#"<domain:creData xmlns:domain="{DOMAIN_NS}"><domain:name>{}</domain:name><domain:crDate>{}</domain:crDate><domain:exDate>{}</domain:exDate></domain:creData>"#,
                    esc(&d.name),
                    date(d.created),
                    date(d.expires)
                ),
            )
        }
        "info" => {
            let d = reg.info(who, &name, auth_pw(object))?;
            ok(1000, info_data(&d))
        }
        "renew" => {
            let current = NaiveDate::parse_from_str(required(object, "curExpDate")?, "%Y-%m-%d")
                .map_err(|_| bad(2005, "Parameter value syntax error: curExpDate"))?;
            let expires = reg.renew(who, &name, current, period_years(object)?)?;
            ok(
                1000,
                format!(
                    r#"<domain:renData xmlns:domain="{DOMAIN_NS}"><domain:name>{}</domain:name><domain:exDate>{}</domain:exDate></domain:renData>"#,
                    esc(&name),
                    date(expires)
                ),
            )
        }
        "delete" => {
            reg.delete(who, &name)?;
            ok(1001, String::new())
        }
        "transfer" => {
            let (code, t, d) = match verb_node.attribute("op") {
                Some("request") => {
                    let auth = auth_pw(object).unwrap_or_default();
                    let t = reg.transfer_request(who, &name, auth, period_years(object)?)?;
                    let d = reg
                        .domain(&name)
                        .ok_or_else(|| bad(2303, "Object does not exist"))?;
                    (1001, t, d)
                }
                Some("query") => {
                    let (d, t) = reg.transfer_query(who, &name)?;
                    (1000, t, d)
                }
                Some(op @ ("approve" | "reject")) => {
                    let t = reg.transfer_answer(who, &name, op == "approve")?;
                    let d = reg
                        .domain(&name)
                        .ok_or_else(|| bad(2303, "Object does not exist"))?;
                    (1000, t, d)
                }
                _ => return Err(bad(2005, "Parameter value syntax error: op")),
            };
            ok(code, transfer_data(&d, &t))
        }
        "update" => {
            let restore = extension
                .and_then(|e| child(e, "update"))
                .filter(|u| u.tag_name().namespace() == Some(RGP_NS))
                .and_then(|u| child(u, "restore"));
            if let Some(r) = restore {
                if r.attribute("op") != Some("request") {
                    return Err(bad(2306, "Parameter value policy error: restore op"));
                }
                reg.restore(who, &name)?;
                return ok(1000, String::new());
            }
            let add = child(object, "add");
            let rem = child(object, "rem");
            let chg = child(object, "chg");
            reg.update(
                who,
                &name,
                DomainUpdate {
                    add_ns: host_objs(add),
                    remove_ns: host_objs(rem),
                    add_status: statuses(add),
                    remove_status: statuses(rem),
                    registrant: chg.and_then(|c| text(c, "registrant")).map(str::to_owned),
                    auth: chg.and_then(auth_pw).map(str::to_owned),
                },
            )?;
            ok(1000, String::new())
        }
        _ => Err(bad(2101, "Unimplemented command")),
    }
}

/// `<poll op="req"/>`: the oldest message with the queue's size (1301), or
/// 1300 when none waits; `<poll op="ack" msgID="…"/>` removes one (1000).
fn poll(registry: &DevRegistry, who: &str, verb: Node, cl_trid: Option<&str>) -> String {
    let queue = |count: usize, id: u64, inner: &str| {
        format!(r#"<msgQ count="{count}" id="{id}">{inner}</msgQ>"#)
    };
    let (code, msg, q, res) = match verb.attribute("op") {
        Some("req") => match registry.poll(who) {
            (None, _) => (
                1300,
                "Command completed successfully; no messages",
                String::new(),
                String::new(),
            ),
            (Some(m), count) => (
                1301,
                "Command completed successfully; ack to dequeue",
                queue(
                    count,
                    m.id,
                    &format!("<qDate>{}</qDate><msg>{}</msg>", date(m.at), esc(&m.text)),
                ),
                m.transfer
                    .as_ref()
                    .map(|(d, t)| format!("<resData>{}</resData>", transfer_data(d, t)))
                    .unwrap_or_default(),
            ),
        },
        Some("ack") => {
            let id = verb.attribute("msgID").and_then(|i| i.parse::<u64>().ok());
            let Some(id) = id else {
                return response(2003, "Required parameter missing: msgID", "", cl_trid);
            };
            match registry.ack(who, id) {
                Ok(left) => (
                    1000,
                    message(1000),
                    if left > 0 {
                        let next = registry.poll(who).0.map_or(0, |m| m.id);
                        queue(left, next, "")
                    } else {
                        String::new()
                    },
                    String::new(),
                ),
                Err(f) => return response(f.code, &f.message, "", cl_trid),
            }
        }
        _ => return response(2005, "Parameter value syntax error: op", "", cl_trid),
    };
    let cl = cl_trid
        .map(|c| format!("<clTRID>{}</clTRID>", esc(c)))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="{EPP_NS}"><response><result code="{code}"><msg>{}</msg></result>{q}{res}<trID>{cl}<svTRID>RL-{}</svTRID></trID></response></epp>"#,
        esc(msg),
        SV_TRID.fetch_add(1, Ordering::Relaxed)
    )
}

fn info_data(d: &Domain) -> String {
    let mut out = format!(
        r#"<domain:infData xmlns:domain="{DOMAIN_NS}"><domain:name>{}</domain:name><domain:roid>{}</domain:roid>"#,
        esc(&d.name),
        esc(&d.roid)
    );
    for s in &d.statuses {
        out.push_str(&format!(r#"<domain:status s="{}"/>"#, esc(s)));
    }
    out.push_str(&format!(
        "<domain:registrant>{}</domain:registrant>",
        esc(&d.registrant)
    ));
    if !d.nameservers.is_empty() {
        out.push_str("<domain:ns>");
        for ns in &d.nameservers {
            out.push_str(&format!("<domain:hostObj>{}</domain:hostObj>", esc(ns)));
        }
        out.push_str("</domain:ns>");
    }
    out.push_str(&format!(
        "<domain:clID>{}</domain:clID><domain:crID>{}</domain:crID><domain:crDate>{}</domain:crDate><domain:upDate>{}</domain:upDate><domain:exDate>{}</domain:exDate>",
        esc(&d.client),
        esc(&d.client),
        date(d.created),
        date(d.updated),
        date(d.expires)
    ));
    if !d.auth.is_empty() {
        out.push_str(&format!(
            "<domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo>",
            esc(&d.auth)
        ));
    }
    out.push_str("</domain:infData>");
    out
}

fn transfer_data(d: &Domain, t: &Transfer) -> String {
    format!(
        r#"<domain:trnData xmlns:domain="{DOMAIN_NS}"><domain:name>{}</domain:name><domain:trStatus>{}</domain:trStatus><domain:reID>{}</domain:reID><domain:reDate>{}</domain:reDate><domain:acID>{}</domain:acID><domain:acDate>{}</domain:acDate><domain:exDate>{}</domain:exDate></domain:trnData>"#,
        esc(&d.name),
        esc(&t.status),
        esc(&t.requested_by),
        date(t.requested_at),
        esc(&t.losing),
        date(t.act_by),
        date(d.expires)
    )
}
