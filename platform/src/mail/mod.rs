//! Outgoing mail. A message is written to the tenant's `outbox` in the transaction
//! that causes it; after commit the [`Mailer`] delivers queued messages over SMTP.
//! Without SMTP (the embedded default) messages are kept as `stored` and shown in
//! the reseller console.

use chrono::Utc;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use relabel_tenants::{Tenancy, Tenant, TenantTx};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub to_addr: String,
        pub from_addr: String,
        pub subject: String,
        pub text_body: String,
        pub status: String,
        pub attempts: i32,
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
        /// A billing document whose PDF goes with the message.
        pub document_id: Option<String>,
        /// A mailing's one-click unsubscribe address (RFC 8058).
        pub list_unsubscribe: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

const MAX_ATTEMPTS: i32 = 8;

/// A message to send. `from` is "Name <address>".
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub body: String,
}

/// Delivers outbox messages over SMTP, or keeps them when no SMTP is configured.
#[derive(Clone)]
pub struct Mailer {
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Mailer {
    /// `smtp_url`: `smtp://host:port` (plain, e.g. a local relay), `smtp://...?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host:465`.
    pub fn new(smtp_url: Option<&str>) -> anyhow::Result<Self> {
        let smtp = match smtp_url {
            Some(url) => Some(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build()),
            None => None,
        };
        Ok(Self { smtp })
    }

    /// Writes a message to the tenant's outbox, inside the caller's transaction.
    pub async fn queue(&self, tx: &TenantTx, mail: Mail) -> Result<(), DbErr> {
        self.queue_row(tx, mail, None, None).await
    }

    /// A message of a mailing list: sent with `List-Unsubscribe` (the one-click
    /// address `unsubscribe`, which takes a POST) and `List-Unsubscribe-Post`.
    pub async fn queue_list_mail(
        &self,
        tx: &TenantTx,
        mail: Mail,
        unsubscribe: &str,
    ) -> Result<(), DbErr> {
        self.queue_row(tx, mail, None, Some(unsubscribe.to_owned()))
            .await
    }

    /// A message with a billing document's PDF attached when it is sent.
    pub async fn queue_with_document(
        &self,
        tx: &TenantTx,
        mail: Mail,
        document_id: &str,
    ) -> Result<(), DbErr> {
        self.queue_row(tx, mail, Some(document_id.to_owned()), None)
            .await
    }

    async fn queue_row(
        &self,
        tx: &TenantTx,
        mail: Mail,
        document_id: Option<String>,
        list_unsubscribe: Option<String>,
    ) -> Result<(), DbErr> {
        entity::ActiveModel {
            id: Set(uuid::Uuid::now_v7().simple().to_string()),
            to_addr: Set(mail.to),
            from_addr: Set(mail.from),
            subject: Set(mail.subject),
            text_body: Set(mail.body),
            status: Set(if self.smtp.is_some() {
                "queued"
            } else {
                "stored"
            }
            .to_owned()),
            attempts: Set(0),
            last_error: Set(None),
            created_at: Set(Utc::now()),
            sent_at: Set(None),
            document_id: Set(document_id),
            list_unsubscribe: Set(list_unsubscribe),
        }
        .insert(tx.conn())
        .await?;
        Ok(())
    }

    /// Sends the tenant's queued messages in the background (call after commit).
    pub fn kick(&self, tenancy: &Tenancy, tenant: &Tenant) {
        if self.smtp.is_none() {
            return;
        }
        let (this, tenancy, tenant) = (self.clone(), tenancy.clone(), tenant.clone());
        tokio::spawn(async move {
            if let Err(e) = this.deliver(&tenancy, &tenant).await {
                tracing::warn!(tenant = %tenant.id, error = %e, "mail delivery run failed");
            }
        });
    }

    /// Sends queued messages of one tenant; each result is recorded on its row.
    pub async fn deliver(&self, tenancy: &Tenancy, tenant: &Tenant) -> anyhow::Result<usize> {
        let Some(smtp) = &self.smtp else { return Ok(0) };
        let tx = tenancy.begin(tenant).await?;
        let queued = entity::Entity::find()
            .filter(entity::Column::Status.eq("queued"))
            .order_by_asc(entity::Column::Id)
            .limit(50)
            .all(tx.conn())
            .await?;
        tx.commit().await?;
        let mut sent = 0;
        for m in queued {
            let attachment = match &m.document_id {
                Some(id) => {
                    let tx = tenancy.begin(tenant).await?;
                    let doc = crate::billing::invoice::Entity::find_by_id(id.clone())
                        .one(tx.conn())
                        .await?;
                    tx.commit().await?;
                    match doc {
                        Some(d) => d.pdf.map(|pdf| (format!("{}.pdf", d.number), pdf)),
                        // A dunning letter.
                        None => {
                            let tx = tenancy.begin(tenant).await?;
                            let letter =
                                crate::payments::dunning_letter::Entity::find_by_id(id.clone())
                                    .one(tx.conn())
                                    .await?;
                            tx.commit().await?;
                            letter.and_then(|l| {
                                l.pdf.map(|pdf| (format!("dunning-{}.pdf", l.day), pdf))
                            })
                        }
                    }
                }
                None => None,
            };
            let result = match build(&m, attachment) {
                Ok(msg) => smtp.send(msg).await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            let tx = tenancy.begin(tenant).await?;
            let attempts = m.attempts + 1;
            let mut row: entity::ActiveModel = m.into();
            row.attempts = Set(attempts);
            match result {
                Ok(()) => {
                    row.status = Set("sent".into());
                    row.sent_at = Set(Some(Utc::now()));
                    sent += 1;
                }
                Err(e) => {
                    tracing::warn!(tenant = %tenant.id, error = %e, "sending mail failed");
                    row.last_error = Set(Some(e));
                    if attempts >= MAX_ATTEMPTS {
                        row.status = Set("failed".into());
                    }
                }
            }
            row.update(tx.conn()).await?;
            tx.commit().await?;
        }
        Ok(sent)
    }
}

impl Mailer {
    /// Delivers what is still queued for every reseller: at start and then every
    /// `every`, so a message queued just before a crash or an SMTP outage still goes out.
    pub fn spawn_sweeper(&self, tenancy: Tenancy, every: std::time::Duration) {
        if self.smtp.is_none() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            use futures::StreamExt;
            loop {
                match tenancy.list().await {
                    Ok(tenants) => {
                        futures::stream::iter(tenants)
                            .for_each_concurrent(4, |t| {
                                let (this, tenancy) = (this.clone(), tenancy.clone());
                                async move {
                                    if let Err(e) = this.deliver(&tenancy, &t).await {
                                        tracing::warn!(tenant = %t.id, error = %e, "mail sweep failed");
                                    }
                                }
                            })
                            .await;
                    }
                    Err(e) => tracing::warn!(error = %e, "mail sweep cannot list tenants"),
                }
                tokio::time::sleep(every).await;
            }
        });
    }
}

