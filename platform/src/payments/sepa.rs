//! SEPA Core direct debit (Y3, Y7): the debit run and its pain.008 file.
//!
//! A run collects the open invoices of customers with billing type DEBIT, an
//! ACTIVE debit status and a mandate, once the invoice is `debit_delay_days` old.
//! It is one transaction: the run row, one item per invoice (FRST for a mandate's
//! first collection, RCUR after) and the XML. A run killed midway leaves nothing;
//! a second run finds the items taken. Runs are serialised on the billing
//! settings row.
//!
//! As the SEPA rulebook has it, the money moves on the collection date, not when
//! the file is written: an item is `pending` ("collection pending") until then,
//! and its invoice stays open but is neither dunned nor counted as overdue.
//! [`settle_due`] books the payment on the collection date (the daily schedule
//! runs it); a return debit before then reopens nothing, since nothing was paid.

use super::{PaymentInput, debit_item, debit_run};
use crate::billing::{self, BillingError, billing_settings, invoice, money};
use crate::customers::customer;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use relabel_tenants::TenantTx;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::{HashMap, HashSet};

/// Whether `id` is a well-formed SEPA creditor identifier (e.g. DE98ZZZ09999999999):
/// country, check digits over the national part (ISO 7064 mod 97-10, the
/// business code skipped), business code, national identifier.
pub fn valid_creditor_id(id: &str) -> bool {
    let id = id.trim().to_uppercase();
    if !(9..=35).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (country, rest) = id.split_at(2);
    let (check, rest) = rest.split_at(2);
    let national = &rest[3..];
    if !country.bytes().all(|b| b.is_ascii_uppercase())
        || !check.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let mut rem: u32 = 0;
    for ch in format!("{national}{country}{check}").chars() {
        let v = ch.to_digit(36).unwrap_or(0);
        for d in v.to_string().chars() {
            rem = (rem * 10 + d.to_digit(10).unwrap_or(0)) % 97;
        }
    }
    rem == 1
}

/// Whether `c` is in the EPC's basic Latin character set for SEPA messages.
fn epc(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/-?:().,'+ ".contains(c)
}

/// Text in the EPC character set: German umlauts spelled out (ä -> ae),
/// every other letter transliterated (é -> e, ø -> o, ł -> l, Þ -> Th,
/// Cyrillic and Greek to Latin) so no letter is lost; what has no Latin form
/// becomes a space.
pub fn latin(s: &str, max: usize) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            c if epc(c) => out.push(c),
            c => {
                let latin = deunicode::deunicode_char(c).unwrap_or(" ");
                out.extend(latin.chars().map(|l| if epc(l) { l } else { ' ' }));
            }
        }
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    out.chars().take(max).collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

/// One collection in a file.
#[derive(Clone, Debug)]
pub struct Collection {
    pub end_to_end_id: String,
    pub amount_minor: i64,
    pub mandate_reference: String,
    pub mandate_signed_on: String,
    pub sequence: String,
    pub debtor_name: String,
    pub debtor_iban: String,
    pub debtor_bic: Option<String>,
    pub remittance: String,
}

/// The creditor side of a file.
#[derive(Clone, Debug)]
pub struct Creditor {
    pub name: String,
    pub iban: String,
    pub bic: String,
    pub creditor_id: String,
}

