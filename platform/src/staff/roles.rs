//! What each staff role may do. Checked by the console and API extractors on every
//! request, not by hiding links.

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Billing,
    Support,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Perm {
    /// Invite, change and remove staff.
    ManageStaff,
    /// Brand, themes, settings.
    ManageBranding,
    ManageApiKeys,
    /// Catalog enablement, price classes, coupons, tax settings.
    ManagePricing,
    ViewCustomers,
    /// Master data of customers (names, addresses, contact), lock, create.
    EditCustomers,
    /// Billing data: bank, mandate, billing type, debit status, credit limit, ...
    EditBilling,
    Impersonate,
    ViewAudit,
    ViewOutbox,
    /// Orders and the clearing queue (read).
    ViewOrders,
    /// Approve, reject or query clearing cases.
    DecideClearing,
    /// Approve an order beyond the customer's credit limit (billing role).
    OverrideCredit,
}

impl Role {
    pub const ASSIGNABLE: [Role; 3] = [Role::Admin, Role::Billing, Role::Support];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Billing => "billing",
            Self::Support => "support",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            "billing" => Self::Billing,
            "support" => Self::Support,
            _ => return None,
        })
    }

    pub fn can(self, perm: Perm) -> bool {
        use Perm::*;
        match self {
            Self::Owner => true,
            Self::Admin => !matches!(perm, ManageStaff | OverrideCredit),
            Self::Billing => matches!(
                perm,
                ViewCustomers
                    | EditCustomers
                    | EditBilling
                    | ManagePricing
                    | ViewAudit
                    | ViewOutbox
                    | ViewOrders
                    | DecideClearing
                    | OverrideCredit
            ),
            Self::Support => matches!(
                perm,
                ViewCustomers | EditCustomers | Impersonate | ViewAudit | ViewOutbox | ViewOrders
            ),
        }
    }

    /// Navigation entries this role may use (names as the console templates know them).
    pub fn nav(self) -> Vec<&'static str> {
        [
            (Perm::ViewCustomers, "customers"),
            (Perm::ViewOrders, "orders"),
            (Perm::ManagePricing, "pricing"),
            (Perm::ManageStaff, "staff"),
            (Perm::ManageBranding, "branding"),
            (Perm::ManageApiKeys, "api_keys"),
            (Perm::ViewAudit, "audit"),
            (Perm::ViewOutbox, "outbox"),
        ]
        .into_iter()
        .filter(|(p, _)| self.can(*p))
        .map(|(_, n)| n)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_reads_billing_but_cannot_change_it() {
        assert!(Role::Support.can(Perm::ViewCustomers));
        assert!(Role::Support.can(Perm::EditCustomers));
        assert!(!Role::Support.can(Perm::EditBilling));
        assert!(Role::Billing.can(Perm::EditBilling));
        assert!(!Role::Billing.can(Perm::ManageStaff));
        assert!(!Role::Admin.can(Perm::ManageStaff));
        assert!(Role::Owner.can(Perm::ManageStaff));
    }
}
