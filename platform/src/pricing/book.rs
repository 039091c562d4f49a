//! The price resolver's cache: one immutable [`PriceBook`] per tenant (enabled
//! products, classes with their sets, wholesale costs, tax settings), loaded once and
//! dropped when a transaction that touched `"pricing"` commits, on this node at once
//! and on the others through Redis. Per-customer parts (class, overrides, VAT
//! treatment) are read per request into a [`Pricer`]; they are small and never shared.

use super::entity::{class_price, customer_price, enabled_product, price_class};
use super::{Quote, Source};
use crate::catalog::{product, wholesale_price};
use crate::customers::customer;
use crate::tax::{self, Treatment};
use relabel_tenants::{Tenancy, TenantTx};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The topic pricing writes touch.
pub const TOPIC: &str = "pricing";

/// One price relation: action, period in months, amount in minor units.
type Relation = (String, i32, i64);

#[derive(Clone, Debug)]
pub struct ClassInfo {
    pub id: String,
    pub name: String,
    pub currency: String,
}

#[derive(Default, Debug)]
struct ProductPrices {
    /// class id -> relations.
    by_class: HashMap<String, Vec<Relation>>,
    /// (action, period, currency, amount).
    wholesale: Vec<(String, i32, String, i64)>,
}

/// The seller's VAT settings and how the storefront shows prices.
#[derive(Clone, Debug)]
pub struct TaxSettings {
    pub country: String,
    pub rate_bp: u32,
    pub show_gross: bool,
}

/// Everything a tenant's prices depend on except the customer.
#[derive(Debug)]
pub struct PriceBook {
    products: HashMap<String, ProductPrices>,
    classes: HashMap<String, ClassInfo>,
    default_class: Option<String>,
    /// Enabled, active domain products sorted by TLD: (tld, product id).
    domains: Vec<(String, String)>,
    /// Enabled product id -> (kind, name).
    names: HashMap<String, (String, String)>,
    pub tax: TaxSettings,
}

/// The operator's catalog every book is built from, the same for all tenants:
/// active products and their wholesale prices.
#[derive(Debug, Default)]
pub struct Catalog {
    active: HashMap<String, product::Model>,
    /// Product id -> (action, period, currency, amount).
    wholesale: HashMap<String, Vec<(String, i32, String, i64)>>,
}

impl Catalog {
    pub async fn load(tx: &TenantTx) -> Result<Self, DbErr> {
        let active = product::Entity::find()
            .filter(product::Column::Active.eq(true))
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let mut wholesale: HashMap<String, Vec<_>> = HashMap::new();
        for w in wholesale_price::Entity::find().all(tx.conn()).await? {
            wholesale.entry(w.product_id).or_default().push((
                w.action,
                w.period_months,
                w.currency,
                w.amount_minor,
            ));
        }
        Ok(Self { active, wholesale })
    }
}

impl PriceBook {
    pub async fn load(tx: &TenantTx) -> Result<Self, DbErr> {
        Self::load_with(tx, &Catalog::load(tx).await?).await
    }