/// A SEPA Core direct debit initiation: `pain.008.001.08` or the older `.02`, one
/// payment information block per sequence type.
pub fn pain008(
    version: &str,
    message_id: &str,
    created: DateTime<Utc>,
    collect_on: chrono::NaiveDate,
    creditor: &Creditor,
    items: &[Collection],
) -> String {
    let v08 = version != "02";
    let bic_tag = if v08 { "BICFI" } else { "BIC" };
    let agent = |bic: Option<&str>| match bic.filter(|b| !b.is_empty()) {
        Some(b) => format!("<FinInstnId><{bic_tag}>{}</{bic_tag}></FinInstnId>", esc(b)),
        None => "<FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId>".into(),
    };
    let sum = |list: &[&Collection]| money::decimal(list.iter().map(|c| c.amount_minor).sum());
    let all: Vec<&Collection> = items.iter().collect();
    let mut x = String::with_capacity(1024 + items.len() * 900);
    x.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.008.001.{}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<CstmrDrctDbtInitn>\n",
        if v08 { "08" } else { "02" }
    ));
    x.push_str(&format!(
        "<GrpHdr><MsgId>{}</MsgId><CreDtTm>{}</CreDtTm><NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum><InitgPty><Nm>{}</Nm></InitgPty></GrpHdr>\n",
        esc(message_id),
        created.format("%Y-%m-%dT%H:%M:%S"),
        items.len(),
        sum(&all),
        esc(&latin(&creditor.name, 70)),
    ));
    let collect = format!("<ReqdColltnDt>{collect_on}</ReqdColltnDt>");
    for seq in ["FRST", "RCUR"] {
        let block: Vec<&Collection> = items.iter().filter(|c| c.sequence == seq).collect();
        if block.is_empty() {
            continue;
        }
        x.push_str(&format!(
            "<PmtInf><PmtInfId>{}</PmtInfId><PmtMtd>DD</PmtMtd><BtchBookg>true</BtchBookg><NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum>\
<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl><LclInstrm><Cd>CORE</Cd></LclInstrm><SeqTp>{seq}</SeqTp></PmtTpInf>{collect}\
<Cdtr><Nm>{}</Nm></Cdtr><CdtrAcct><Id><IBAN>{}</IBAN></Id></CdtrAcct><CdtrAgt>{}</CdtrAgt><ChrgBr>SLEV</ChrgBr>\
<CdtrSchmeId><Id><PrvtId><Othr><Id>{}</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id></CdtrSchmeId>\n",
            esc(&latin(&format!("{message_id}-{seq}"), 35)),
            block.len(),
            sum(&block),
            esc(&latin(&creditor.name, 70)),
            esc(&creditor.iban),
            agent(Some(&creditor.bic)),
            esc(&creditor.creditor_id),
        ));
        for c in block {
            x.push_str(&format!(
                "<DrctDbtTxInf><PmtId><EndToEndId>{}</EndToEndId></PmtId><InstdAmt Ccy=\"EUR\">{}</InstdAmt>\
<DrctDbtTx><MndtRltdInf><MndtId>{}</MndtId><DtOfSgntr>{}</DtOfSgntr></MndtRltdInf></DrctDbtTx>\
<DbtrAgt>{}</DbtrAgt><Dbtr><Nm>{}</Nm></Dbtr><DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct>\
<RmtInf><Ustrd>{}</Ustrd></RmtInf></DrctDbtTxInf>\n",
                esc(&c.end_to_end_id),
                money::decimal(c.amount_minor),
                esc(&latin(&c.mandate_reference, 35)),
                esc(&c.mandate_signed_on),
                agent(c.debtor_bic.as_deref()),
                esc(&latin(&c.debtor_name, 70)),
                esc(&c.debtor_iban),
                esc(&latin(&c.remittance, 140)),
            ));
        }
        x.push_str("</PmtInf>\n");
    }
    x.push_str("</CstmrDrctDbtInitn>\n</Document>\n");
    x
}

/// An invoice a run would collect.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Candidate {
    pub invoice_id: String,
    pub number: String,
    pub customer_id: String,
    pub customer_number: String,
    pub name: String,
    pub amount_minor: i64,
    pub sequence: &'static str,
}

