//! The API's rules no schema states, checked the way the service checks them: detail-field
//! names, and detail values against their field's definition.

use crate::state::{Details, Entity, State};

/// Most detail fields one entity may have.
pub(crate) const MAX_FIELDS_PER_ENTITY: usize = 50;

/// A detail-field name has 2 to 255 characters, none of `? : ; . = “`, and is not reserved.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    if !(2..=255).contains(&length) {
        return Err(format!("Field name '{name}' must have 2 to 255 characters"));
    }
    if let Some(c) = name.chars().find(|c| "?:;.=“".contains(*c)) {
        return Err(format!(
            "Field name '{name}' contains the forbidden character '{c}'"
        ));
    }
    let reserved = ["name", "key", "created", "updated", "label"];
    if reserved.contains(&name.trim().to_lowercase().as_str()) {
        return Err(format!("Field name '{name}' is reserved"));
    }
    Ok(())
}

/// Sets `values` of field `name` on a record's `details`, as the API checks them: the field
/// must exist, a single-value field takes one value, a select field only its options; no value
/// (or one empty string) clears it.
pub(crate) fn set_values(
    state: &State,
    entity: Entity,
    details: &mut Details,
    name: &str,
    values: Vec<String>,
) -> Result<(), String> {
    let Some(definition) = state.field(entity, name) else {
        return Err(format!("Detail field '{name}' does not exist"));
    };
    let values: Vec<String> = values.into_iter().filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        details.remove(&definition.name);
        return Ok(());
    }
    let multi = definition.type_name == "MULTISELECT";
    if !multi && values.len() > 1 {
        return Err(format!("Detail field '{name}' takes a single value"));
    }
    if matches!(definition.type_name.as_str(), "SELECT" | "MULTISELECT") {
        if let Some(bad) = values.iter().find(|v| !definition.options.contains(v)) {
            return Err(format!(
                "'{bad}' is not an option of detail field '{name}' ({})",
                definition.options.join(", ")
            ));
        }
    }
    details.insert(definition.name.clone(), values);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_follow_the_documented_rules() {
        assert!(check_name("Region").is_ok());
        for bad in ["R", "Re:gion", "a.b", "Name", " key "] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let mut state = State::default();
        state.add_field(Entity::Customer, "Plan", "SELECT", &["Free", "Pro"]);
        let mut details = Details::new();
        assert!(set_values(
            &state,
            Entity::Customer,
            &mut details,
            "plan",
            vec!["Pro".into()]
        )
        .is_ok());
        assert_eq!(details["Plan"], ["Pro"]);
        assert!(set_values(
            &state,
            Entity::Customer,
            &mut details,
            "Plan",
            vec!["Gold".into()]
        )
        .is_err());
        assert!(set_values(
            &state,
            Entity::Customer,
            &mut details,
            "Tier",
            vec!["x".into()]
        )
        .is_err());
        assert!(set_values(&state, Entity::Customer, &mut details, "Plan", vec![]).is_ok());
        assert!(details.is_empty());
    }
}