    /// The tenant's book on `catalog`: its own parts are read from `tx`.
    pub async fn load_with(tx: &TenantTx, catalog: &Catalog) -> Result<Self, DbErr> {
        let active = &catalog.active;
        let enabled: HashSet<String> = enabled_product::Entity::find()
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|e| e.product_id)
            .filter(|id| active.contains_key(id))
            .collect();
        let mut products: HashMap<String, ProductPrices> = enabled
            .iter()
            .map(|id| {
                let prices = ProductPrices {
                    wholesale: catalog.wholesale.get(id).cloned().unwrap_or_default(),
                    ..Default::default()
                };
                (id.clone(), prices)
            })
            .collect();
        for r in class_price::Entity::find().all(tx.conn()).await? {
            if let Some(p) = products.get_mut(&r.product_id) {
                p.by_class.entry(r.class_id).or_default().push((
                    r.action,
                    r.period_months,
                    r.amount_minor,
                ));
            }
        }
        let mut default_class = None;
        let classes = price_class::Entity::find()
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|c| {
                if c.is_default {
                    default_class = Some(c.id.clone());
                }
                (
                    c.id.clone(),
                    ClassInfo {
                        id: c.id,
                        name: c.name,
                        currency: c.currency,
                    },
                )
            })
            .collect();
        let mut domains: Vec<(String, String)> = enabled
            .iter()
            .filter_map(|id| {
                let p = &active[id];
                (p.kind == "domain").then(|| (p.tld.clone().unwrap_or_default(), id.clone()))
            })
            .collect();
        domains.sort();
        let names = enabled
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    (active[id].kind.clone(), active[id].name.clone()),
                )
            })
            .collect();
        let s = crate::customers::settings(tx).await?;
        Ok(Self {
            products,
            classes,
            default_class,
            domains,
            names,
            tax: TaxSettings {
                country: s.tax_country,
                rate_bp: u32::try_from(s.vat_rate_bp).unwrap_or(0),
                show_gross: s.show_gross,
            },
        })
    }

    pub fn product_name(&self, product_id: &str) -> Option<&str> {
        self.names.get(product_id).map(|(_, n)| n.as_str())
    }

    /// Enabled products of `kinds` as (id, name), sorted by id.
    pub fn products_of_kinds(&self, kinds: &[&str]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .names
            .iter()
            .filter(|(_, (k, _))| kinds.contains(&k.as_str()))
            .map(|(id, (_, n))| (id.clone(), n.clone()))
            .collect();
        out.sort();
        out
    }

    pub fn is_enabled(&self, product_id: &str) -> bool {
        self.products.contains_key(product_id)
    }

    pub fn domains(&self) -> &[(String, String)] {
        &self.domains
    }

    pub fn class(&self, id: &str) -> Option<&ClassInfo> {
        self.classes.get(id)
    }

    /// The customer's class when it exists, else the default class.
    pub fn class_for(&self, class_id: Option<&str>) -> Option<&ClassInfo> {
        class_id.and_then(|id| self.classes.get(id)).or_else(|| {
            self.default_class
                .as_deref()
                .and_then(|id| self.classes.get(id))
        })
    }

    pub fn wholesale(
        &self,
        product_id: &str,
        action: &str,
        period: i32,
        currency: &str,
    ) -> Option<i64> {
        self.products
            .get(product_id)?
            .wholesale
            .iter()
            .find(|(a, p, c, _)| a == action && *p == period && c == currency)
            .map(|w| w.3)
    }

    fn class_price(&self, class: &str, product_id: &str, action: &str, period: i32) -> Option<i64> {
        self.products
            .get(product_id)?
            .by_class
            .get(class)?
            .iter()
            .find(|(a, p, _)| a == action && *p == period)
            .map(|r| r.2)
    }
}

/// Prices for one buyer (a customer or anonymous) against one tenant's book.
pub struct Pricer {
    book: Arc<PriceBook>,
    class: Option<ClassInfo>,
    /// product id -> (action, period, currency, amount).
    overrides: HashMap<String, Vec<(String, i32, String, i64)>>,
    treatment: Treatment,
}

impl Pricer {
    /// Anonymous buyer: default class, domestic VAT.
    pub fn anonymous(book: Arc<PriceBook>) -> Self {
        let class = book.class_for(None).cloned();
        let treatment = Treatment::Vat {
            rate_bp: book.tax.rate_bp,
        };
        Self {
            book,
            class,
            overrides: HashMap::new(),
            treatment,
        }
    }

    pub async fn for_customer(
        book: Arc<PriceBook>,
        tx: &TenantTx,
        customer: &customer::Model,
    ) -> Result<Self, DbErr> {
        let overrides = customer_price::Entity::find()
            .filter(customer_price::Column::CustomerId.eq(&customer.id))
            .all(tx.conn())
            .await?;
        Ok(Self::with_overrides(book, customer, overrides))
    }

    /// A customer's pricer from overrides read by the caller (a billing run reads
    /// those of many customers at once).
    pub fn with_overrides(
        book: Arc<PriceBook>,
        customer: &customer::Model,
        rows: impl IntoIterator<Item = customer_price::Model>,
    ) -> Self {
        let mut overrides: HashMap<String, Vec<_>> = HashMap::new();
        for o in rows {
            overrides.entry(o.product_id).or_default().push((
                o.action,
                o.period_months,
                o.currency,
                o.amount_minor,
            ));
        }
        let class = book.class_for(customer.price_class_id.as_deref()).cloned();
        let treatment = tax::treatment(
            tax::Seller {
                country: &book.tax.country,
                rate_bp: book.tax.rate_bp,
            },
            crate::customers::tax_buyer(customer),
        );
        Self {
            book,
            class,
            overrides,
            treatment,
        }
    }

    pub fn book(&self) -> &PriceBook {
        &self.book
    }

    pub fn treatment(&self) -> Treatment {
        self.treatment
    }