/// What a debit run at `now` collects: open EUR invoices at least
/// `debit_delay_days` old of DEBIT customers with an ACTIVE status and a mandate,
/// not collected before (a returned item waits for staff or dunning).
pub async fn candidates(
    tx: &TenantTx,
    s: &billing_settings::Model,
    now: DateTime<Utc>,
) -> Result<Vec<(Candidate, customer::Model)>, DbErr> {
    let people: HashMap<String, customer::Model> = customer::Entity::find()
        .filter(customer::Column::BillingType.eq("DEBIT"))
        .filter(customer::Column::DebitStatus.eq("ACTIVE"))
        .filter(customer::Column::Iban.is_not_null())
        .filter(customer::Column::MandateReference.is_not_null())
        .filter(customer::Column::MandateSignedOn.is_not_null())
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    if people.is_empty() {
        return Ok(Vec::new());
    }
    // Invoices collected before, and mandates used before: a mandate's first
    // collections are FRST, every later one RCUR.
    let earlier = debit_item::Entity::find().all(tx.conn()).await?;
    let taken: HashSet<&str> = earlier.iter().map(|i| i.invoice_id.as_str()).collect();
    let used: HashSet<(String, String)> = earlier
        .iter()
        .map(|i| (i.customer_id.clone(), i.mandate_reference.clone()))
        .collect();
    let items = invoice::Entity::find()
        .filter(invoice::Column::Kind.eq("invoice"))
        .filter(invoice::Column::Status.eq("open"))
        .filter(invoice::Column::Currency.eq("EUR"))
        .filter(invoice::Column::IssuedAt.lte(now - Duration::days(i64::from(s.debit_delay_days))))
        .filter(invoice::Column::CustomerId.is_in(people.keys().cloned()))
        .order_by_asc(invoice::Column::IssuedAt)
        .order_by_asc(invoice::Column::Number)
        .all(tx.conn())
        .await?;
    let mut out = Vec::new();
    for inv in items {
        let Some(c) = people.get(&inv.customer_id) else {
            continue;
        };
        if taken.contains(inv.id.as_str()) || inv.open_minor() <= 0 {
            continue;
        }
        let mandate = c.mandate_reference.clone().unwrap_or_default();
        let key = (c.id.clone(), mandate);
        let sequence = if used.contains(&key) { "RCUR" } else { "FRST" };
        out.push((
            Candidate {
                invoice_id: inv.id.clone(),
                number: inv.number.clone(),
                customer_id: c.id.clone(),
                customer_number: c.number.clone(),
                name: crate::customers::display_name(c),
                amount_minor: inv.open_minor(),
                sequence,
            },
            c.clone(),
        ));
    }
    Ok(out)
}

