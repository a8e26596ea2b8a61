//! Demo data for `--seed-demo`: enough of a site to try every command against.

use crate::state::{Entitlement, Entity, State};

/// Detail fields, products, organizations, customers and an entitlement.
pub(crate) fn seed(state: &mut State) {
    state.add_field(
        Entity::Customer,
        "Plan",
        "SELECT",
        &["Free", "Pro", "Enterprise"],
    );
    state.add_field(Entity::Customer, "Region", "TEXT", &[]);
    state.add_field(
        Entity::Organization,
        "Tier",
        "SELECT",
        &["Bronze", "Silver", "Gold"],
    );
    state.add_field(Entity::Entitlement, "Seats", "NUMBER", &[]);
    let products: Vec<String> = ["Acme Widget", "Acme Gadget", "Acme Gizmo"]
        .iter()
        .map(|name| state.add_product(name))
        .collect();
    let acme = state.add_organization("Acme Corporation");
    let globex = state.add_organization("Globex");
    state
        .organizations
        .get_mut(&acme)
        .expect("added")
        .details
        .insert("Tier".into(), vec!["Gold".into()]);
    let people = [
        ("ada@example.com", "Ada Lovelace", "Pro", &acme),
        ("grace@example.com", "Grace Hopper", "Enterprise", &acme),
        ("alan@example.com", "Alan Turing", "Free", &globex),
    ];
    for (email, name, plan, organization) in people {
        let id = state.add_customer(email, name);
        let customer = state.customers.get_mut(&id).expect("added");
        customer.details.insert("Plan".into(), vec![plan.into()]);
        customer.organizations.insert(organization.clone());
        customer.products.insert(products[0].clone());
        state
            .organizations
            .get_mut(organization)
            .expect("added")
            .customers
            .insert(id);
    }
    let entitlement = uuid::Uuid::new_v4().to_string();
    state.entitlements.insert(
        entitlement.clone(),
        Entitlement {
            id: entitlement,
            product_id: products[0].clone(),
            holder: Entity::Organization,
            holder_id: acme,
            details: [("Seats".to_string(), vec!["25".to_string()])].into(),
        },
    );
}