    /// Override, else the buyer's class, else not for sale. Only enabled products.
    pub fn quote(&self, product_id: &str, action: &str, period: i32) -> Option<Quote> {
        if !self.book.is_enabled(product_id) {
            return None;
        }
        let (currency, net, source) = if let Some(o) = self
            .overrides
            .get(product_id)
            .and_then(|rows| rows.iter().find(|(a, p, _, _)| a == action && *p == period))
        {
            (o.2.clone(), o.3, Source::Override)
        } else {
            let class = self.class.as_ref()?;
            let net = self
                .book
                .class_price(&class.id, product_id, action, period)?;
            (
                class.currency.clone(),
                net,
                Source::Class {
                    id: class.id.clone(),
                    name: class.name.clone(),
                },
            )
        };
        let vat_minor = vat_of(net, self.treatment);
        Some(Quote {
            product_id: product_id.to_owned(),
            action: action.to_owned(),
            period_months: period,
            wholesale_minor: self.book.wholesale(product_id, action, period, &currency),
            currency,
            net_minor: net,
            vat_minor,
            gross_minor: net + vat_minor,
            treatment: self.treatment,
            source,
        })
    }
}

/// VAT on a net amount, rounded half up to the minor unit.
pub fn vat_of(net_minor: i64, treatment: Treatment) -> i64 {
    match treatment {
        Treatment::Vat { rate_bp } => {
            let raw = i128::from(net_minor) * i128::from(rate_bp);
            i64::try_from((raw + 5_000).div_euclid(10_000)).unwrap_or(i64::MAX)
        }
        Treatment::ReverseCharge | Treatment::Export => 0,
    }
}

/// Per-tenant books, shared by every request of this process, and the catalog
/// they are built from, read once for all tenants.
#[derive(Clone)]
pub struct PriceBooks {
    cache: moka::sync::Cache<String, Arc<PriceBook>>,
    catalog: moka::sync::Cache<(), Arc<Catalog>>,
    /// Advanced on every invalidation: a book loaded across one is not cached.
    epoch: Arc<AtomicU64>,
}

impl PriceBooks {
    pub fn new(tenancy: &Tenancy) -> Self {
        let books = Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(10_000)
                // A backstop only; changes invalidate at once.
                .time_to_live(Duration::from_secs(600))
                .build(),
            catalog: moka::sync::Cache::builder()
                .max_capacity(1)
                .time_to_live(Duration::from_secs(600))
                .build(),
            epoch: Arc::default(),
        };
        let listener = books.clone();
        tenancy.changes().subscribe(move |change| {
            if !(change.concerns(TOPIC) || change.concerns(crate::catalog::TOPIC)) {
                return;
            }
            listener.epoch.fetch_add(1, Ordering::SeqCst);
            if change.concerns(crate::catalog::TOPIC) {
                listener.catalog.invalidate_all();
            }
            match &change.tenant {
                Some(t) => listener.cache.invalidate(t.as_str()),
                None => listener.cache.invalidate_all(),
            }
        });
        books
    }

    /// The tenant's book. A transaction with uncommitted pricing changes gets its
    /// own fresh book, never cached.
    pub async fn book(&self, tx: &TenantTx) -> Result<Arc<PriceBook>, DbErr> {
        let key = tx.tenant_id().as_str();
        if !tx.has_touched(TOPIC)
            && let Some(book) = self.cache.get(key)
        {
            return Ok(book);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let fresh = tx.has_touched(crate::catalog::TOPIC);
        let catalog = match self.catalog.get(&()) {
            Some(catalog) if !fresh => catalog,
            _ => {
                let catalog = Arc::new(Catalog::load(tx).await?);
                if !fresh && self.epoch.load(Ordering::SeqCst) == epoch {
                    self.catalog.insert((), catalog.clone());
                }
                catalog
            }
        };
        let book = Arc::new(PriceBook::load_with(tx, &catalog).await?);
        if !tx.has_touched(TOPIC) && !fresh && self.epoch.load(Ordering::SeqCst) == epoch {
            self.cache.insert(key.to_owned(), book.clone());
        }
        Ok(book)
    }

    /// A pricer for `customer` (or anonymous).
    pub async fn pricer(
        &self,
        tx: &TenantTx,
        customer: Option<&customer::Model>,
    ) -> Result<Pricer, DbErr> {
        let book = self.book(tx).await?;
        match customer {
            Some(c) => Pricer::for_customer(book, tx, c).await,
            None => Ok(Pricer::anonymous(book)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_rounds_half_up() {
        let de = Treatment::Vat { rate_bp: 1900 };
        assert_eq!(vat_of(1000, de), 190);
        assert_eq!(vat_of(999, de), 190); // 189.81
        assert_eq!(vat_of(50, de), 10); // 9.5 -> 10
        assert_eq!(vat_of(1000, Treatment::ReverseCharge), 0);
        assert_eq!(vat_of(1000, Treatment::Export), 0);
    }
}