/// Runs a debit run: see the module. Refused without a creditor id, bank data or
/// anything to collect.
pub async fn run(
    tx: &TenantTx,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<debit_run::Model, BillingError> {
    // A write first: serialises runs (and takes SQLite's lock before reading).
    billing_settings::Entity::update_many()
        .col_expr(
            billing_settings::Column::CreditorId,
            Expr::col(billing_settings::Column::CreditorId),
        )
        .filter(billing_settings::Column::Id.eq(1))
        .exec(tx.conn())
        .await?;
    let s = billing::settings(tx).await?;
    if !valid_creditor_id(&s.creditor_id) || s.iban.is_empty() {
        return Err(BillingError::Refused(
            "direct debits need the creditor id and the bank account in the payment settings",
        ));
    }
    let list = candidates(tx, &s, now).await?;
    if list.is_empty() {
        return Err(BillingError::Refused("nothing to collect"));
    }
    let id = billing::new_id();
    let collect_on = now + Duration::days(i64::from(s.debit_lead_days.max(1)));
    let message_id = format!("DD-{}-{}", now.format("%Y%m%d%H%M%S"), &id[id.len() - 6..]);
    let mut collections = Vec::with_capacity(list.len());
    let mut items = Vec::with_capacity(list.len());
    for (k, (cand, c)) in list.iter().enumerate() {
        let item_id = billing::new_id();
        let e2e = latin(&format!("{}-{}", cand.number, k + 1), 35).replace(' ', "");
        collections.push(Collection {
            end_to_end_id: e2e.clone(),
            amount_minor: cand.amount_minor,
            mandate_reference: c.mandate_reference.clone().unwrap_or_default(),
            mandate_signed_on: c
                .mandate_signed_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            sequence: cand.sequence.into(),
            debtor_name: c
                .account_holder
                .clone()
                .filter(|h| !h.trim().is_empty())
                .unwrap_or_else(|| crate::customers::display_name(c)),
            debtor_iban: c.iban.clone().unwrap_or_default().replace(' ', ""),
            debtor_bic: c.bic.clone(),
            remittance: format!("{} {}", cand.number, c.number),
        });
        items.push((item_id, e2e, cand, c));
    }
    let creditor = Creditor {
        name: s.legal_name.clone(),
        iban: s.iban.replace(' ', ""),
        bic: s.bic.clone(),
        creditor_id: s.creditor_id.clone(),
    };
    let xml = pain008(
        &s.sepa_version,
        &message_id,
        now,
        collect_on.date_naive(),
        &creditor,
        &collections,
    );
    let total: i64 = list.iter().map(|(c, _)| c.amount_minor).sum();
    let run = debit_run::ActiveModel {
        id: Set(id.clone()),
        status: Set("submitted".into()),
        collect_on: Set(collect_on),
        version: Set(s.sepa_version.clone()),
        message_id: Set(message_id),
        items: Set(i32::try_from(list.len()).unwrap_or(i32::MAX)),
        total_minor: Set(total),
        currency: Set("EUR".into()),
        xml: Set(xml),
        actor: Set(actor.to_owned()),
        created_at: Set(now),
    }
    .insert(tx.conn())
    .await?;
    for (item_id, e2e, cand, c) in items {
        // Nothing is paid yet: the item is pending until its collection date.
        debit_item::ActiveModel {
            id: Set(item_id),
            run_id: Set(id.clone()),
            invoice_id: Set(cand.invoice_id.clone()),
            customer_id: Set(c.id.clone()),
            amount_minor: Set(cand.amount_minor),
            mandate_reference: Set(c.mandate_reference.clone().unwrap_or_default()),
            mandate_signed_on: Set(c
                .mandate_signed_on
                .map(|d| d.to_string())
                .unwrap_or_default()),
            sequence: Set(cand.sequence.into()),
            end_to_end_id: Set(e2e),
            status: Set(PENDING.into()),
            payment_id: Set(None),
            return_reason: Set(None),
            returned_at: Set(None),
        }
        .insert(tx.conn())
        .await?;
    }
    tx.touch(billing::TOPIC);
    Ok(run)
}

/// An item submitted to the bank whose collection date has not come.
pub const PENDING: &str = "pending";
/// An item whose collection date has come: its payment is booked.
pub const COLLECTED: &str = "collected";
/// An item the bank gave back (R-transaction).
pub const RETURNED: &str = "returned";

/// The invoices with a collection pending, and the date each is collected on.
pub async fn pending(tx: &TenantTx) -> Result<HashMap<String, NaiveDate>, DbErr> {
    Ok(pending_items(tx)
        .await?
        .into_iter()
        .map(|(i, on)| (i.invoice_id, on))
        .collect())
}

/// The pending items, each with its run's collection date.
async fn pending_items(tx: &TenantTx) -> Result<Vec<(debit_item::Model, NaiveDate)>, DbErr> {
    let items = debit_item::Entity::find()
        .filter(debit_item::Column::Status.eq(PENDING))
        .all(tx.conn())
        .await?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let runs: HashMap<String, NaiveDate> = debit_run::Entity::find()
        .filter(debit_run::Column::Id.is_in(items.iter().map(|i| i.run_id.clone())))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|r| (r.id, r.collect_on.date_naive()))
        .collect();
    Ok(items
        .into_iter()
        .filter_map(|i| runs.get(&i.run_id).map(|d| (i, *d)))
        .collect())
}

/// The collection date an invoice shows: while it is open and its collection
/// pending (`pending` from [`pending`]).
pub fn shown_collection(
    pending: &HashMap<String, NaiveDate>,
    invoice_id: &str,
    status: &str,
) -> Option<NaiveDate> {
    pending
        .get(invoice_id)
        .copied()
        .filter(|_| status == "open")
}