fn build(m: &entity::Model, attachment: Option<(String, Vec<u8>)>) -> Result<Message, String> {
    use lettre::message::{Attachment, MultiPart, SinglePart};
    let from: Mailbox = m.from_addr.parse().map_err(|e| format!("from: {e}"))?;
    let to: Mailbox = m.to_addr.parse().map_err(|e| format!("to: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone());
    if let Some(url) = &m.list_unsubscribe {
        use lettre::message::header::{HeaderName, HeaderValue};
        let header = |name: &'static str, value: String| {
            HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
        };
        builder = builder
            .raw_header(header("List-Unsubscribe", format!("<{url}>")))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    match attachment {
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(m.text_body.clone()),
        Some((name, bytes)) => builder.multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(m.text_body.clone()))
                .singlepart(Attachment::new(name).body(
                    bytes,
                    ContentType::parse("application/pdf").map_err(|e| e.to_string())?,
                )),
        ),
    }
    .map_err(|e| e.to_string())
}

/// The tenant's sender: configured address, else noreply at its first hostname.
pub async fn sender(
    tx: &relabel_tenants::TenantTx,
    tenant: &relabel_tenants::Tenant,
) -> Result<String, sea_orm::DbErr> {
    let s = crate::customers::settings(tx).await?;
    let name = s
        .mail_from_name
        .unwrap_or_else(|| tenant.name.clone())
        .replace(['"', '<', '>', '\r', '\n'], "");
    let host = tenant
        .hostnames
        .first()
        .cloned()
        .unwrap_or_else(|| "localhost.localdomain".into());
    let addr = s
        .mail_from_address
        .unwrap_or_else(|| format!("noreply@{host}"));
    Ok(format!("\"{name}\" <{addr}>"))
}

/// The newest messages of a tenant, for the console.
pub async fn recent(tx: &TenantTx, limit: u64) -> Result<Vec<entity::Model>, DbErr> {
    entity::Entity::find()
        .order_by_desc(entity::Column::Id)
        .limit(limit)
        .all(tx.conn())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailing_carries_one_click_unsubscribe_headers() {
        let m = entity::Model {
            id: "1".into(),
            to_addr: "leser@example.de".into(),
            from_addr: "Alpha <noreply@alpha.test>".into(),
            subject: "Winterangebot".into(),
            text_body: "Text".into(),
            status: "queued".into(),
            attempts: 0,
            last_error: None,
            created_at: Utc::now(),
            sent_at: None,
            document_id: None,
            list_unsubscribe: Some("https://alpha.test/newsletter/unsubscribe/ab.cd".into()),
        };
        let raw = String::from_utf8(build(&m, None).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("List-Unsubscribe: <https://alpha.test/newsletter/unsubscribe/ab.cd>\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            "{raw}"
        );
        let plain = entity::Model {
            list_unsubscribe: None,
            ..m
        };
        let raw = String::from_utf8(build(&plain, None).unwrap().formatted()).unwrap();
        assert!(!raw.contains("List-Unsubscribe"), "{raw}");
    }
}