/// Books the payment of every pending item whose collection date has come by
/// `now` (value date: the collection date, never after today), and marks it
/// collected. Safe to repeat and to run concurrently: an item moves once.
/// Returns how many items were settled.
pub async fn settle_due(
    tx: &TenantTx,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<usize, BillingError> {
    let today = now.date_naive();
    let mut settled = 0;
    for (item, on) in pending_items(tx).await? {
        if on > today {
            continue;
        }
        let moved = debit_item::Entity::update_many()
            .col_expr(debit_item::Column::Status, Expr::val(COLLECTED))
            .filter(debit_item::Column::Id.eq(&item.id))
            .filter(debit_item::Column::Status.eq(PENDING))
            .exec(tx.conn())
            .await?;
        if moved.rows_affected == 0 {
            continue;
        }
        let inv = invoice::Entity::find_by_id(item.invoice_id.clone())
            .one(tx.conn())
            .await?;
        // Paid meanwhile (a transfer as well): the money lands on the balance.
        let still_open = inv
            .as_ref()
            .is_some_and(|i| i.status == "open" && i.open_minor() > 0);
        let number = inv.as_ref().map(|i| i.number.clone()).unwrap_or_default();
        let p = super::record(
            tx,
            &PaymentInput {
                customer_id: item.customer_id.clone(),
                amount: money::decimal(item.amount_minor),
                method: "sepa_debit".into(),
                reference: format!("{number} {}", item.end_to_end_id),
                invoice_id: if still_open {
                    item.invoice_id.clone()
                } else {
                    String::new()
                },
                booked_on: on.min(Utc::now().date_naive()).to_string(),
                external_id: Some(format!("debit:{}", item.id)),
                ..Default::default()
            },
            actor,
        )
        .await?;
        debit_item::Entity::update_many()
            .col_expr(debit_item::Column::PaymentId, Expr::val(p.id))
            .filter(debit_item::Column::Id.eq(&item.id))
            .exec(tx.conn())
            .await?;
        settled += 1;
    }
    if settled > 0 {
        tx.touch(billing::TOPIC);
    }
    Ok(settled)
}

/// Debit runs, newest first.
pub async fn runs(tx: &TenantTx) -> Result<Vec<debit_run::Model>, DbErr> {
    debit_run::Entity::find()
        .order_by_desc(debit_run::Column::CreatedAt)
        .all(tx.conn())
        .await
}

pub async fn items(tx: &TenantTx, run_id: &str) -> Result<Vec<debit_item::Model>, DbErr> {
    debit_item::Entity::find()
        .filter(debit_item::Column::RunId.eq(run_id))
        .order_by_asc(debit_item::Column::EndToEndId)
        .all(tx.conn())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creditor_ids_carry_their_check_digits() {
        // The Bundesbank's documented test id.
        assert!(valid_creditor_id("DE98ZZZ09999999999"));
        assert!(valid_creditor_id(
            "de98 zzz09999999999".replace(' ', "").as_str()
        ));
        assert!(!valid_creditor_id("DE99ZZZ09999999999"));
        assert!(!valid_creditor_id("DE98ZZZ"));
        assert!(!valid_creditor_id("DE98ZZZ0999999999!"));
    }

    #[test]
    fn names_are_spelled_in_the_sepa_character_set() {
        assert_eq!(latin("Jörg Müller & Söhne", 70), "Joerg Mueller Soehne");
        // Names from many languages keep every letter.
        for (name, sepa) in [
            ("François Lefèvre Ødegård", "Francois Lefevre Odegard"),
            ("Łukasz Żółkiewski", "Lukasz Zolkiewski"),
            ("Antonín Dvořák", "Antonin Dvorak"),
            ("José Núñez", "Jose Nunez"),
            ("Þórður Ægisson", "Thordur AEgisson"),
            ("Ștefan Țurcanu", "Stefan Turcanu"),
            ("Pál Erdős", "Pal Erdos"),
            ("Nguyễn Văn Anh", "Nguyen Van Anh"),
            ("Νίκος Παπαδόπουλος", "Nikos Papadopoulos"),
            ("Дмитрий Иванов", "Dmitrii Ivanov"),
            ("Şükrü Çelik", "Suekrue Celik"),
            ("Åsa Ståhl", "Asa Stahl"),
        ] {
            let out = latin(name, 70);
            assert_eq!(out, sepa, "{name}");
            assert!(out.chars().all(epc), "{out}");
        }
        assert_eq!(latin("a".repeat(80).as_str(), 70).len(), 70);
    }
}
